//! Roles: `CreateRole`, `GetRole`, `ListRoles`, `DeleteRole`, `UpdateRole`,
//! `UpdateRoleDescription`, `UpdateAssumeRolePolicy`.
//!
//! As in IAM: the trust policy (`AssumeRolePolicyDocument`) is validated as
//! a trust policy ("Has prohibited field Resource.", 2,048 characters);
//! `MaxSessionDuration` is 3,600 to 43,200 seconds (default 3,600);
//! `CreateRole` sets `aws:RequestTag/*`, `aws:TagKeys` and, with a
//! boundary, `iam:PermissionsBoundary` in the request context; `DeleteRole`
//! refuses while managed or inline policies remain (`DeleteConflict`).
//! `ListRoles` leaves out tags and boundaries, as AWS does. `RoleLastUsed` is
//! not reported.

use orgtwin_model::{Model, Role};
use orgtwin_policy::principal::stable_id;
use orgtwin_policy::{Context, PolicyType};

use super::checks::{Constraints, read_tags};
use super::entities::{
    Head, Kind, Target, list_prologue, policies_remain, write_boundary_and_tags, write_page,
};
use super::permissions::usable_as_boundary;
use super::{
    Answer, Outcome, already_exists, authorize, delete_conflict, encode_document, iam, iam_mut,
    policy_document, record_creation, request_tags_context, same_name,
};
use crate::query::{Params, Xml};
use crate::reply::ServiceError;
use crate::services::Call;

const SESSION_DEFAULT: u32 = 3_600;
const SESSION_MAX: i64 = 43_200;

pub(super) fn create(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let name = params.required("RoleName")?.to_string();
    let trust_text = params.required("AssumeRolePolicyDocument")?;
    let path = params.get("Path").unwrap_or("/").to_string();
    let description = params.get("Description").map(str::to_string);
    let max_session = params.integer("MaxSessionDuration")?;
    let boundary = params.get("PermissionsBoundary").map(str::to_string);
    let tags = read_tags(params);
    let arn = Kind::Role.arn(account, &path, &name);
    let mut context = Context::default();
    request_tags_context(&mut context, &tags);
    if let Some(boundary) = &boundary {
        context.insert("iam:PermissionsBoundary", boundary.clone());
    }
    authorize(call, "CreateRole", &arn, &context)?;
    let mut checks = Constraints::default();
    checks.name("roleName", &name, 64);
    checks.path("path", &path);
    checks.document("assumeRolePolicyDocument", trust_text);
    if let Some(description) = &description {
        checks.description("description", description);
    }
    if let Some(seconds) = max_session {
        checks.range("maxSessionDuration", seconds, 3_600, SESSION_MAX);
    }
    if let Some(boundary) = &boundary {
        checks.arn("permissionsBoundary", boundary);
    }
    checks.tags(&tags)?;
    checks.finish()?;
    let trust_policy = policy_document(trust_text, &[PolicyType::Trust])?;
    call.twin.update_model(|model| {
        if let Some(boundary) = &boundary {
            usable_as_boundary(model, account, boundary)?;
        }
        let iam = iam_mut(model, account)?;
        if let Some(existing) = iam.roles.iter().find(|r| same_name(&r.name, &name)) {
            return Err(already_exists(format!(
                "Role with name {} already exists.",
                existing.name
            )));
        }
        iam.roles.push(Role {
            id: stable_id("AROA", &arn),
            name: name.clone(),
            path: path.clone(),
            arn: arn.clone(),
            description: description.filter(|d| !d.is_empty()),
            trust_policy,
            inline_policies: Vec::new(),
            managed_policies: Vec::new(),
            permissions_boundary: boundary.clone(),
            max_session_duration: max_session
                .and_then(|s| u32::try_from(s).ok())
                .unwrap_or(SESSION_DEFAULT),
            tags,
        });
        Ok(())
    })?;
    record_creation(call, &arn);
    answer_role(call, &name)
}

/// `<Role>` of the role named `name`, read back from the current model.
fn answer_role(call: &Call<'_>, name: &str) -> Outcome {
    let model = call.twin.model();
    let role = find(iam(&model, call.caller.account())?, name)?;
    let mut xml = Xml::default();
    xml.open("Role");
    write_role(call, &mut xml, role, true)?;
    xml.close("Role");
    Ok(Answer::Result(xml.finish()))
}

fn find<'m>(iam: &'m orgtwin_model::Iam, name: &str) -> Result<&'m Role, ServiceError> {
    iam.roles
        .iter()
        .find(|r| same_name(&r.name, name))
        .ok_or_else(|| Kind::Role.not_found(name))
}

/// The role `name` of the caller's account, to change.
fn find_mut<'m>(
    model: &'m mut Model,
    account: &str,
    name: &str,
) -> Result<&'m mut Role, ServiceError> {
    iam_mut(model, account)?
        .roles
        .iter_mut()
        .find(|r| same_name(&r.name, name))
        .ok_or_else(|| Kind::Role.not_found(name))
}

/// The members of a `Role` structure; `full` adds what `ListRoles` leaves
/// out (the boundary and the tags).
pub(super) fn write_role(
    call: &Call<'_>,
    xml: &mut Xml,
    role: &Role,
    full: bool,
) -> Result<(), ServiceError> {
    write_role_head(call, xml, role)?;
    xml.leaf_opt("Description", role.description.as_deref())
        .leaf("MaxSessionDuration", &role.max_session_duration.to_string());
    if full {
        write_boundary_and_tags(xml, role.permissions_boundary.as_deref(), &role.tags);
    }
    Ok(())
}

/// What every structure of a role opens with: the [`Head`] and the trust
/// policy (`AssumeRolePolicyDocument`).
pub(super) fn write_role_head(
    call: &Call<'_>,
    xml: &mut Xml,
    role: &Role,
) -> Result<(), ServiceError> {
    Head::role(role).write(call, xml)?;
    xml.leaf(
        "AssumeRolePolicyDocument",
        &encode_document(&role.trust_policy),
    );
    Ok(())
}

pub(super) fn get(call: &Call<'_>, params: &Params) -> Outcome {
    let model = call.twin.model();
    let target = Target::named(call, &model, params, Kind::Role)?;
    target.authorize(call, "GetRole")?;
    target.checks().finish()?;
    answer_role(call, &target.name)
}

pub(super) fn list(call: &Call<'_>, params: &Params) -> Outcome {
    let (page, prefix) = list_prologue(call, params, "ListRoles")?;
    let model = call.twin.model();
    let roles: Vec<&Role> = iam(&model, call.caller.account())?
        .roles
        .iter()
        .filter(|r| prefix.is_none_or(|p| r.path.starts_with(p)))
        .collect();
    let xml = write_page(page, "Roles", roles, |xml, role| {
        write_role(call, xml, role, false)
    })?;
    Ok(Answer::Result(xml))
}

pub(super) fn delete(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let model = call.twin.model();
    let target = Target::named(call, &model, params, Kind::Role)?;
    let name = target.name.as_str();
    target.authorize(call, "DeleteRole")?;
    target.checks().finish()?;
    call.twin.update_model(|model| {
        let iam = iam_mut(model, account)?;
        let role = find(iam, name)?;
        if let Some(conflict) = policies_remain(&role.managed_policies, &role.inline_policies) {
            return Err(delete_conflict(conflict));
        }
        iam.roles.retain(|r| !same_name(&r.name, name));
        Ok(())
    })?;
    Ok(Answer::Empty)
}

/// `UpdateRole` (description and maximum session duration) and
/// `UpdateRoleDescription`, which answers the role.
pub(super) fn update(call: &Call<'_>, params: &Params, description_only: bool) -> Outcome {
    let account = call.caller.account();
    let model = call.twin.model();
    let target = Target::named(call, &model, params, Kind::Role)?;
    let name = target.name.as_str();
    let description = if description_only {
        Some(params.required("Description")?)
    } else {
        params.get("Description")
    };
    let max_session = if description_only {
        None
    } else {
        params.integer("MaxSessionDuration")?
    };
    let action = if description_only {
        "UpdateRoleDescription"
    } else {
        "UpdateRole"
    };
    target.authorize(call, action)?;
    let mut checks = target.checks();
    if let Some(description) = description {
        checks.description("description", description);
    }
    if let Some(seconds) = max_session {
        checks.range("maxSessionDuration", seconds, 3_600, SESSION_MAX);
    }
    checks.finish()?;
    call.twin.update_model(|model| {
        let role = find_mut(model, account, name)?;
        if let Some(description) = description {
            role.description = (!description.is_empty()).then(|| description.to_string());
        }
        if let Some(seconds) = max_session.and_then(|s| u32::try_from(s).ok()) {
            role.max_session_duration = seconds;
        }
        Ok(())
    })?;
    if description_only {
        answer_role(call, name)
    } else {
        Ok(Answer::Result(String::new()))
    }
}

pub(super) fn update_trust(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let model = call.twin.model();
    let target = Target::named(call, &model, params, Kind::Role)?;
    let text = params.required("PolicyDocument")?;
    target.authorize(call, "UpdateAssumeRolePolicy")?;
    let mut checks = target.checks();
    checks.document("policyDocument", text);
    checks.finish()?;
    let trust_policy = policy_document(text, &[PolicyType::Trust])?;
    call.twin.update_model(|model| {
        let role = find_mut(model, account, &target.name)?;
        role.trust_policy = trust_policy;
        Ok(())
    })?;
    Ok(Answer::Empty)
}
