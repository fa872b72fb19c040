//! Managed policies: `CreatePolicy`, `GetPolicy`, `ListPolicies`,
//! `DeletePolicy`, and their versions (`GetPolicyVersion`,
//! `ListPolicyVersions`, `CreatePolicyVersion`, `DeletePolicyVersion`,
//! `SetDefaultPolicyVersion`).
//!
//! The caller's account's customer managed policies, and the AWS managed
//! policies of the twin's built-in set (read-only). The model holds one
//! document per policy, so a policy has exactly one version, its default:
//! `v1` at creation, and `CreatePolicyVersion` with `SetAsDefault` replaces
//! the document under the next number (`v2`, ...); older versions are not
//! kept. Documents are identity policies (6,144 characters), checked as
//! permissions boundaries too when an identity of the account uses the
//! policy as its boundary. As in IAM, a policy attached to an identity (or
//! used as a boundary) cannot be deleted (`DeleteConflict`). Tags given to
//! `CreatePolicy` are authorized (`aws:RequestTag/*`) but not kept.

use orgtwin_model::aws_managed::{self, ARN_PREFIX};
use orgtwin_model::{Iam, ManagedPolicy, Model};
use orgtwin_policy::principal::stable_id;
use orgtwin_policy::{Context, PolicyType, Timestamp};

use super::checks::{Constraints, read_tags};
use super::permissions::is_policy_arn;
use super::{
    Answer, Outcome, Page, already_exists, authorize, creation_date, delete_conflict,
    encode_document, iam, iam_mut, invalid_input, no_such_entity, policy_document, record_creation,
    request_tags_context, same_name,
};
use crate::query::{Params, Xml};
use crate::reply::ServiceError;
use crate::services::Call;

/// The state's key of a policy's version number.
fn version_key(arn: &str) -> String {
    format!("iam.policy_version.{arn}")
}

/// The state's key of the date the policy's default version was made.
fn updated_key(arn: &str) -> String {
    format!("iam.updated.{arn}")
}

/// `v1`, `v2`, ...: the number of the policy's one version.
fn version_id(call: &Call<'_>, arn: &str) -> Result<String, ServiceError> {
    let number = call
        .twin
        .store
        .meta(&version_key(arn))?
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(1);
    Ok(format!("v{number}"))
}

fn update_date(call: &Call<'_>, arn: &str) -> Result<String, ServiceError> {
    match call.twin.store.meta(&updated_key(arn))? {
        Some(seconds) => {
            Ok(Timestamp::from_unix_seconds(seconds.parse().unwrap_or(0)).to_rfc3339())
        }
        None => creation_date(call, arn),
    }
}

/// The customer managed policy of `account`, or the AWS managed one.
fn find<'m>(model: &'m Model, account: &str, arn: &str) -> Result<&'m ManagedPolicy, ServiceError> {
    if !is_policy_arn(arn) {
        return Err(invalid_input(format!("ARN {arn} is not valid.")));
    }
    aws_managed::policy(arn)
        .or_else(|| {
            iam(model, account)
                .ok()?
                .policies
                .iter()
                .find(|p| p.arn == arn)
        })
        .ok_or_else(|| no_such_entity(format!("Policy {arn} was not found.")))
}

/// How many identities of the account attach the policy, and how many use
/// it as their permissions boundary.
fn usage(iam: &Iam, arn: &str) -> (usize, usize) {
    let attached = iam
        .users
        .iter()
        .map(|u| &u.managed_policies)
        .chain(iam.groups.iter().map(|g| &g.managed_policies))
        .chain(iam.roles.iter().map(|r| &r.managed_policies))
        .filter(|attached| attached.iter().any(|a| a == arn))
        .count();
    let bounded = iam
        .users
        .iter()
        .map(|u| &u.permissions_boundary)
        .chain(iam.roles.iter().map(|r| &r.permissions_boundary))
        .filter(|b| b.as_deref() == Some(arn))
        .count();
    (attached, bounded)
}

/// The members of a `Policy` (and `ManagedPolicyDetail`) structure.
pub(super) fn write_policy(
    call: &Call<'_>,
    xml: &mut Xml,
    iam: &Iam,
    policy: &ManagedPolicy,
    with_description: bool,
) -> Result<(), ServiceError> {
    let (attached, bounded) = usage(iam, &policy.arn);
    xml.leaf("PolicyName", &policy.name)
        .leaf("PolicyId", &policy.id)
        .leaf("Arn", &policy.arn)
        .leaf("Path", &policy.path)
        .leaf("DefaultVersionId", &version_id(call, &policy.arn)?)
        .leaf("AttachmentCount", &attached.to_string())
        .leaf("PermissionsBoundaryUsageCount", &bounded.to_string())
        .leaf("IsAttachable", "true");
    if with_description {
        xml.leaf_opt("Description", policy.description.as_deref());
    }
    xml.leaf("CreateDate", &creation_date(call, &policy.arn)?)
        .leaf("UpdateDate", &update_date(call, &policy.arn)?);
    Ok(())
}

/// The members of a `PolicyVersion` structure (the document optional).
pub(super) fn write_version(
    call: &Call<'_>,
    xml: &mut Xml,
    policy: &ManagedPolicy,
    with_document: bool,
) -> Result<(), ServiceError> {
    if with_document {
        xml.leaf("Document", &encode_document(&policy.document));
    }
    xml.leaf("VersionId", &version_id(call, &policy.arn)?)
        .leaf("IsDefaultVersion", "true")
        .leaf("CreateDate", &update_date(call, &policy.arn)?);
    Ok(())
}

fn answer_policy(call: &Call<'_>, arn: &str, with_description: bool) -> Outcome {
    let model = call.twin.model();
    let account = call.caller.account();
    let policy = find(&model, account, arn)?;
    let mut xml = Xml::default();
    xml.open("Policy");
    write_policy(
        call,
        &mut xml,
        iam(&model, account)?,
        policy,
        with_description,
    )?;
    xml.close("Policy");
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn create(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let name = params.required("PolicyName")?.to_string();
    let text = params.required("PolicyDocument")?;
    let path = params.get("Path").unwrap_or("/").to_string();
    let description = params.get("Description").map(str::to_string);
    let tags = read_tags(params);
    let arn = format!("arn:aws:iam::{account}:policy{path}{name}");
    let mut context = Context::default();
    request_tags_context(&mut context, &tags);
    authorize(call, "CreatePolicy", &arn, &context)?;
    let mut checks = Constraints::default();
    checks.name("policyName", &name, 128);
    checks.policy_path("path", &path);
    checks.document("policyDocument", text);
    if let Some(description) = &description {
        checks.length("description", description, 0, 1000);
    }
    checks.tags(&tags)?;
    checks.finish()?;
    let document = policy_document(text, &[PolicyType::Identity])?;
    call.twin.update_model(|model| {
        let iam = iam_mut(model, account)?;
        if iam.policies.iter().any(|p| same_name(&p.name, &name)) {
            return Err(already_exists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        iam.policies.push(ManagedPolicy {
            id: stable_id("ANPA", &arn),
            name: name.clone(),
            path: path.clone(),
            arn: arn.clone(),
            description: description.filter(|d| !d.is_empty()),
            document,
        });
        Ok(())
    })?;
    record_creation(call, &arn);
    set_version(call, &arn, 1, Some(call.twin.now().seconds()));
    answer_policy(call, &arn, false)
}

/// Records the policy's version number (and the date of a new version).
fn set_version(call: &Call<'_>, arn: &str, number: u64, updated: Option<i64>) {
    let store = &call.twin.store;
    let mut result = store.set_meta(&version_key(arn), &number.to_string());
    if let Some(seconds) = updated {
        result = result.and_then(|()| store.set_meta(&updated_key(arn), &seconds.to_string()));
    }
    if let Err(e) = result {
        tracing::warn!(policy = arn, error = %e, "cannot record a policy version");
    }
}

pub(super) fn get(call: &Call<'_>, params: &Params) -> Outcome {
    let arn = params.required("PolicyArn")?;
    authorize(call, "GetPolicy", arn, &Context::default())?;
    let mut checks = Constraints::default();
    checks.arn("policyArn", arn);
    checks.finish()?;
    answer_policy(call, arn, true)
}

pub(super) fn list(call: &Call<'_>, params: &Params) -> Outcome {
    authorize(call, "ListPolicies", "*", &Context::default())?;
    let page = Page::read(params)?;
    let scope = params.get("Scope").unwrap_or("All");
    let only_attached = params.boolean("OnlyAttached")?.unwrap_or(false);
    let prefix = params.get("PathPrefix");
    let usage_filter = params.get("PolicyUsageFilter");
    let mut checks = Constraints::default();
    if let Some(prefix) = prefix {
        checks.policy_path("pathPrefix", prefix);
    }
    checks.finish()?;
    enum_value("scope", scope, &["All", "AWS", "Local"])?;
    if let Some(filter) = usage_filter {
        enum_value(
            "policyUsageFilter",
            filter,
            &["PermissionsPolicy", "PermissionsBoundary"],
        )?;
    }
    let model = call.twin.model();
    let iam = iam(&model, call.caller.account())?;
    let aws = aws_managed::policies().iter().filter(|_| scope != "Local");
    let local = iam.policies.iter().filter(|_| scope != "AWS");
    let policies: Vec<&ManagedPolicy> = aws
        .chain(local)
        .filter(|p| prefix.is_none_or(|prefix| p.path.starts_with(prefix)))
        .filter(|p| {
            let (attached, bounded) = usage(iam, &p.arn);
            let in_use = match usage_filter {
                Some("PermissionsPolicy") => attached > 0,
                Some("PermissionsBoundary") => bounded > 0,
                _ => attached + bounded > 0,
            };
            !only_attached || in_use
        })
        .collect();
    let (policies, next) = page.window(policies);
    let mut xml = Xml::default();
    xml.open("Policies");
    for policy in policies {
        xml.open("member");
        write_policy(call, &mut xml, iam, policy, false)?;
        xml.close("member");
    }
    xml.close("Policies").truncation(next.as_deref());
    Ok(Answer::Result(xml.finish()))
}

fn enum_value(field: &str, value: &str, allowed: &[&str]) -> Result<(), ServiceError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(ServiceError::validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy \
         constraint: Member must satisfy enum value set: [{}]",
        allowed.join(", ")
    )))
}

/// Refuses changes to AWS managed policies.
fn customer_managed(arn: &str) -> Result<(), ServiceError> {
    if arn.starts_with(ARN_PREFIX) {
        return Err(invalid_input(format!(
            "Policy {arn} is an AWS managed policy, which cannot be changed or deleted."
        )));
    }
    Ok(())
}

pub(super) fn delete(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let arn = params.required("PolicyArn")?;
    authorize(call, "DeletePolicy", arn, &Context::default())?;
    let mut checks = Constraints::default();
    checks.arn("policyArn", arn);
    checks.finish()?;
    customer_managed(arn)?;
    call.twin.update_model(|model| {
        find(model, account, arn)?;
        let iam = iam_mut(model, account)?;
        if usage(iam, arn) != (0, 0) {
            return Err(delete_conflict(
                "Cannot delete a policy attached to entities.",
            ));
        }
        iam.policies.retain(|p| p.arn != arn);
        Ok(())
    })?;
    Ok(Answer::Empty)
}

/// The policy and the version id a version action names, authorized.
fn version_request<'p>(
    call: &Call<'_>,
    params: &'p Params,
    action: &str,
) -> Result<(&'p str, &'p str), ServiceError> {
    let arn = params.required("PolicyArn")?;
    let version = params.required("VersionId")?;
    authorize(call, action, arn, &Context::default())?;
    let mut checks = Constraints::default();
    checks.arn("policyArn", arn);
    checks.finish()?;
    let valid = version
        .strip_prefix('v')
        .and_then(|n| n.split('.').next())
        .is_some_and(|n| {
            !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())
        });
    if !valid {
        return Err(ServiceError::validation(format!(
            "1 validation error detected: Value '{version}' at 'versionId' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: \
             v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"
        )));
    }
    Ok((arn, version))
}

fn version_not_found(arn: &str, version: &str) -> ServiceError {
    no_such_entity(format!(
        "Policy {arn} version {version} does not exist or is not attachable."
    ))
}

pub(super) fn get_version(call: &Call<'_>, params: &Params) -> Outcome {
    let (arn, version) = version_request(call, params, "GetPolicyVersion")?;
    let model = call.twin.model();
    let policy = find(&model, call.caller.account(), arn)?;
    if version_id(call, arn)? != version {
        return Err(version_not_found(arn, version));
    }
    let mut xml = Xml::default();
    xml.open("PolicyVersion");
    write_version(call, &mut xml, policy, true)?;
    xml.close("PolicyVersion");
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn list_versions(call: &Call<'_>, params: &Params) -> Outcome {
    let arn = params.required("PolicyArn")?;
    authorize(call, "ListPolicyVersions", arn, &Context::default())?;
    let page = Page::read(params)?;
    let mut checks = Constraints::default();
    checks.arn("policyArn", arn);
    checks.finish()?;
    let model = call.twin.model();
    let policy = find(&model, call.caller.account(), arn)?;
    let (versions, next) = page.window(vec![policy]);
    let mut xml = Xml::default();
    xml.open("Versions");
    for policy in versions {
        xml.open("member");
        write_version(call, &mut xml, policy, true)?;
        xml.close("member");
    }
    xml.close("Versions").truncation(next.as_deref());
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn create_version(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let arn = params.required("PolicyArn")?;
    let text = params.required("PolicyDocument")?;
    let set_as_default = params.boolean("SetAsDefault")?.unwrap_or(false);
    authorize(call, "CreatePolicyVersion", arn, &Context::default())?;
    let mut checks = Constraints::default();
    checks.arn("policyArn", arn);
    checks.document("policyDocument", text);
    checks.finish()?;
    customer_managed(arn)?;
    if !set_as_default {
        return Err(invalid_input(
            "The twin keeps only the default version of a managed policy: create the new \
             version with SetAsDefault=true.",
        ));
    }
    let model = call.twin.model();
    find(&model, account, arn)?;
    let (_, bounded) = usage(iam(&model, account)?, arn);
    let types: &[PolicyType] = if bounded > 0 {
        &[PolicyType::Identity, PolicyType::PermissionsBoundary]
    } else {
        &[PolicyType::Identity]
    };
    let document = policy_document(text, types)?;
    let number = version_id(call, arn)?
        .trim_start_matches('v')
        .parse::<u64>()
        .unwrap_or(1)
        + 1;
    call.twin.update_model(|model| {
        let policy = iam_mut(model, account)?
            .policies
            .iter_mut()
            .find(|p| p.arn == arn)
            .ok_or_else(|| no_such_entity(format!("Policy {arn} was not found.")))?;
        policy.document = document;
        Ok(())
    })?;
    set_version(call, arn, number, Some(call.twin.now().seconds()));
    let model = call.twin.model();
    let policy = find(&model, account, arn)?;
    let mut xml = Xml::default();
    xml.open("PolicyVersion");
    write_version(call, &mut xml, policy, false)?;
    xml.close("PolicyVersion");
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn delete_version(call: &Call<'_>, params: &Params) -> Outcome {
    let (arn, version) = version_request(call, params, "DeletePolicyVersion")?;
    customer_managed(arn)?;
    let model = call.twin.model();
    find(&model, call.caller.account(), arn)?;
    if version_id(call, arn)? == version {
        return Err(delete_conflict(
            "Cannot delete the default version of a policy.",
        ));
    }
    Err(version_not_found(arn, version))
}

pub(super) fn set_default_version(call: &Call<'_>, params: &Params) -> Outcome {
    let (arn, version) = version_request(call, params, "SetDefaultPolicyVersion")?;
    customer_managed(arn)?;
    let model = call.twin.model();
    find(&model, call.caller.account(), arn)?;
    if version_id(call, arn)? == version {
        Ok(Answer::Empty)
    } else {
        Err(version_not_found(arn, version))
    }
}
