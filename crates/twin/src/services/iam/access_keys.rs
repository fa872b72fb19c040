//! Long-term access keys: `CreateAccessKey`, `ListAccessKeys`,
//! `UpdateAccessKey`, `DeleteAccessKey`.
//!
//! Keys of model users live in the model (with their secret, so an export
//! carries them); keys of each account's built-in administrator live in the
//! state. Without `UserName` the action is about the calling user. As in
//! IAM: a user holds at most 2 keys (`LimitExceeded`), a new key is
//! `Active`, ids are `AKIA` and 16 characters, and the secret is answered
//! once, by `CreateAccessKey`. A deleted or inactive key stops
//! authenticating at once (`InvalidClientTokenId`).

use orgtwin_identity::IdSource;
use orgtwin_model::{AccessKey, KeyStatus, Model, Secret};

use super::checks::Constraints;
use super::entities::write_page;
use super::users::{self, is_builtin_admin};
use super::{
    Answer, Outcome, Page, creation_date, limit_exceeded, no_such_entity, record_creation,
};
use crate::ids::RandomIds;
use crate::query::{Params, Xml};
use crate::reply::ServiceError;
use crate::services::Call;

const MAX_KEYS_PER_USER: usize = 2;

/// A key as `ListAccessKeys` shows it.
struct KeyMetadata {
    id: String,
    status: &'static str,
}

/// The name of the user named by `UserName` (or the caller), authorized
/// for `iam:{action}`.
fn authorized_user(call: &Call<'_>, params: &Params, action: &str) -> Result<String, ServiceError> {
    let model = call.twin.model();
    Ok(users::authorized_user(call, &model, params, action)?.name)
}

fn key_not_found(id: &str) -> ServiceError {
    no_such_entity(format!("The Access Key with id {id} cannot be found."))
}

fn too_many_keys() -> ServiceError {
    limit_exceeded(format!(
        "Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}"
    ))
}

pub(super) fn create(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let name = authorized_user(call, params, "CreateAccessKey")?;
    let mut ids = RandomIds;
    let id = ids.access_key_id("AKIA");
    let secret = ids.secret_access_key();
    let model = call.twin.model();
    let user_name = if is_builtin_admin(&model, account, &name) {
        let store = &call.twin.store;
        if store.access_keys_of(account, &name)?.len() >= MAX_KEYS_PER_USER {
            return Err(too_many_keys());
        }
        store.put_access_key(&orgtwin_store::AccessKey {
            access_key_id: id.clone(),
            secret: secret.clone(),
            account: account.to_string(),
            user_name: name.clone(),
            active: true,
            created_at: call.twin.now().seconds(),
        })?;
        name
    } else {
        call.twin.update_model(|model| {
            let user = users::find_mut(model, account, &name)?;
            if user.access_keys.len() >= MAX_KEYS_PER_USER {
                return Err(too_many_keys());
            }
            user.access_keys.push(AccessKey {
                id: id.clone(),
                secret: Secret::new(secret.clone()),
                status: KeyStatus::Active,
            });
            Ok(user.name.clone())
        })?
    };
    record_creation(call, &id);
    let mut xml = Xml::default();
    xml.open("AccessKey")
        .leaf("UserName", &user_name)
        .leaf("AccessKeyId", &id)
        .leaf("Status", "Active")
        .leaf("SecretAccessKey", &secret)
        .leaf("CreateDate", &creation_date(call, &id)?)
        .close("AccessKey");
    Ok(Answer::Result(xml.finish()))
}

/// The user's keys (its stored name, and each key), from the model or, for
/// the built-in administrator, the state.
fn keys_of(
    call: &Call<'_>,
    model: &Model,
    name: &str,
) -> Result<(String, Vec<KeyMetadata>), ServiceError> {
    let account = call.caller.account();
    if is_builtin_admin(model, account, name) {
        let keys = call
            .twin
            .store
            .access_keys_of(account, name)?
            .into_iter()
            .map(|k| KeyMetadata {
                id: k.access_key_id,
                status: if k.active { "Active" } else { "Inactive" },
            })
            .collect();
        return Ok((name.to_string(), keys));
    }
    let user = users::find(super::iam(model, account)?, name)?;
    let keys = user
        .access_keys
        .iter()
        .map(|k| KeyMetadata {
            id: k.id.clone(),
            status: k.status.as_str(),
        })
        .collect();
    Ok((user.name.clone(), keys))
}

pub(super) fn list(call: &Call<'_>, params: &Params) -> Outcome {
    let name = authorized_user(call, params, "ListAccessKeys")?;
    let page = Page::read(params)?;
    let model = call.twin.model();
    let (user_name, keys) = keys_of(call, &model, &name)?;
    let xml = write_page(page, "AccessKeyMetadata", keys, |xml, key| {
        xml.leaf("UserName", &user_name)
            .leaf("AccessKeyId", &key.id)
            .leaf("Status", key.status)
            .leaf("CreateDate", &creation_date(call, &key.id)?);
        Ok(())
    })?;
    Ok(Answer::Result(xml))
}

/// What to do with one key.
#[derive(Clone, Copy)]
enum Change {
    SetActive(bool),
    Delete,
}

fn change_key(call: &Call<'_>, params: &Params, action: &str, change: Change) -> Outcome {
    let account = call.caller.account();
    let name = authorized_user(call, params, action)?;
    let id = params.required("AccessKeyId")?.to_string();
    let mut checks = Constraints::default();
    checks.length("accessKeyId", &id, 16, 128);
    checks.finish()?;
    let model = call.twin.model();
    if is_builtin_admin(&model, account, &name) {
        let store = &call.twin.store;
        let owned = store
            .access_key(&id)?
            .is_some_and(|k| k.account == account && k.user_name == name);
        if !owned {
            return Err(key_not_found(&id));
        }
        match change {
            Change::SetActive(active) => store.set_access_key_status(&id, active)?,
            Change::Delete => store.delete_access_key(&id)?,
        };
        return Ok(Answer::Empty);
    }
    call.twin.update_model(|model| {
        let user = users::find_mut(model, account, &name)?;
        if !user.access_keys.iter().any(|k| k.id == id) {
            return Err(key_not_found(&id));
        }
        match change {
            Change::SetActive(active) => {
                let status = if active {
                    KeyStatus::Active
                } else {
                    KeyStatus::Inactive
                };
                for key in user.access_keys.iter_mut().filter(|k| k.id == id) {
                    key.status = status;
                }
            }
            Change::Delete => user.access_keys.retain(|k| k.id != id),
        }
        Ok(())
    })?;
    Ok(Answer::Empty)
}

pub(super) fn update(call: &Call<'_>, params: &Params) -> Outcome {
    let status = params.required("Status")?;
    let active = match status {
        "Active" => true,
        "Inactive" => false,
        other => {
            return Err(ServiceError::validation(format!(
                "1 validation error detected: Value '{other}' at 'status' failed to satisfy \
                 constraint: Member must satisfy enum value set: [Active, Inactive]"
            )));
        }
    };
    change_key(call, params, "UpdateAccessKey", Change::SetActive(active))
}

pub(super) fn delete(call: &Call<'_>, params: &Params) -> Outcome {
    change_key(call, params, "DeleteAccessKey", Change::Delete)
}
