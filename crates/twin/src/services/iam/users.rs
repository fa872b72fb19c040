//! Users: `CreateUser`, `GetUser`, `ListUsers`, `DeleteUser`.
//!
//! `GetUser` without `UserName` answers the calling user, and a role
//! session gets AWS's `ValidationError`. Each account's administrator
//! (`orgtwin-admin`, whose keys `orgtwin env` prints) is not a model user:
//! `GetUser` answers it, its name cannot be taken, and `ListUsers` leaves
//! it out. `DeleteUser` refuses while access keys, policies or group
//! memberships remain (`DeleteConflict`), as IAM does.

use orgtwin_identity::Caller;
use orgtwin_identity::caller::ADMIN_USER;
use orgtwin_model::{Model, User};
use orgtwin_policy::Context;
use orgtwin_policy::principal::stable_id;

use super::checks::{Constraints, read_tags};
use super::entities::{
    Head, Kind, Target, list_prologue, policies_remain, write_boundary_and_tags, write_page,
};
use super::permissions::usable_as_boundary;
use super::{
    Answer, Outcome, already_exists, authorize, delete_conflict, iam, iam_mut, record_creation,
    request_tags_context, same_name,
};
use crate::query::{Params, Xml};
use crate::reply::ServiceError;
use crate::services::Call;

/// The longest name of an existing user the user actions take (IAM's
/// `existingUserNameType`; `CreateUser` takes 64).
pub(super) const EXISTING_NAME_MAX: usize = 128;

pub(super) fn create(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let name = params.required("UserName")?.to_string();
    let path = params.get("Path").unwrap_or("/").to_string();
    let boundary = params.get("PermissionsBoundary").map(str::to_string);
    let tags = read_tags(params);
    let arn = Kind::User.arn(account, &path, &name);
    let mut context = Context::default();
    request_tags_context(&mut context, &tags);
    if let Some(boundary) = &boundary {
        context.insert("iam:PermissionsBoundary", boundary.clone());
    }
    authorize(call, "CreateUser", &arn, &context)?;
    let mut checks = Constraints::default();
    checks.name("userName", &name, 64);
    checks.path("path", &path);
    if let Some(boundary) = &boundary {
        checks.arn("permissionsBoundary", boundary);
    }
    checks.tags(&tags)?;
    checks.finish()?;
    call.twin.update_model(|model| {
        if let Some(boundary) = &boundary {
            usable_as_boundary(model, account, boundary)?;
        }
        let iam = iam_mut(model, account)?;
        let taken = iam
            .users
            .iter()
            .map(|u| u.name.as_str())
            .chain([ADMIN_USER])
            .find(|n| same_name(n, &name));
        if let Some(taken) = taken {
            return Err(already_exists(format!(
                "User with name {taken} already exists."
            )));
        }
        iam.users.push(User {
            id: stable_id("AIDA", &arn),
            name: name.clone(),
            path: path.clone(),
            arn: arn.clone(),
            access_keys: Vec::new(),
            groups: Vec::new(),
            inline_policies: Vec::new(),
            managed_policies: Vec::new(),
            permissions_boundary: boundary.clone(),
            tags,
        });
        Ok(())
    })?;
    record_creation(call, &arn);
    let model = call.twin.model();
    let user = find(iam(&model, account)?, &name)?;
    let mut xml = Xml::default();
    xml.open("User");
    write_user(call, &mut xml, user, true)?;
    xml.close("User");
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn find<'m>(iam: &'m orgtwin_model::Iam, name: &str) -> Result<&'m User, ServiceError> {
    iam.users
        .iter()
        .find(|u| same_name(&u.name, name))
        .ok_or_else(|| Kind::User.not_found(name))
}

/// The user `name` of the caller's account, to change.
pub(super) fn find_mut<'m>(
    model: &'m mut Model,
    account: &str,
    name: &str,
) -> Result<&'m mut User, ServiceError> {
    iam_mut(model, account)?
        .users
        .iter_mut()
        .find(|u| same_name(&u.name, name))
        .ok_or_else(|| Kind::User.not_found(name))
}

/// The members of a `User` structure; `full` adds what `ListUsers` leaves
/// out (the boundary and the tags).
pub(super) fn write_user(
    call: &Call<'_>,
    xml: &mut Xml,
    user: &User,
    full: bool,
) -> Result<(), ServiceError> {
    Head::user(user).write(call, xml)?;
    if full {
        write_boundary_and_tags(xml, user.permissions_boundary.as_deref(), &user.tags);
    }
    Ok(())
}

/// The user named by `UserName`, or without it the caller (see
/// [`caller_user_name`]), authorized for `iam:{action}`, its name checked.
pub(super) fn authorized_user<'m>(
    call: &Call<'_>,
    model: &'m Model,
    params: &Params,
    action: &str,
) -> Result<Target<'m>, ServiceError> {
    let name = match params.get("UserName") {
        Some(name) => name.to_string(),
        None => caller_user_name(call)?,
    };
    let target = Target::new(call, model, Kind::User, &name);
    target.authorize(call, action)?;
    target.checks_up_to(EXISTING_NAME_MAX).finish()?;
    Ok(target)
}

/// The user an action without `UserName` is about: the caller's own; a role
/// session has none.
pub(super) fn caller_user_name(call: &Call<'_>) -> Result<String, ServiceError> {
    match call.caller {
        Caller::User { name, .. } => Ok(name.clone()),
        Caller::Session(s) if s.kind == orgtwin_identity::SessionKind::UserSession => {
            Ok(s.name.clone())
        }
        Caller::Session(_) => Err(ServiceError::validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

/// True for the account's administrator when the model has no such user.
pub(super) fn is_builtin_admin(model: &orgtwin_model::Model, account: &str, name: &str) -> bool {
    name == ADMIN_USER && model.user(account, name).is_none()
}

pub(super) fn get(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let model = call.twin.model();
    let name = authorized_user(call, &model, params, "GetUser")?.name;
    let mut xml = Xml::default();
    xml.open("User");
    if is_builtin_admin(&model, account, &name) {
        let caller = Caller::user(&model, account, ADMIN_USER);
        Head {
            kind: Kind::User,
            path: "/",
            name: ADMIN_USER,
            id: &caller.userid(&model),
            arn: &caller.arn(),
        }
        .write(call, &mut xml)?;
    } else {
        write_user(call, &mut xml, find(iam(&model, account)?, &name)?, true)?;
    }
    xml.close("User");
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn list(call: &Call<'_>, params: &Params) -> Outcome {
    let (page, prefix) = list_prologue(call, params, "ListUsers")?;
    let model = call.twin.model();
    let users: Vec<&User> = iam(&model, call.caller.account())?
        .users
        .iter()
        .filter(|u| prefix.is_none_or(|p| u.path.starts_with(p)))
        .collect();
    let xml = write_page(page, "Users", users, |xml, user| {
        write_user(call, xml, user, false)
    })?;
    Ok(Answer::Result(xml))
}

pub(super) fn delete(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let model = call.twin.model();
    let target = Target::named(call, &model, params, Kind::User)?;
    let name = target.name.as_str();
    target.authorize(call, "DeleteUser")?;
    target.checks_up_to(EXISTING_NAME_MAX).finish()?;
    if is_builtin_admin(&model, account, name) {
        return Err(delete_conflict(
            "Cannot delete entity, must delete access keys first.",
        ));
    }
    call.twin.update_model(|model| {
        let iam = iam_mut(model, account)?;
        let user = find(iam, name)?;
        let conflict = if user.access_keys.is_empty() {
            policies_remain(&user.managed_policies, &user.inline_policies).or_else(|| {
                (!user.groups.is_empty())
                    .then_some("Cannot delete entity, must remove user from all groups first.")
            })
        } else {
            Some("Cannot delete entity, must delete access keys first.")
        };
        if let Some(conflict) = conflict {
            return Err(delete_conflict(conflict));
        }
        iam.users.retain(|u| !same_name(&u.name, name));
        Ok(())
    })?;
    Ok(Answer::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_administrator_is_built_in() {
        let model = orgtwin_model::embedded();
        assert!(is_builtin_admin(&model, "444455556666", ADMIN_USER));
        assert!(!is_builtin_admin(&model, "111122223333", "ci-deployer"));
    }
}
