//! The signing keys of the OIDC issuers the twin serves, one per cluster:
//! created on first use and kept, so that tokens signed before a restart
//! still verify after it. The private key is a secret: it is never logged,
//! and `Debug` does not show it.

use rusqlite::{OptionalExtension, params};

use crate::{Store, StoreError};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS issuer_keys (
    issuer TEXT PRIMARY KEY,
    kid TEXT NOT NULL,
    private_key BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
";

/// An issuer's signing key: its id and its PKCS#8 DER private key.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuerKey {
    pub kid: String,
    pub private_key_der: Vec<u8>,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKey")
            .field("kid", &self.kid)
            .field("private_key_der", &"** redacted **")
            .finish()
    }
}

impl Store {
    pub fn issuer_key(&self, issuer: &str) -> Result<Option<IssuerKey>, StoreError> {
        self.read(|c| {
            c.prepare_cached("SELECT kid, private_key FROM issuer_keys WHERE issuer = ?1")?
                .query_row([issuer], |row| {
                    Ok(IssuerKey {
                        kid: row.get(0)?,
                        private_key_der: row.get(1)?,
                    })
                })
                .optional()
        })
    }

    /// Keeps `key` for `issuer` unless one is already kept (another process
    /// may have made one first), and returns the key that is kept.
    pub fn keep_issuer_key(
        &self,
        issuer: &str,
        key: &IssuerKey,
        created_at: i64,
    ) -> Result<IssuerKey, StoreError> {
        self.write(|c| {
            c.execute(
                "INSERT OR IGNORE INTO issuer_keys (issuer, kid, private_key, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![issuer, key.kid, key.private_key_der, created_at],
            )
        })?;
        self.issuer_key(issuer)?.ok_or(StoreError::Poisoned)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_first_key_kept_wins_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.issuer_key("https://issuer").unwrap(), None);
        let first = IssuerKey {
            kid: "k1".into(),
            private_key_der: vec![1, 2, 3],
        };
        let second = IssuerKey {
            kid: "k2".into(),
            private_key_der: vec![4],
        };
        assert_eq!(
            store.keep_issuer_key("https://issuer", &first, 1).unwrap(),
            first
        );
        assert_eq!(
            store.keep_issuer_key("https://issuer", &second, 2).unwrap(),
            first
        );
        assert!(!format!("{first:?}").contains("[1, 2, 3]"));
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.issuer_key("https://issuer").unwrap(), Some(first));
    }
}
