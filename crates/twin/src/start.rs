//! Opening a twin: the state directory, the model it starts from, the keys
//! of each account's administrator.
//!
//! The first start stores the given model (or the embedded example) in the
//! state; later starts continue from the state, so changes made through the
//! API survive restarts. `reset` starts over from the model.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use orgtwin_identity::caller::ADMIN_USER;
use orgtwin_model::{LoadErrors, Model};
use orgtwin_store::{AccessKey, Store, StoreError};

use crate::ids::{RandomIds, random_bytes};
use crate::state::{Clock, OffsetClock, SystemClock, Twin};

/// The root file of a model as the state stores it.
pub const ROOT_FILE: &str = "org.yaml";

/// Why a twin could not open.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the model has {} problem(s)", .0.len())]
    Model(LoadErrors),
    #[error(
        "the model stored in the state no longer loads ({0} problem(s)); start with `--reset` to begin again from a model"
    )]
    StoredModel(usize),
}

/// Where the model comes from on a first start.
#[derive(Clone, Debug)]
pub enum ModelSource {
    Embedded,
    Path(PathBuf),
}

/// Opens the state under `state_dir` and builds the twin.
pub fn open(
    state_dir: &Path,
    source: &ModelSource,
    reset: bool,
    test_clock: bool,
) -> Result<Arc<Twin>, StartError> {
    let offset = test_clock.then(|| Arc::new(OffsetClock::default()));
    let clock: Arc<dyn Clock> = match &offset {
        Some(offset) => Arc::clone(offset) as Arc<dyn Clock>,
        None => Arc::new(SystemClock),
    };
    let store = Arc::new(Store::open(state_dir)?);
    let stored = store.model_files()?;
    let model = if stored.is_empty() || reset {
        let model = match source {
            ModelSource::Embedded => orgtwin_model::embedded(),
            ModelSource::Path(path) => orgtwin_model::load(path).map_err(StartError::Model)?,
        };
        save_model(&store, &model)?;
        seed_objects(&store, &model, clock.now())?;
        model
    } else {
        if let ModelSource::Path(path) = source {
            tracing::warn!(model = %path.display(), state = %state_dir.display(), "the state already holds a model; continuing from it (use --reset to start over from the model)");
        }
        load_stored(&stored)?
    };
    let message_key = match store.meta("authorization_message_key")? {
        Some(hex_key) => hex::decode(hex_key).unwrap_or_else(|_| random_bytes(32)),
        None => {
            let key = random_bytes(32);
            store.set_meta("authorization_message_key", &hex::encode(&key))?;
            key
        }
    };
    ensure_admin_keys(&store, &model, clock.now().seconds())?;
    let mut twin = Twin::new(model, store, clock, message_key);
    twin.test_clock = offset;
    Ok(Arc::new(twin))
}

/// A model as the files the state stores (the export format, `/` paths).
pub fn model_files(model: &Model) -> Vec<(String, String)> {
    orgtwin_model::export_files(model)
        .into_iter()
        .map(|(path, text)| (path.to_string_lossy().replace('\\', "/"), text))
        .collect()
}

/// Loads model files as the state stores them, with every check of a load.
pub fn load_model_files(files: &[(String, String)]) -> Result<Model, LoadErrors> {
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    orgtwin_model::load_from_memory(ROOT_FILE, &borrowed)
}

/// Writes the model into the state as model files, in one transaction.
pub fn save_model(store: &Store, model: &Model) -> Result<(), StoreError> {
    store.replace_model_files(&model_files(model))
}

fn load_stored(files: &[(String, String)]) -> Result<Model, StartError> {
    load_model_files(files).map_err(|e| StartError::StoredModel(e.len()))
}

/// A new state's buckets hold the model's seed objects, and nothing else.
fn seed_objects(
    store: &Store,
    model: &Model,
    now: orgtwin_policy::Timestamp,
) -> Result<(), StoreError> {
    use md5::Digest as _;
    store.reset_objects()?;
    let millis = i64::try_from(now.unix_nanos() / 1_000_000).unwrap_or(0);
    for account in model.accounts.values() {
        for bucket in &account.buckets {
            store.set_bucket_created(&bucket.name, millis)?;
            for object in &bucket.objects {
                let staged =
                    store.staging_path(&format!("seed-{}", hex::encode(random_bytes(16))))?;
                std::fs::write(&staged, &object.body).map_err(|source| StoreError::Io {
                    path: staged.clone(),
                    source,
                })?;
                let meta = orgtwin_store::ObjectMeta {
                    bucket: bucket.name.clone(),
                    key: object.key.clone(),
                    size: object.body.len() as u64,
                    etag: hex::encode(md5::Md5::digest(&object.body)),
                    content_type: object
                        .content_type
                        .clone()
                        .unwrap_or_else(|| "binary/octet-stream".into()),
                    last_modified: millis,
                    blob: hex::encode(sha2::Sha256::digest(&object.body)),
                    checksums: "{}".into(),
                    metadata: "[]".into(),
                };
                store.put_object(&meta, &staged)?;
            }
        }
    }
    Ok(())
}

/// Every account gets an administrator user with a long-term key, kept in
/// the state (not in the model files). So does every account outside the
/// organization that the model knows (`external_accounts`), so that it can
/// answer RAM invitations; no SCP applies to it.
fn ensure_admin_keys(store: &Store, model: &Model, now: i64) -> Result<(), StoreError> {
    use orgtwin_identity::IdSource;
    for account in model.accounts.keys().chain(model.external_accounts.keys()) {
        if store.access_keys_of(account, ADMIN_USER)?.is_empty() {
            let mut ids = RandomIds;
            store.put_access_key(&AccessKey {
                access_key_id: ids.access_key_id("AKIA"),
                secret: ids.secret_access_key(),
                account: account.clone(),
                user_name: ADMIN_USER.to_string(),
                active: true,
                created_at: now,
            })?;
        }
    }
    Ok(())
}

/// The administrator's key of an account.
pub fn admin_key(store: &Store, account: &str) -> Result<Option<AccessKey>, StoreError> {
    Ok(store
        .access_keys_of(account, ADMIN_USER)?
        .into_iter()
        .find(|k| k.active))
}
