//! orgtwin's state, in one SQLite database (`state.db`, WAL mode) under the
//! state directory.
//!
//! What it holds:
//! - `model_files`: the current organization model, as the files `orgtwin
//!   export` writes. The model files given at start are the starting point;
//!   every IAM or Organizations change made through the API rewrites them in
//!   one transaction, so a restart, or an export, sees exactly what the API
//!   changed.
//! - `access_keys`: long-term keys the twin issued (the administrator of each
//!   account, `CreateAccessKey`); keys declared in the model live in the model.
//! - `sessions`: every temporary credential issued, by access key id (an
//!   index lookup, so the cost of a lookup does not grow with the number of
//!   sessions, and sessions are not held in memory). Session tokens are kept
//!   as SHA-256 hashes.
//! - `trail`: every authorization decision, with its explanation.
//! - `share_invitations`: RAM invitations of accounts outside the
//!   organization (see [`ShareInvitation`]).
//!
//! Writes that an API response depends on commit before the response is sent.
//! The WAL is checkpointed by [`Store::checkpoint`] from a background thread;
//! a commit checkpoints by itself only when the WAL has grown past
//! `WAL_BACKSTOP_PAGES` pages.
//! Trail rows are appended by the caller in batches ([`Store::append_trail`]).
//! Secrets are stored in clear in the database (the twin must recompute
//! signatures); the file is created readable by its owner only.

mod invitations;
mod issuers;

pub use invitations::{InvitationChanges, ShareInvitation};
pub use issuers::IssuerKey;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

mod objects;
pub use objects::{ObjectMeta, Part, Upload};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What can go wrong with the state.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the state directory `{path}`: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("object store file `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state database `{path}`: {source}")]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(
        "the state in `{path}` has schema version {found}; this orgtwin reads version {expected}"
    )]
    SchemaVersion {
        path: PathBuf,
        found: i64,
        expected: i64,
    },
    #[error("the state database lock is poisoned by an earlier failure")]
    Poisoned,
}

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS model_files (path TEXT PRIMARY KEY, content TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS access_keys (
    access_key_id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    account TEXT NOT NULL,
    user_name TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS access_keys_by_user ON access_keys (account, user_name);
CREATE TABLE IF NOT EXISTS sessions (
    access_key_id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    token_sha256 BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
-- Sessions have no index on expiry: each index costs every session commit
-- a page write, and expired sessions are only purged off the request path.
DROP INDEX IF EXISTS sessions_by_expiry;
CREATE TABLE IF NOT EXISTS trail (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    request_id TEXT NOT NULL,
    caller TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    decision TEXT NOT NULL,
    explanation TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trail_by_decision ON trail (decision, id);
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    content_type TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    blob TEXT NOT NULL,
    checksums TEXT NOT NULL,
    metadata TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
);
CREATE INDEX IF NOT EXISTS objects_by_blob ON objects (blob);
CREATE TABLE IF NOT EXISTS multipart_uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    initiated INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    metadata TEXT NOT NULL,
    initiator TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS multipart_uploads_by_bucket ON multipart_uploads (bucket, key);
CREATE TABLE IF NOT EXISTS multipart_parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    md5 BLOB NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
";

/// A long-term access key the twin issued.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret: String,
    pub account: String,
    pub user_name: String,
    pub active: bool,
    pub created_at: i64,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &"** redacted **")
            .field("account", &self.account)
            .field("user_name", &self.user_name)
            .field("active", &self.active)
            .finish()
    }
}

/// Temporary credentials, as stored.
#[derive(Clone)]
pub struct StoredSession {
    pub access_key_id: String,
    pub secret: String,
    pub token_sha256: Vec<u8>,
    /// Unix seconds.
    pub expires_at: i64,
    /// The session's principal, tags and policies, as the identity plane
    /// serialized them.
    pub body: String,
}

impl StoredSession {
    /// Whether `token` is this session's token (constant time).
    pub fn token_matches(&self, token: &str) -> bool {
        token_sha256(token)
            .as_slice()
            .ct_eq(&self.token_sha256)
            .into()
    }
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &"** redacted **")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// SHA-256 of a session token, as stored.
pub fn token_sha256(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// One authorization decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrailEntry {
    pub id: i64,
    /// RFC 3339.
    pub time: String,
    pub request_id: String,
    pub caller: String,
    pub action: String,
    pub resource: String,
    pub decision: String,
    /// The engine's explanation, JSON.
    pub explanation: String,
}

/// The state database: one writer connection and a few readers, so lookups
/// never wait behind a write.
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    /// Issued long-term keys already read, by id, with a generation that
    /// every key write bumps. Only this store writes `access_keys`; a write
    /// drops the entry after it commits, and a read caches what it found only
    /// if no write happened meanwhile, so the cache never serves a stale key.
    key_cache: Mutex<(u64, std::collections::HashMap<String, AccessKey>)>,
    /// Copies the WAL back into the database, beside the writer.
    checkpointer: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

const READERS: usize = 4;
/// WAL pages after which a commit checkpoints by itself (SQLite's default is
/// 1,000); see [`Store::checkpoint`].
const WAL_BACKSTOP_PAGES: i64 = 10_000;

impl Store {
    /// Opens (creating when absent) `state.db` under `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join("state.db");
        let db_err = |source| StoreError::Database {
            path: path.clone(),
            source,
        };
        let writer = Connection::open(&path).map_err(db_err)?;
        restrict_permissions(&path);
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
            )
            .map_err(db_err)?;
        // Commits checkpoint the WAL only past this many pages, a backstop:
        // the twin checkpoints from a background thread ([`Store::checkpoint`])
        // so that no request waits for one.
        writer
            .pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP_PAGES)
            .map_err(db_err)?;
        writer.execute_batch(SCHEMA).map_err(db_err)?;
        writer.execute_batch(invitations::SCHEMA).map_err(db_err)?;
        writer.execute_batch(issuers::SCHEMA).map_err(db_err)?;
        let found: Option<String> = writer
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        match found.and_then(|v| v.parse::<i64>().ok()) {
            None => {
                writer
                    .execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?1)",
                        [SCHEMA_VERSION.to_string()],
                    )
                    .map_err(db_err)?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(found) => {
                return Err(StoreError::SchemaVersion {
                    path,
                    found,
                    expected: SCHEMA_VERSION,
                });
            }
        }
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open(&path).map_err(db_err)?;
            reader
                .execute_batch("PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;")
                .map_err(db_err)?;
            readers.push(Mutex::new(reader));
        }
        let checkpointer = Connection::open(&path).map_err(db_err)?;
        Ok(Store {
            path,
            writer: Mutex::new(writer),
            readers,
            checkpointer: Mutex::new(checkpointer),
            key_cache: Mutex::new((0, std::collections::HashMap::new())),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies committed WAL pages back into the database without waiting for
    /// readers or the writer (SQLite's passive checkpoint), on a connection
    /// of its own, so writes go on meanwhile. Called from a background
    /// thread, it keeps the checkpoint (and its `fsync`) off the commits
    /// that responses wait for.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let conn = self.checkpointer.lock().map_err(|_| StoreError::Poisoned)?;
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.writer.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(f(&mut conn)?)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        // Take the first free reader; when all are busy, wait on one chosen
        // by the thread, which spreads the waits.
        for reader in &self.readers {
            if let Ok(conn) = reader.try_lock() {
                return Ok(f(&conn)?);
            }
        }
        let index = thread_slot() % self.readers.len().max(1);
        let reader = self.readers.get(index).ok_or(StoreError::Poisoned)?;
        let conn = reader.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(f(&conn)?)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|c| {
            c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
        })
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                [key, value],
            )
            .map(|_| ())
        })
    }

    /// The current model files, by path; empty for a new state.
    pub fn model_files(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT path, content FROM model_files ORDER BY path")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// Replaces the model files in one transaction.
    pub fn replace_model_files(&self, files: &[(String, String)]) -> Result<(), StoreError> {
        self.replace_model_files_and(files, &InvitationChanges::default())
    }

    /// Replaces the model files and changes invitation rows in one
    /// transaction: a share and its invitations are committed together.
    pub fn replace_model_files_and(
        &self,
        files: &[(String, String)],
        invitations: &InvitationChanges,
    ) -> Result<(), StoreError> {
        self.write(|c| {
            let tx = c.transaction()?;
            invitations.apply(&tx)?;
            tx.execute("DELETE FROM model_files", [])?;
            {
                let mut insert =
                    tx.prepare("INSERT INTO model_files (path, content) VALUES (?1, ?2)")?;
                for (path, content) in files {
                    insert.execute([path, content])?;
                }
            }
            tx.commit()
        })
    }

    /// Runs a write to `access_keys`, then drops the key from the cache.
    fn write_key<T>(
        &self,
        access_key_id: &str,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let result = self.write(f);
        let mut cache = self.key_cache.lock().map_err(|_| StoreError::Poisoned)?;
        cache.0 = cache.0.wrapping_add(1);
        cache.1.remove(access_key_id);
        result
    }

    pub fn put_access_key(&self, key: &AccessKey) -> Result<(), StoreError> {
        self.write_key(&key.access_key_id, |c| {
            c.execute(
                "INSERT INTO access_keys (access_key_id, secret, account, user_name, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![key.access_key_id, key.secret, key.account, key.user_name, if key.active { "Active" } else { "Inactive" }, key.created_at],
            )
            .map(|_| ())
        })
    }

    pub fn access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>, StoreError> {
        let generation = {
            let cache = self.key_cache.lock().map_err(|_| StoreError::Poisoned)?;
            if let Some(key) = cache.1.get(access_key_id) {
                return Ok(Some(key.clone()));
            }
            cache.0
        };
        let found = self.read_access_key(access_key_id)?;
        if let Some(key) = &found {
            let mut cache = self.key_cache.lock().map_err(|_| StoreError::Poisoned)?;
            if cache.0 == generation {
                cache.1.insert(access_key_id.to_string(), key.clone());
            }
        }
        Ok(found)
    }

    fn read_access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>, StoreError> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT access_key_id, secret, account, user_name, status, created_at FROM access_keys WHERE access_key_id = ?1",
            )?
            .query_row([access_key_id], access_key_row)
            .optional()
        })
    }

    /// The keys the twin issued to a user.
    pub fn access_keys_of(
        &self,
        account: &str,
        user_name: &str,
    ) -> Result<Vec<AccessKey>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT access_key_id, secret, account, user_name, status, created_at FROM access_keys WHERE account = ?1 AND user_name = ?2 ORDER BY created_at, access_key_id",
            )?;
            let rows = stmt.query_map([account, user_name], access_key_row)?;
            rows.collect()
        })
    }

    pub fn set_access_key_status(
        &self,
        access_key_id: &str,
        active: bool,
    ) -> Result<bool, StoreError> {
        self.write_key(access_key_id, |c| {
            c.execute(
                "UPDATE access_keys SET status = ?2 WHERE access_key_id = ?1",
                [access_key_id, if active { "Active" } else { "Inactive" }],
            )
            .map(|n| n > 0)
        })
    }

    pub fn delete_access_key(&self, access_key_id: &str) -> Result<bool, StoreError> {
        self.write_key(access_key_id, |c| {
            c.execute(
                "DELETE FROM access_keys WHERE access_key_id = ?1",
                [access_key_id],
            )
            .map(|n| n > 0)
        })
    }

    /// Stores a session; committed when this returns.
    pub fn put_session(&self, session: &StoredSession) -> Result<(), StoreError> {
        self.write(|c| insert_session(c, session))
    }

    /// Stores a batch of sessions in one transaction and says, for each,
    /// whether it was stored: a session whose insert fails (a duplicate key)
    /// is left out without failing the others; a failed commit fails all.
    fn put_session_batch(&self, sessions: &[StoredSession]) -> Vec<Result<(), String>> {
        let outcome = self.write(|c| {
            let tx = c.transaction()?;
            let results: Vec<Result<(), String>> = sessions
                .iter()
                .map(|s| insert_session(&tx, s).map_err(|e| e.to_string()))
                .collect();
            tx.commit()?;
            Ok(results)
        });
        match outcome {
            Ok(results) => results,
            Err(e) => sessions.iter().map(|_| Err(e.to_string())).collect(),
        }
    }

    /// Stores many sessions in one transaction: all or none (seeding a
    /// state, benchmarks).
    pub fn put_sessions(&self, sessions: &[StoredSession]) -> Result<(), StoreError> {
        self.write(|c| {
            let tx = c.transaction()?;
            for session in sessions {
                insert_session(&tx, session)?;
            }
            tx.commit()
        })
    }

    pub fn session(&self, access_key_id: &str) -> Result<Option<StoredSession>, StoreError> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT access_key_id, secret, token_sha256, expires_at, body FROM sessions WHERE access_key_id = ?1",
            )?
            .query_row([access_key_id], |r| {
                Ok(StoredSession {
                    access_key_id: r.get(0)?,
                    secret: r.get(1)?,
                    token_sha256: r.get(2)?,
                    expires_at: r.get(3)?,
                    body: r.get(4)?,
                })
            })
            .optional()
        })
    }

    /// Deletes sessions that expired before `now` (Unix seconds). A scan of
    /// the session table: for maintenance, not for the request path.
    pub fn purge_sessions(&self, now: i64) -> Result<usize, StoreError> {
        self.write(|c| c.execute("DELETE FROM sessions WHERE expires_at < ?1", [now]))
    }

    pub fn session_count(&self) -> Result<i64, StoreError> {
        self.read(|c| c.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0)))
    }

    /// Appends decisions in one transaction.
    pub fn append_trail(&self, entries: &[TrailEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.write(|c| {
            let tx = c.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO trail (time, request_id, caller, action, resource, decision, explanation) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                for e in entries {
                    insert.execute(params![e.time, e.request_id, e.caller, e.action, e.resource, e.decision, e.explanation])?;
                }
            }
            tx.commit()
        })
    }

    /// Trail entries after `after_id`, oldest first, at most `limit`;
    /// `denied_only` keeps the denials.
    pub fn trail(
        &self,
        after_id: i64,
        denied_only: bool,
        limit: usize,
    ) -> Result<Vec<TrailEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|c| {
            let sql = if denied_only {
                "SELECT id, time, request_id, caller, action, resource, decision, explanation FROM trail WHERE id > ?1 AND decision != 'Allow' ORDER BY id LIMIT ?2"
            } else {
                "SELECT id, time, request_id, caller, action, resource, decision, explanation FROM trail WHERE id > ?1 ORDER BY id LIMIT ?2"
            };
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map(params![after_id, limit], |r| {
                Ok(TrailEntry {
                    id: r.get(0)?,
                    time: r.get(1)?,
                    request_id: r.get(2)?,
                    caller: r.get(3)?,
                    action: r.get(4)?,
                    resource: r.get(5)?,
                    decision: r.get(6)?,
                    explanation: r.get(7)?,
                })
            })?;
            rows.collect()
        })
    }
}

/// Told once a session's commit has finished, with its outcome.
pub type CommitDone = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Commits sessions in groups: a background thread takes every session
/// queued while the previous group was being written and commits them in
/// one transaction, so concurrent requests share the cost of a commit. Each
/// caller is told when its own session is committed, and answers only then.
#[derive(Clone, Debug)]
pub struct SessionCommitter {
    sender: std::sync::mpsc::Sender<(StoredSession, CommitDone)>,
}

/// Largest group committed at once.
const MAX_GROUP: usize = 512;

impl SessionCommitter {
    /// Starts the committing thread for `store`.
    pub fn spawn(store: std::sync::Arc<Store>) -> std::io::Result<SessionCommitter> {
        let (sender, receiver) = std::sync::mpsc::channel::<(StoredSession, CommitDone)>();
        std::thread::Builder::new()
            .name("orgtwin-sessions".into())
            .spawn(move || {
                while let Ok(first) = receiver.recv() {
                    let mut group = vec![first];
                    while group.len() < MAX_GROUP {
                        match receiver.try_recv() {
                            Ok(next) => group.push(next),
                            Err(_) => break,
                        }
                    }
                    let (sessions, done): (Vec<StoredSession>, Vec<CommitDone>) =
                        group.into_iter().unzip();
                    let results = store.put_session_batch(&sessions);
                    for (tell, result) in done.into_iter().zip(results) {
                        tell(result);
                    }
                }
            })?;
        Ok(SessionCommitter { sender })
    }

    /// Queues a session; `done` is called once it is committed (or failed).
    pub fn commit(&self, session: StoredSession, done: CommitDone) {
        if let Err(std::sync::mpsc::SendError((_, done))) = self.sender.send((session, done)) {
            done(Err("the session committer has stopped".into()));
        }
    }
}

fn insert_session(c: &Connection, session: &StoredSession) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO sessions (access_key_id, secret, token_sha256, expires_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![session.access_key_id, session.secret, session.token_sha256, session.expires_at, session.body])
    .map(|_| ())
}

fn access_key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccessKey> {
    let status: String = r.get(4)?;
    Ok(AccessKey {
        access_key_id: r.get(0)?,
        secret: r.get(1)?,
        account: r.get(2)?,
        user_name: r.get(3)?,
        active: status == "Active",
        created_at: r.get(5)?,
    })
}

/// A small number that differs between threads, to spread reader waits.
fn thread_slot() -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::thread::current().id().hash(&mut hasher);
    usize::try_from(hasher.finish() % 1024).unwrap_or(0)
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!(path = %path.display(), error = %e, "cannot restrict the state database to its owner");
    }
}

#[cfg(not(unix))]
fn restrict_permissions(_: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_survive_reopening_and_tokens_are_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let session = StoredSession {
            access_key_id: "ASIAEXAMPLE".into(),
            secret: "s3cr3t".into(),
            token_sha256: token_sha256("token"),
            expires_at: 100,
            body: "{}".into(),
        };
        {
            let store = Store::open(dir.path()).unwrap();
            store.put_session(&session).unwrap();
            assert!(
                store.put_session(&session).is_err(),
                "access key ids are unique"
            );
        }
        let store = Store::open(dir.path()).unwrap();
        let found = store.session("ASIAEXAMPLE").unwrap().unwrap();
        assert!(found.token_matches("token"));
        assert!(!found.token_matches("other"));
        assert!(!format!("{found:?}").contains("s3cr3t"));
        assert_eq!(store.purge_sessions(101).unwrap(), 1);
        assert!(store.session("ASIAEXAMPLE").unwrap().is_none());
    }

    #[test]
    fn sessions_are_put_in_batches_all_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let session = |n: usize| StoredSession {
            access_key_id: format!("ASIABATCH{n}"),
            secret: "s".into(),
            token_sha256: token_sha256(&n.to_string()),
            expires_at: 100,
            body: "{}".into(),
        };
        let batch: Vec<_> = (0..3).map(session).collect();
        store.put_sessions(&batch).unwrap();
        assert_eq!(store.session_count().unwrap(), 3);
        assert!(
            store
                .session("ASIABATCH2")
                .unwrap()
                .unwrap()
                .token_matches("2")
        );
        let clashing = [session(3), session(0)];
        assert!(store.put_sessions(&clashing).is_err());
        assert!(
            store.session("ASIABATCH3").unwrap().is_none(),
            "rolled back"
        );
        assert_eq!(store.session_count().unwrap(), 3);
    }

    #[test]
    fn a_checkpoint_leaves_every_commit_readable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.set_meta("k", "v").unwrap();
        store.checkpoint().unwrap();
        store.set_meta("k2", "v2").unwrap();
        store.checkpoint().unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.meta("k").unwrap().as_deref(), Some("v"));
        assert_eq!(store.meta("k2").unwrap().as_deref(), Some("v2"));
    }

    #[test]
    fn trail_and_model_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let entry = |decision: &str| TrailEntry {
            id: 0,
            time: "2026-12-03T00:00:00Z".into(),
            request_id: "r".into(),
            caller: "c".into(),
            action: "sts:AssumeRole".into(),
            resource: "arn".into(),
            decision: decision.into(),
            explanation: "{}".into(),
        };
        store
            .append_trail(&[entry("Allow"), entry("ImplicitDeny")])
            .unwrap();
        assert_eq!(store.trail(0, false, 10).unwrap().len(), 2);
        let denied = store.trail(0, true, 10).unwrap();
        assert_eq!(denied.len(), 1);
        assert_eq!(store.trail(denied[0].id, false, 10).unwrap().len(), 0);
        store
            .replace_model_files(&[("a.yaml".into(), "x".into())])
            .unwrap();
        store
            .replace_model_files(&[("b.yaml".into(), "y".into())])
            .unwrap();
        assert_eq!(
            store.model_files().unwrap(),
            vec![("b.yaml".to_string(), "y".to_string())]
        );

        // Model files and invitations commit together or not at all.
        let invitation = invitations::example_invitation();
        let invite = InvitationChanges {
            add: vec![invitation.clone()],
            ..InvitationChanges::default()
        };
        store
            .replace_model_files_and(&[("c.yaml".into(), "z".into())], &invite)
            .unwrap();
        assert_eq!(store.share_invitations().unwrap(), [invitation]);
        // The same ARN again fails, and the model files stay as they were.
        assert!(
            store
                .replace_model_files_and(&[("d.yaml".into(), "w".into())], &invite)
                .is_err()
        );
        assert_eq!(
            store.model_files().unwrap(),
            vec![("c.yaml".to_string(), "z".to_string())]
        );
    }

    #[test]
    fn cached_keys_follow_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let key = AccessKey {
            access_key_id: "AKIAEXAMPLEEXAMPLE22".into(),
            secret: "x".repeat(40),
            account: "111122223333".into(),
            user_name: "u".into(),
            active: true,
            created_at: 0,
        };
        assert!(store.access_key(&key.access_key_id).unwrap().is_none());
        store.put_access_key(&key).unwrap();
        assert!(
            store
                .access_key(&key.access_key_id)
                .unwrap()
                .unwrap()
                .active
        );
        store
            .set_access_key_status(&key.access_key_id, false)
            .unwrap();
        assert!(
            !store
                .access_key(&key.access_key_id)
                .unwrap()
                .unwrap()
                .active
        );
        store.delete_access_key(&key.access_key_id).unwrap();
        assert!(store.access_key(&key.access_key_id).unwrap().is_none());
    }

    #[test]
    fn grouped_commits_tell_each_caller() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Store::open(dir.path()).unwrap());
        let committer = SessionCommitter::spawn(std::sync::Arc::clone(&store)).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let session = |id: &str| StoredSession {
            access_key_id: id.into(),
            secret: "s".into(),
            token_sha256: token_sha256("t"),
            expires_at: 10,
            body: "{}".into(),
        };
        for id in ["ASIA1", "ASIA2", "ASIA1"] {
            let tx = tx.clone();
            committer.commit(session(id), Box::new(move |r| tx.send(r).unwrap()));
        }
        let results: Vec<_> = (0..3).map(|_| rx.recv().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            2,
            "{results:?}"
        );
        assert!(store.session("ASIA1").unwrap().is_some());
        assert!(store.session("ASIA2").unwrap().is_some());
    }
}
