//! Live sessions written straight into a state's database before the twin
//! starts, in transactions of [`BATCH`], the way the twin stores the sessions
//! `AssumeRole` issues: a serialized `orgtwin_identity::Session` body, the
//! secret, the token's SHA-256. Keys are derived from the session's number,
//! so the load generator can sign with any of them without keeping a list.

use std::path::Path;
use std::time::{Duration, Instant};

use orgtwin_identity::Session;
use orgtwin_store::{Store, StoredSession};
use sha2::{Digest, Sha256};

/// Sessions per transaction.
const BATCH: usize = 20_000;

/// The role every seeded session is a session of.
pub const ACCOUNT: &str = "444455556666";
pub const ROLE: &str = "platform-admin";

/// The credentials of seeded session `n`.
pub struct SeededKey {
    pub access_key_id: String,
    pub secret: String,
    pub session_token: String,
}

pub fn key(n: usize) -> SeededKey {
    const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut id = String::from("ASIA");
    for digit in (0..16).rev() {
        let value = (n >> (5 * digit)) & 31;
        id.push(char::from(BASE32[value]));
    }
    let derive = |what: &str| hex::encode(Sha256::digest(format!("{what}{n}").as_bytes()));
    SeededKey {
        access_key_id: id,
        secret: derive("secret").chars().take(40).collect(),
        session_token: format!("IQoJb3JpZ2luX2VjE{}", derive("token").repeat(4)),
    }
}

/// Writes `count` sessions of [`ROLE`], valid for 12 hours from `now` (Unix
/// seconds), into the state under `state`; returns how long it took.
pub fn seed(state: &Path, count: usize, now: i64) -> Duration {
    let started = Instant::now();
    let model = orgtwin_model::embedded();
    let role = model.role(ACCOUNT, ROLE).expect("the example model's role");
    let store = Store::open(state).expect("open the state");
    let mut batch = Vec::with_capacity(BATCH.min(count));
    for n in 0..count {
        let session = Session::of_role(role, ACCOUNT, &format!("bench-{n}"), now, 43_200);
        let key = key(n);
        batch.push(StoredSession {
            access_key_id: key.access_key_id,
            secret: key.secret,
            token_sha256: orgtwin_store::token_sha256(&key.session_token),
            expires_at: session.expires_at,
            body: serde_json::to_string(&session).expect("serialize a session"),
        });
        if batch.len() == BATCH || n + 1 == count {
            store
                .put_sessions(&batch)
                .expect("store a batch of sessions");
            batch.clear();
        }
    }
    let stored = store.session_count().expect("count sessions");
    assert_eq!(
        usize::try_from(stored).ok(),
        Some(count),
        "seeded session count"
    );
    started.elapsed()
}
