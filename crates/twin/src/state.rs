//! The twin's shared state: the current model, the SQLite store, the clock,
//! and the writer of the decision trail.

use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use orgtwin_identity::Authorization;
use orgtwin_model::Model;
use orgtwin_policy::{Timestamp, Verdict};
use orgtwin_store::{InvitationChanges, SessionCommitter, Store, StoredSession, TrailEntry};

use crate::reply::ServiceError;

/// The source of the current time; tests set their own.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the twin's one reading of the wall clock"
    )]
    fn now(&self) -> Timestamp {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        Timestamp::from_unix_nanos(
            since
                .map(|d| i128::try_from(d.as_nanos()).unwrap_or(0))
                .unwrap_or(0),
        )
    }
}

/// The system clock moved by an offset that tests set through
/// `POST /_orgtwin/clock?advance=SECONDS` (only with `orgtwin up
/// --test-clock`), so expiry and skew are tested without sleeping.
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset_seconds: std::sync::atomic::AtomicI64,
}

impl OffsetClock {
    pub fn advance(&self, seconds: i64) -> Timestamp {
        self.offset_seconds
            .fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
        self.now()
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        let offset = self
            .offset_seconds
            .load(std::sync::atomic::Ordering::SeqCst);
        let now = SystemClock.now();
        Timestamp::from_unix_seconds(now.seconds().saturating_add(offset))
    }
}

/// Everything a request handler needs.
pub struct Twin {
    model: RwLock<Arc<Model>>,
    /// Serializes model changes, so none is lost between copy and swap.
    model_writes: std::sync::Mutex<()>,
    /// Set when the clock may be moved by tests.
    pub test_clock: Option<Arc<OffsetClock>>,
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    /// Key of encoded authorization messages.
    pub message_key: Vec<u8>,
    pub region: String,
    trail: mpsc::Sender<TrailEntry>,
    /// Commits new sessions in groups; `None` if its thread could not start,
    /// and sessions are then committed one by one.
    sessions: Option<SessionCommitter>,
    /// The signing keys of the clusters' OIDC issuers.
    pub issuers: crate::issuers::Issuers,
    /// The Pod Identity agent's credential cache.
    pub agent_cache: crate::services::eks_auth::AgentCache,
    /// Sessions recently used to sign requests, read and parsed once.
    pub session_cache: SessionCache,
}

/// A session as a request needs it: its key's secret and token hash from the
/// store, and the session itself, parsed.
pub struct CachedSession {
    pub stored: StoredSession,
    pub session: orgtwin_identity::Session,
}

/// Sessions by access key id. A session never changes once issued (its
/// expiry is checked on every use), so a cached one is always current. At
/// most [`SessionCache::CAPACITY`] are kept: memory does not grow with the
/// sessions the store holds.
#[derive(Default)]
pub struct SessionCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, Arc<CachedSession>>>,
}

impl SessionCache {
    pub const CAPACITY: usize = 16_384;

    pub fn get(&self, access_key_id: &str) -> Option<Arc<CachedSession>> {
        let entries = self.entries.lock().ok()?;
        entries.get(access_key_id).cloned()
    }

    pub fn put(&self, access_key_id: &str, session: Arc<CachedSession>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::CAPACITY {
                // Start over rather than track recency: the sessions in use
                // come back at once.
                entries.clear();
            }
            entries.insert(access_key_id.to_string(), session);
        }
    }
}

impl std::fmt::Debug for Twin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Twin")
            .field("store", &self.store)
            .field("region", &self.region)
            .finish()
    }
}

impl Twin {
    pub fn new(
        model: Model,
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        message_key: Vec<u8>,
    ) -> Twin {
        let (trail, receiver) = mpsc::channel();
        let writer_store = Arc::clone(&store);
        std::thread::Builder::new()
            .name("orgtwin-trail".into())
            .spawn(move || write_trail(&writer_store, &receiver))
            .map_err(|e| tracing::error!(error = %e, "cannot start the trail writer"))
            .ok();
        let sessions = SessionCommitter::spawn(Arc::clone(&store))
            .map_err(|e| tracing::error!(error = %e, "cannot start the session committer; committing one by one"))
            .ok();
        Twin {
            model: RwLock::new(Arc::new(model)),
            model_writes: std::sync::Mutex::new(()),
            test_clock: None,
            store,
            clock,
            message_key,
            region: "us-east-1".into(),
            trail,
            sessions,
            issuers: crate::issuers::Issuers::default(),
            agent_cache: crate::services::eks_auth::AgentCache::default(),
            session_cache: SessionCache::default(),
        }
    }

    /// The current model (a snapshot; a change replaces it whole).
    pub fn model(&self) -> Arc<Model> {
        match self.model.read() {
            Ok(model) => Arc::clone(&model),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Applies `change` to a copy of the model, checks the result exactly as
    /// a model loaded from files is checked, commits it to the store, and only
    /// then makes it current. A change that fails, or that leaves the model
    /// invalid, changes nothing.
    pub fn update_model<T>(
        &self,
        change: impl FnOnce(&mut Model) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        self.update_model_and(change, &InvitationChanges::default())
    }

    /// Like [`Twin::update_model`], with RAM invitation rows changed in the
    /// same transaction as the model.
    pub fn update_model_and<T>(
        &self,
        change: impl FnOnce(&mut Model) -> Result<T, ServiceError>,
        invitations: &InvitationChanges,
    ) -> Result<T, ServiceError> {
        let _guard = match self.model_writes.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut model = (*self.model()).clone();
        let out = change(&mut model)?;
        let files = crate::start::model_files(&model);
        let checked = crate::start::load_model_files(&files).map_err(|errors| {
            let first = errors
                .iter()
                .next()
                .map(|e| e.problem.to_string())
                .unwrap_or_default();
            ServiceError::validation(format!("the change would leave the model invalid: {first}"))
        })?;
        self.store.replace_model_files_and(&files, invitations)?;
        self.set_model(checked);
        Ok(out)
    }

    /// Replaces the model after a change has been committed to the store.
    fn set_model(&self, model: Model) {
        let mut slot = match self.model.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Arc::new(model);
    }

    /// Stores a new session. With the group committer, the commit happens on
    /// its thread and the current request's response waits for it (see
    /// [`take_pending_commits`]); either way no response names a session
    /// that is not committed.
    pub fn store_session(&self, session: StoredSession) -> Result<(), ServiceError> {
        match &self.sessions {
            Some(committer) => {
                let (tell, wait) = tokio::sync::oneshot::channel();
                committer.commit(
                    session,
                    Box::new(move |result| {
                        let _ = tell.send(result);
                    }),
                );
                PENDING.with(|pending| pending.borrow_mut().push(wait));
                Ok(())
            }
            None => Ok(self.store.put_session(&session)?),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Records decisions in the trail.
    pub fn record(&self, request_id: &str, authorizations: &[Authorization]) {
        let time = self.now().to_rfc3339();
        for a in authorizations {
            note_decision(&a.resource, a.decision.decision);
            let entry = TrailEntry {
                id: 0,
                time: time.clone(),
                request_id: request_id.to_string(),
                caller: a.caller_arn.clone(),
                action: a.action.clone(),
                resource: a.resource.clone(),
                decision: a.decision.decision.to_string(),
                explanation: serde_json::to_string(&a.decision.explanation).unwrap_or_default(),
            };
            if self.trail.send(entry).is_err() {
                tracing::error!("the trail writer has stopped; a decision was not recorded");
            }
        }
    }
}

/// How long the trail writer gathers entries before writing them.
const TRAIL_WINDOW: Duration = Duration::from_millis(20);
/// The most trail entries written in one transaction.
const TRAIL_BATCH: usize = 4096;
/// How often, at most, the trail writer checkpoints the store's WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// A commit the current request's response must wait for.
pub type PendingCommit = tokio::sync::oneshot::Receiver<Result<(), String>>;

thread_local! {
    static PENDING: std::cell::RefCell<Vec<PendingCommit>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The commits queued by the request this thread just handled (handling is
/// synchronous on one thread; the server awaits these before answering).
pub fn take_pending_commits() -> Vec<PendingCommit> {
    PENDING.with(|pending| std::mem::take(&mut *pending.borrow_mut()))
}

thread_local! {
    /// The resource and decision of the request this thread is answering,
    /// for its log line; a denial, once noted, is kept over later allows.
    static DECISION: std::cell::RefCell<Option<(String, Verdict)>> =
        const { std::cell::RefCell::new(None) };
}

fn note_decision(resource: &str, verdict: Verdict) {
    DECISION.with(|slot| {
        let mut slot = slot.borrow_mut();
        let keep = matches!(&*slot, Some((_, v)) if *v != Verdict::Allow);
        if !keep {
            *slot = Some((resource.to_string(), verdict));
        }
    });
}

/// Takes the decision noted for the current request (the request handling
/// is synchronous on one thread between its start and its log line).
pub fn take_decision() -> Option<(String, Verdict)> {
    DECISION.with(|slot| slot.borrow_mut().take())
}

/// Batches trail entries: whatever arrived within 20 ms of the first (at
/// most [`TRAIL_BATCH`]), in one transaction. The writer sleeps through the
/// 20 ms rather than waiting on the channel, so a request that records a
/// decision never has to wake it. It also checkpoints the store's WAL, at
/// most every [`CHECKPOINT_EVERY`], so that no request waits for that.
fn write_trail(store: &Store, receiver: &mpsc::Receiver<TrailEntry>) {
    let mut last_checkpoint = Instant::now();
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        std::thread::sleep(TRAIL_WINDOW);
        batch.extend(receiver.try_iter().take(TRAIL_BATCH - 1));
        if let Err(e) = store.append_trail(&batch) {
            tracing::error!(error = %e, lost = batch.len(), "cannot write the trail");
        }
        if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            if let Err(e) = store.checkpoint() {
                tracing::warn!(error = %e, "cannot checkpoint the state database");
            }
            last_checkpoint = Instant::now();
        }
    }
}
