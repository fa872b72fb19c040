//! RAM resource share invitations: the pending (and answered) invitations of
//! principals outside the organization. They are state, not model: a share
//! names only the principals that accepted; an invitation records who was
//! asked, and how they answered.

use rusqlite::{OptionalExtension, params};

use crate::{Store, StoreError};

/// The table, created with the rest of the schema when the store opens.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS share_invitations (
    arn TEXT PRIMARY KEY,
    share_arn TEXT NOT NULL,
    share_name TEXT NOT NULL,
    sender TEXT NOT NULL,
    receiver TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS share_invitations_by_share ON share_invitations (share_arn);
";

/// One invitation to a resource share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareInvitation {
    /// `arn:aws:ram:REGION:SENDER:resource-share-invitation/UUID`.
    pub arn: String,
    pub share_arn: String,
    pub share_name: String,
    /// The sharing account.
    pub sender: String,
    /// The invited account.
    pub receiver: String,
    /// `PENDING`, `ACCEPTED` or `REJECTED`.
    pub status: String,
    /// Unix seconds.
    pub created_at: i64,
}

fn invitation_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ShareInvitation> {
    Ok(ShareInvitation {
        arn: row.get(0)?,
        share_arn: row.get(1)?,
        share_name: row.get(2)?,
        sender: row.get(3)?,
        receiver: row.get(4)?,
        status: row.get(5)?,
        created_at: row.get(6)?,
    })
}

const COLUMNS: &str = "arn, share_arn, share_name, sender, receiver, status, created_at";

/// Changes to invitation rows, made in one transaction: alone
/// ([`Store::change_share_invitations`]) or with the model files whose
/// share they belong to ([`Store::replace_model_files_and`]), so that a
/// share and its invitations never disagree after a failure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InvitationChanges {
    /// Removed first: every invitation of a share (`None`), or those to one
    /// receiver.
    pub remove: Vec<(String, Option<String>)>,
    /// Stored after the removals; an ARN already stored is an error.
    pub add: Vec<ShareInvitation>,
    /// `(invitation ARN, status)`.
    pub statuses: Vec<(String, String)>,
}

impl InvitationChanges {
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.add.is_empty() && self.statuses.is_empty()
    }

    /// Applies the changes inside `tx`.
    pub(crate) fn apply(&self, tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
        for (share_arn, receiver) in &self.remove {
            match receiver {
                Some(receiver) => tx.execute(
                    "DELETE FROM share_invitations WHERE share_arn = ?1 AND receiver = ?2",
                    [share_arn, receiver],
                )?,
                None => tx.execute(
                    "DELETE FROM share_invitations WHERE share_arn = ?1",
                    [share_arn],
                )?,
            };
        }
        for i in &self.add {
            tx.execute(
                &format!(
                    "INSERT INTO share_invitations ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ),
                params![
                    i.arn,
                    i.share_arn,
                    i.share_name,
                    i.sender,
                    i.receiver,
                    i.status,
                    i.created_at
                ],
            )?;
        }
        for (arn, status) in &self.statuses {
            tx.execute(
                "UPDATE share_invitations SET status = ?2 WHERE arn = ?1",
                [arn, status],
            )?;
        }
        Ok(())
    }
}

impl Store {
    /// Makes `changes` in one transaction; committed when this returns.
    pub fn change_share_invitations(&self, changes: &InvitationChanges) -> Result<(), StoreError> {
        self.write(|c| {
            let tx = c.transaction()?;
            changes.apply(&tx)?;
            tx.commit()
        })
    }

    pub fn share_invitation(&self, arn: &str) -> Result<Option<ShareInvitation>, StoreError> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM share_invitations WHERE arn = ?1"
            ))?
            .query_row([arn], invitation_row)
            .optional()
        })
    }

    /// Every invitation, oldest first.
    pub fn share_invitations(&self) -> Result<Vec<ShareInvitation>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM share_invitations ORDER BY created_at, arn"
            ))?;
            let rows = stmt.query_map([], invitation_row)?;
            rows.collect()
        })
    }
}

/// An invitation for tests in this crate.
#[cfg(test)]
pub(crate) fn example_invitation() -> ShareInvitation {
    ShareInvitation {
        arn: "arn:aws:ram:us-east-1:111122223333:resource-share-invitation/a".into(),
        share_arn: "arn:aws:ram:us-east-1:111122223333:resource-share/s".into(),
        share_name: "s".into(),
        sender: "111122223333".into(),
        receiver: "210987654321".into(),
        status: "PENDING".into(),
        created_at: 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitations_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let invitation = example_invitation();
        let add = InvitationChanges {
            add: vec![invitation.clone()],
            ..InvitationChanges::default()
        };
        {
            let store = Store::open(dir.path()).unwrap();
            store.change_share_invitations(&add).unwrap();
            assert!(
                store.change_share_invitations(&add).is_err(),
                "invitation ARNs are unique"
            );
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.share_invitation(&invitation.arn).unwrap(),
            Some(invitation.clone())
        );
        store
            .change_share_invitations(&InvitationChanges {
                statuses: vec![(invitation.arn.clone(), "ACCEPTED".into())],
                ..InvitationChanges::default()
            })
            .unwrap();
        assert_eq!(store.share_invitations().unwrap()[0].status, "ACCEPTED");
        let remove = |receiver: Option<&str>| InvitationChanges {
            remove: vec![(invitation.share_arn.clone(), receiver.map(str::to_string))],
            ..InvitationChanges::default()
        };
        store
            .change_share_invitations(&remove(Some("444455556666")))
            .unwrap();
        assert_eq!(store.share_invitations().unwrap().len(), 1);
        store.change_share_invitations(&remove(None)).unwrap();
        assert!(store.share_invitations().unwrap().is_empty());
    }
}
