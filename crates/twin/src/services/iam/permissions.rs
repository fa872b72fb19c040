//! The permissions of users, groups and roles: inline policies
//! (`Put/Get/List/Delete{Role,User,Group}Policy`), attached managed policies
//! (`Attach/Detach/ListAttached...`) and permissions boundaries
//! (`Put/Delete{Role,User}PermissionsBoundary`).
//!
//! As in IAM: putting an inline policy under an existing name replaces it;
//! attaching an attached policy and removing an absent boundary do nothing;
//! detaching a policy that is not attached is `NoSuchEntity`. Inline
//! documents are identity policies, and their total size per entity is held
//! to IAM's quota (10,240 characters for a role, 2,048 for a user, 5,120 for
//! a group). A managed policy attaches (or bounds) only identities of its own
//! account; AWS managed policies are those of the twin's built-in set.

use orgtwin_model::aws_managed::{self, ARN_PREFIX};
use orgtwin_model::{InlinePolicy, Model};
use orgtwin_policy::PolicyType;

use super::entities::{self, Kind, Target};
use super::{
    Answer, Outcome, Page, encode_document, invalid_input, limit_exceeded, no_such_entity,
    policy_document, same_name,
};
use crate::query::{Params, Xml};
use crate::reply::ServiceError;
use crate::services::Call;

/// The target of an action of `kind`, with `iam:PermissionsBoundary` for
/// users and roles when the action changes their permissions.
fn target<'m>(
    call: &Call<'_>,
    model: &'m Model,
    params: &Params,
    kind: Kind,
    with_boundary: bool,
) -> Result<Target<'m>, ServiceError> {
    let target = Target::named(call, model, params, kind)?;
    Ok(if with_boundary {
        target.with_boundary()
    } else {
        target
    })
}

/// The start of `{verb}{Kind}Policy` (`verb` `Put`, `Get` or `Delete`): the
/// target (with its boundary when the action changes a user or role),
/// `PolicyName` and, for `Put`, `PolicyDocument`; authorized, then checked.
fn inline_prologue<'m, 'p>(
    call: &Call<'_>,
    model: &'m Model,
    params: &'p Params,
    kind: Kind,
    verb: &str,
) -> Result<(Target<'m>, &'p str, Option<&'p str>), ServiceError> {
    let changes = verb != "Get";
    let target = target(call, model, params, kind, changes && kind != Kind::Group)?;
    let policy_name = params.required("PolicyName")?;
    let text = if verb == "Put" {
        Some(params.required("PolicyDocument")?)
    } else {
        None
    };
    target.authorize(call, &format!("{verb}{}Policy", kind.title()))?;
    let mut checks = target.checks();
    checks.name("policyName", policy_name, 128);
    if let Some(text) = text {
        checks.document("policyDocument", text);
    }
    checks.finish()?;
    Ok((target, policy_name, text))
}

pub(super) fn put_inline(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let model = call.twin.model();
    let (target, policy_name, text) = inline_prologue(call, &model, params, kind, "Put")?;
    let text = text.unwrap_or_default();
    let document = policy_document(text, &[PolicyType::Identity])?;
    let account = call.caller.account();
    call.twin.update_model(|model| {
        let entity = entities::find_mut(model, account, kind, &target.name)?;
        let policy = InlinePolicy {
            name: policy_name.to_string(),
            document,
        };
        match entity
            .inline_policies
            .iter_mut()
            .find(|p| same_name(&p.name, policy_name))
        {
            Some(existing) => *existing = policy,
            None => entity.inline_policies.push(policy),
        }
        let total: usize = entity
            .inline_policies
            .iter()
            .map(|p| p.document.policy.size)
            .sum();
        if total > kind.max_inline_total() {
            return Err(limit_exceeded(format!(
                "Maximum policy size of {} bytes exceeded for {} {}",
                kind.max_inline_total(),
                kind.noun(),
                entity.name
            )));
        }
        Ok(())
    })?;
    Ok(Answer::Empty)
}

fn inline_not_found(kind: Kind, policy_name: &str) -> ServiceError {
    no_such_entity(format!(
        "The {} policy with name {policy_name} cannot be found.",
        kind.noun()
    ))
}

pub(super) fn get_inline(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let model = call.twin.model();
    let (target, policy_name, _) = inline_prologue(call, &model, params, kind, "Get")?;
    let entity = target.existing()?;
    let policy = entity
        .inline_policies
        .iter()
        .find(|p| same_name(&p.name, policy_name))
        .ok_or_else(|| inline_not_found(kind, policy_name))?;
    let mut xml = Xml::default();
    xml.leaf(kind.name_param(), entity.name)
        .leaf("PolicyName", &policy.name)
        .leaf("PolicyDocument", &encode_document(&policy.document));
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn list_inline(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let model = call.twin.model();
    let target = target(call, &model, params, kind, false)?;
    target.authorize(call, &format!("List{}Policies", kind.title()))?;
    let page = Page::read(params)?;
    target.checks().finish()?;
    let entity = target.existing()?;
    let names: Vec<&str> = entity
        .inline_policies
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let (names, next) = page.window(names);
    let mut xml = Xml::default();
    xml.members("PolicyNames", names)
        .truncation(next.as_deref());
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn delete_inline(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let model = call.twin.model();
    let (target, policy_name, _) = inline_prologue(call, &model, params, kind, "Delete")?;
    let account = call.caller.account();
    call.twin.update_model(|model| {
        let entity = entities::find_mut(model, account, kind, &target.name)?;
        let before = entity.inline_policies.len();
        entity
            .inline_policies
            .retain(|p| !same_name(&p.name, policy_name));
        if entity.inline_policies.len() == before {
            return Err(inline_not_found(kind, policy_name));
        }
        Ok(())
    })?;
    Ok(Answer::Empty)
}

/// Resolves a managed policy ARN that an identity of `account` may attach
/// or use as its boundary: one of the account's customer managed policies,
/// or an AWS managed policy of the twin's built-in set.
pub(super) fn attachable(model: &Model, account: &str, arn: &str) -> Result<(), ServiceError> {
    if !is_policy_arn(arn) {
        return Err(invalid_input(format!("ARN {arn} is not valid.")));
    }
    if aws_managed::policy(arn).is_some() {
        return Ok(());
    }
    let not_attachable = format!("Policy {arn} does not exist or is not attachable.");
    if arn.starts_with(ARN_PREFIX) {
        return Err(no_such_entity(format!(
            "{not_attachable} (The twin knows the AWS managed policies {}; define others as \
             customer managed policies.)",
            aws_managed::names().join(", ")
        )));
    }
    let own = model
        .account(account)
        .is_some_and(|a| a.iam.policies.iter().any(|p| p.arn == arn));
    if own {
        Ok(())
    } else {
        Err(no_such_entity(not_attachable))
    }
}

/// `arn:aws:iam::ACCOUNT:policy/...` or `arn:aws:iam::aws:policy/...`.
pub(super) fn is_policy_arn(arn: &str) -> bool {
    arn.strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.split_once(":policy/"))
        .is_some_and(|(owner, name)| {
            (owner == "aws" || (owner.len() == 12 && owner.bytes().all(|b| b.is_ascii_digit())))
                && !name.is_empty()
                && !name.ends_with('/')
        })
}

/// The start of `{verb}{Kind}Policy` (`verb` `Attach` or `Detach`): the
/// target, with its boundary and `iam:PolicyARN`, and `PolicyArn`;
/// authorized, then checked.
fn attachment_prologue<'m>(
    call: &Call<'_>,
    model: &'m Model,
    params: &Params,
    kind: Kind,
    verb: &str,
) -> Result<(Target<'m>, String), ServiceError> {
    let mut target = target(call, model, params, kind, kind != Kind::Group)?;
    let policy_arn = params.required("PolicyArn")?.to_string();
    target.context.insert("iam:PolicyARN", policy_arn.clone());
    target.authorize(call, &format!("{verb}{}Policy", kind.title()))?;
    let mut checks = target.checks();
    checks.arn("policyArn", &policy_arn);
    checks.finish()?;
    Ok((target, policy_arn))
}

pub(super) fn attach(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let model = call.twin.model();
    let (target, policy_arn) = attachment_prologue(call, &model, params, kind, "Attach")?;
    let account = call.caller.account();
    call.twin.update_model(|model| {
        attachable(model, account, &policy_arn)?;
        let entity = entities::find_mut(model, account, kind, &target.name)?;
        if entity.managed_policies.contains(&policy_arn) {
            return Ok(());
        }
        if entity.managed_policies.len() >= kind.max_managed() {
            return Err(limit_exceeded(format!(
                "Cannot exceed quota for PoliciesPer{}: {}",
                kind.title(),
                kind.max_managed()
            )));
        }
        entity.managed_policies.push(policy_arn.clone());
        Ok(())
    })?;
    Ok(Answer::Empty)
}

pub(super) fn detach(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let model = call.twin.model();
    let (target, policy_arn) = attachment_prologue(call, &model, params, kind, "Detach")?;
    if !is_policy_arn(&policy_arn) {
        return Err(invalid_input(format!("ARN {policy_arn} is not valid.")));
    }
    let account = call.caller.account();
    call.twin.update_model(|model| {
        let entity = entities::find_mut(model, account, kind, &target.name)?;
        let before = entity.managed_policies.len();
        entity.managed_policies.retain(|arn| *arn != policy_arn);
        if entity.managed_policies.len() == before {
            return Err(no_such_entity(format!(
                "Policy {policy_arn} was not found."
            )));
        }
        Ok(())
    })?;
    Ok(Answer::Empty)
}

pub(super) fn list_attached(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let model = call.twin.model();
    let target = target(call, &model, params, kind, false)?;
    target.authorize(call, &format!("ListAttached{}Policies", kind.title()))?;
    let page = Page::read(params)?;
    let prefix = params.get("PathPrefix");
    let mut checks = target.checks();
    if let Some(prefix) = prefix {
        checks.policy_path("pathPrefix", prefix);
    }
    checks.finish()?;
    let entity = target.existing()?;
    let attached: Vec<(&str, &str)> = entity
        .managed_policies
        .iter()
        .filter_map(|arn| {
            let policy = model.managed_policy(arn)?;
            prefix
                .is_none_or(|p| policy.path.starts_with(p))
                .then_some((policy.name.as_str(), arn.as_str()))
        })
        .collect();
    let (attached, next) = page.window(attached);
    let mut xml = Xml::default();
    xml.list("AttachedPolicies", attached, |xml, (name, arn)| {
        xml.leaf("PolicyName", name).leaf("PolicyArn", arn);
    })
    .truncation(next.as_deref());
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn put_boundary(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let model = call.twin.model();
    let mut target = target(call, &model, params, kind, false)?;
    let boundary = params.required("PermissionsBoundary")?.to_string();
    target
        .context
        .insert("iam:PermissionsBoundary", boundary.clone());
    target.authorize(call, &format!("Put{}PermissionsBoundary", kind.title()))?;
    let mut checks = target.checks();
    checks.arn("permissionsBoundary", &boundary);
    checks.finish()?;
    set_boundary(call, kind, &target.name, Some(boundary))
}

/// Sets the boundary of the user or role `name` (checked as
/// [`usable_as_boundary`]), or with `None` removes it.
fn set_boundary(call: &Call<'_>, kind: Kind, name: &str, boundary: Option<String>) -> Outcome {
    let account = call.caller.account();
    call.twin.update_model(|model| {
        if let Some(arn) = &boundary {
            usable_as_boundary(model, account, arn)?;
        }
        let entity = entities::find_mut(model, account, kind, name)?;
        if let Some(slot) = entity.permissions_boundary {
            *slot = boundary.clone();
        }
        Ok(())
    })?;
    Ok(Answer::Empty)
}

/// [`attachable`], and valid as a permissions boundary (the model checks
/// every customer managed policy used as a boundary as both types).
pub(super) fn usable_as_boundary(
    model: &Model,
    account: &str,
    arn: &str,
) -> Result<(), ServiceError> {
    attachable(model, account, arn)?;
    let Some(policy) = model.managed_policy(arn) else {
        return Ok(());
    };
    let errors = orgtwin_policy::validate(&policy.document.policy, PolicyType::PermissionsBoundary);
    match errors.first() {
        Some(e) => Err(invalid_input(format!(
            "Policy {arn} cannot be used as a permissions boundary: {}",
            e.message
        ))),
        None => Ok(()),
    }
}

pub(super) fn delete_boundary(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let model = call.twin.model();
    let target = target(call, &model, params, kind, true)?;
    target.authorize(call, &format!("Delete{}PermissionsBoundary", kind.title()))?;
    target.checks().finish()?;
    set_boundary(call, kind, &target.name, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_arns() {
        assert!(is_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess"));
        assert!(is_policy_arn("arn:aws:iam::444455556666:policy/a/b"));
        assert!(!is_policy_arn("arn:aws:iam::4444:policy/a"));
        assert!(!is_policy_arn("arn:aws:iam::444455556666:role/a"));
        assert!(!is_policy_arn("arn:aws:iam::444455556666:policy/"));
    }

    #[test]
    fn only_own_or_built_in_policies_attach() {
        let model = orgtwin_model::embedded();
        let account = "444455556666";
        assert!(attachable(&model, account, "arn:aws:iam::aws:policy/ReadOnlyAccess").is_ok());
        assert!(
            attachable(
                &model,
                account,
                "arn:aws:iam::444455556666:policy/DeployBoundary"
            )
            .is_ok()
        );
        let other = attachable(
            &model,
            account,
            "arn:aws:iam::111122223333:policy/AssumeDeployRole",
        );
        assert_eq!(other.unwrap_err().code, "NoSuchEntity");
        let unknown = attachable(&model, account, "arn:aws:iam::aws:policy/SecurityAudit");
        assert!(unknown.unwrap_err().message.contains("AdministratorAccess"));
        let bad = attachable(&model, account, "not-an-arn-at-all-really");
        assert_eq!(bad.unwrap_err().code, "InvalidInput");
    }
}
