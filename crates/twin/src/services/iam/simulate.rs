//! The policy simulator: `SimulatePrincipalPolicy` and
//! `SimulateCustomPolicy`, answered by the same engine that authorizes
//! every request of the twin.
//!
//! `SimulatePrincipalPolicy` evaluates a user's, group's or role's policies
//! as the model holds them (a user's include its groups'; a group is
//! simulated as a user of the group), with the account's SCPs
//! (`OrganizationsDecisionDetail`) and the resource account's RCPs, plus any
//! `PolicyInputList`; `PermissionsBoundaryPolicyInputList` replaces the
//! boundary. The principal's own context keys (its tags as
//! `aws:PrincipalTag/*`, `aws:PrincipalOrgID`, ...) are set, and
//! `ContextEntries` override them. Unlike AWS, an `sts:AssumeRole*` (or
//! other trust-policy action) on the ARN of a role of the model is
//! evaluated against that role's trust policy as the resource policy, when
//! no `ResourcePolicy` is given: the answer is whether the principal can
//! really assume the role.
//!
//! `SimulateCustomPolicy` evaluates only the given policies, for `CallerArn`
//! (or the caller), with no SCPs.
//!
//! Each action is simulated on each of `ResourceArns` (`*` when none); a
//! resource whose ARN names no account belongs to `ResourceOwner`, or else
//! to the simulated principal's account. `EvalDecision` is `allowed`,
//! `implicitDeny` or `explicitDeny`, and `MatchedStatements` names the
//! statements that decided (the denying ones for an explicit deny, the
//! allowing ones for an allow, none for an implicit deny; SCP and RCP
//! statements are summed up in `OrganizationsDecisionDetail` instead) with
//! their 1-based line and column in the document as the model holds it.
//! `MissingContextValues` is always empty.

use std::sync::Arc;

use orgtwin_identity::{Caller, Session, SessionKind};
use orgtwin_model::aws_managed::ARN_PREFIX;
use orgtwin_model::{Document, Model};
use orgtwin_policy::evaluate::arn_account;
use orgtwin_policy::{
    Context, ContextValue, Decision, NamedPolicy, OrgLevel, Policies, Policy, PolicySource,
    Principal, Request, ResourcePolicyKind, StatementRef, Verdict, evaluate,
};

use super::checks::Constraints;
use super::{Answer, Outcome, Page, authorize, invalid_input, same_name};
use crate::query::{Params, Xml};
use crate::reply::ServiceError;
use crate::services::Call;

/// A policy that takes part, with what `MatchedStatements` reports of it.
#[derive(Clone, Debug)]
struct Source {
    policy: NamedPolicy,
    /// `user`, `group`, `role`, `aws-managed`, `user-managed`, `resource`,
    /// `none`.
    kind: &'static str,
    text: Arc<str>,
}

impl Source {
    fn new(name: &str, kind: &'static str, document: &Document) -> Source {
        Source {
            policy: document.named(name),
            kind,
            text: document.text.clone(),
        }
    }
}

/// Who is simulated, with the policies the model gives it.
struct Subject {
    principal: Principal,
    context: Context,
    identity: Vec<Source>,
    boundary: Option<Source>,
    /// SCP levels of the principal's account (`SimulatePrincipalPolicy`).
    scps: Option<Vec<OrgLevel>>,
}

/// What the request asks, beyond the subject.
struct Simulation {
    actions: Vec<String>,
    resources: Vec<String>,
    resource_policy: Option<Source>,
    resource_owner: Option<String>,
    entries: Context,
    inputs: Vec<Source>,
    boundary_inputs: Vec<Source>,
    page: Page,
}

pub(super) fn principal(call: &Call<'_>, params: &Params) -> Outcome {
    let source_arn = params.required("PolicySourceArn")?;
    authorize(
        call,
        "SimulatePrincipalPolicy",
        source_arn,
        &Context::default(),
    )?;
    let simulation = read(params)?;
    let model = call.twin.model();
    let mut subject = subject_of(call, &model, source_arn)?;
    if let Some(boundary) = simulation.boundary_inputs.first() {
        subject.boundary = Some(boundary.clone());
    }
    answer(&model, &subject, &simulation, true)
}

pub(super) fn custom(call: &Call<'_>, params: &Params) -> Outcome {
    authorize(call, "SimulateCustomPolicy", "*", &Context::default())?;
    let simulation = read(params)?;
    if simulation.inputs.is_empty() {
        params.required("PolicyInputList")?;
    }
    let model = call.twin.model();
    let principal = match params.get("CallerArn") {
        Some(arn) => Principal::from_arn(arn)
            .map_err(|e| invalid_input(format!("Invalid CallerArn {arn}: {e}")))?,
        None => call.caller.principal(),
    };
    let mut context = Context::default();
    context.derive_from_principal(&principal, call.twin.now());
    let subject = Subject {
        principal,
        context,
        identity: Vec::new(),
        boundary: simulation.boundary_inputs.first().cloned(),
        scps: None,
    };
    answer(&model, &subject, &simulation, false)
}

fn read(params: &Params) -> Result<Simulation, ServiceError> {
    let actions = params.list("ActionNames");
    if actions.is_empty() {
        params.required("ActionNames")?;
    }
    let page = Page::read(params)?;
    let mut checks = Constraints::default();
    for (i, action) in actions.iter().enumerate() {
        checks.length(&format!("actionNames.{}.member", i + 1), action, 3, 128);
    }
    let resources = params.list("ResourceArns");
    for (i, resource) in resources.iter().enumerate() {
        checks.length(&format!("resourceArns.{}.member", i + 1), resource, 1, 2048);
    }
    let entries = context_entries(params, &mut checks)?;
    checks.finish()?;
    let parse = |name: &str, kind: &'static str, text: &str| {
        Document::parse(text)
            .map(|document| Source::new(name, kind, &document))
            .map_err(|errors| {
                let reason = errors
                    .first()
                    .map_or("Syntax errors in policy.", |e| e.message.as_str());
                invalid_input(format!("{name}: {reason}"))
            })
    };
    let inputs = params
        .list("PolicyInputList")
        .iter()
        .enumerate()
        .map(|(i, text)| parse(&format!("PolicyInputList.{}", i + 1), "none", text))
        .collect::<Result<Vec<_>, _>>()?;
    let boundary_inputs = params
        .list("PermissionsBoundaryPolicyInputList")
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let name = format!("PermissionsBoundaryPolicyInputList.{}", i + 1);
            parse(&name, "none", text)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let resource_policy = params
        .get("ResourcePolicy")
        .map(|text| parse("ResourcePolicy", "resource", text))
        .transpose()?;
    let resource_owner = params.get("ResourceOwner").map(|owner| {
        arn_account(owner)
            .unwrap_or(owner)
            .trim_end_matches(":root")
            .to_string()
    });
    Ok(Simulation {
        actions,
        resources,
        resource_policy,
        resource_owner,
        entries,
        inputs,
        boundary_inputs,
        page,
    })
}

const CONTEXT_KEY_TYPES: [&str; 12] = [
    "string",
    "stringList",
    "numeric",
    "numericList",
    "boolean",
    "booleanList",
    "ip",
    "ipList",
    "binary",
    "binaryList",
    "date",
    "dateList",
];

/// `ContextEntries.member.N.{ContextKeyName,ContextKeyValues,ContextKeyType}`.
fn context_entries(params: &Params, checks: &mut Constraints) -> Result<Context, ServiceError> {
    let mut context = Context::default();
    let entries = (1..).map_while(|i| {
        let prefix = format!("ContextEntries.member.{i}");
        let name = params.get(&format!("{prefix}.ContextKeyName"))?;
        let values = params.list(&format!("{prefix}.ContextKeyValues"));
        let kind = params
            .get(&format!("{prefix}.ContextKeyType"))
            .unwrap_or("string");
        Some((i, name, values, kind))
    });
    for (i, name, values, kind) in entries {
        checks.length(
            &format!("contextEntries.{i}.member.contextKeyName"),
            name,
            5,
            256,
        );
        if !CONTEXT_KEY_TYPES.contains(&kind) {
            return Err(ServiceError::validation(format!(
                "1 validation error detected: Value '{kind}' at \
                 'contextEntries.{i}.member.contextKeyType' failed to satisfy constraint: Member \
                 must satisfy enum value set: [{}]",
                CONTEXT_KEY_TYPES.join(", ")
            )));
        }
        if kind.ends_with("List") {
            context.insert_multi(name, values);
        } else if let Some(value) = values.into_iter().next() {
            context.insert(name, value);
        }
    }
    Ok(context)
}

/// Copies `from`'s keys into `into`; with `overwrite` false, keys `into`
/// has are kept.
fn merge(into: &mut Context, from: &Context, overwrite: bool) {
    for (key, value) in from.iter() {
        if !overwrite && into.get(key).is_some() {
            continue;
        }
        match value {
            ContextValue::Single(v) => into.insert(key, v.clone()),
            ContextValue::Multi(vs) => into.insert_multi(key, vs.clone()),
        }
    }
}

/// `(account, kind, name)` of a user, group or role ARN.
fn parse_source_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let (account, resource) = arn.strip_prefix("arn:aws:iam::")?.split_once(':')?;
    let (kind, path_and_name) = resource.split_once('/')?;
    let name = path_and_name.rsplit('/').next()?;
    (matches!(kind, "user" | "group" | "role") && !name.is_empty()).then_some((account, kind, name))
}

fn subject_of(call: &Call<'_>, model: &Model, arn: &str) -> Result<Subject, ServiceError> {
    let account = call.caller.account();
    let (owner, kind, name) = parse_source_arn(arn)
        .ok_or_else(|| invalid_input(format!("Invalid PolicySourceArn {arn}.")))?;
    let not_found =
        || super::no_such_entity(format!("The {kind} with name {name} cannot be found."));
    if owner != account {
        return Err(not_found());
    }
    let iam = super::iam(model, account)?;
    let now = call.twin.now();
    let scps = Some(model.scp_levels(account));
    match kind {
        "user" => {
            let stored = iam
                .users
                .iter()
                .find(|u| same_name(&u.name, name))
                .map(|u| u.name.clone());
            let name = match stored {
                Some(name) => name,
                None if super::users::is_builtin_admin(model, account, name) => name.to_string(),
                None => return Err(not_found()),
            };
            let caller = Caller::user(model, account, &name);
            let policies = caller.policies(model);
            let sources = |p: NamedPolicy| source_of(model, account, "user", &name, p);
            Ok(Subject {
                principal: caller.principal(),
                context: caller.context(model, now),
                identity: policies.identity.into_iter().map(sources).collect(),
                boundary: policies.boundary.map(sources),
                scps,
            })
        }
        "role" => {
            let role = iam
                .roles
                .iter()
                .find(|r| same_name(&r.name, name))
                .ok_or_else(not_found)?;
            let principal = Principal::Role {
                account: account.to_string(),
                name: role.name.clone(),
                arn: role.arn.clone(),
            };
            let session = Caller::Session(Box::new(Session {
                kind: SessionKind::AssumedRole,
                account: account.to_string(),
                name: role.name.clone(),
                identity_arn: role.arn.clone(),
                identity_id: role.id.clone(),
                session_name: Some("SimulatePrincipalPolicy".to_string()),
                tags: Vec::new(),
                source_identity: None,
                session_policy: None,
                session_policy_arns: Vec::new(),
                chained: false,
                issued_at: now.seconds(),
                expires_at: now.seconds(),
                context: Vec::new(),
            }));
            let mut context = Context::default();
            context.derive_from_principal(&principal, now);
            context.insert("aws:userid", role.id.clone());
            merge(&mut context, &session.context(model, now), false);
            let sources = |p: NamedPolicy| source_of(model, account, "role", &role.name, p);
            Ok(Subject {
                principal,
                context,
                identity: model
                    .identity_policies_of_role(account, &role.name)
                    .into_iter()
                    .map(sources)
                    .collect(),
                boundary: model.boundary_of_role(account, &role.name).map(sources),
                scps,
            })
        }
        _ => {
            let group = iam
                .groups
                .iter()
                .find(|g| same_name(&g.name, name))
                .ok_or_else(not_found)?;
            let principal = Principal::User {
                account: account.to_string(),
                name: group.name.clone(),
                arn: group.arn.clone(),
            };
            let mut context = Context::default();
            context.derive_from_principal(&principal, now);
            let mut identity: Vec<Source> = group
                .inline_policies
                .iter()
                .map(|p| Source::new(&p.name, "group", &p.document))
                .collect();
            identity.extend(group.managed_policies.iter().filter_map(|arn| {
                let policy = model.managed_policy(arn)?;
                Some(Source::new(arn, managed_kind(arn), &policy.document))
            }));
            Ok(Subject {
                principal,
                context,
                identity,
                boundary: None,
                scps,
            })
        }
    }
}

fn managed_kind(arn: &str) -> &'static str {
    if arn.starts_with(ARN_PREFIX) {
        "aws-managed"
    } else {
        "user-managed"
    }
}

/// The source of one of an identity's policies, by the name the model
/// gives it: a managed policy's ARN, `GROUP/NAME` for a group's inline
/// policy, or the inline policy's name.
fn source_of(
    model: &Model,
    account: &str,
    own_kind: &'static str,
    own_name: &str,
    policy: NamedPolicy,
) -> Source {
    let name = policy.name.to_string();
    let found = if name.starts_with("arn:") {
        model
            .managed_policy(&name)
            .map(|p| (managed_kind(&name), p.document.text.clone()))
    } else if let Some((group, inline)) = name.split_once('/') {
        model
            .group(account, group)
            .and_then(|g| g.inline_policies.iter().find(|p| p.name == inline))
            .map(|p| ("group", p.document.text.clone()))
    } else {
        let inline = match own_kind {
            "role" => model.role(account, own_name).map(|r| &r.inline_policies),
            _ => model.user(account, own_name).map(|u| &u.inline_policies),
        };
        inline
            .and_then(|list| list.iter().find(|p| p.name == name))
            .map(|p| (own_kind, p.document.text.clone()))
    };
    let (kind, text) = found.unwrap_or((own_kind, Arc::from("")));
    Source { policy, kind, text }
}

/// The actions a role's trust policy governs.
fn is_trust_action(action: &str) -> bool {
    [
        "sts:AssumeRole",
        "sts:AssumeRoleWithWebIdentity",
        "sts:AssumeRoleWithSAML",
        "sts:TagSession",
        "sts:SetSourceIdentity",
        "sts:SetContext",
    ]
    .iter()
    .any(|a| a.eq_ignore_ascii_case(action))
}

/// The trust policy of the model's role `arn`.
fn trust_of(model: &Model, arn: &str) -> Option<Source> {
    let account = arn_account(arn)?;
    let role = model
        .account(account)?
        .iam
        .roles
        .iter()
        .find(|r| r.arn == arn)?;
    Some(Source::new(
        &format!("{} trust", role.name),
        "resource",
        &role.trust_policy,
    ))
}

/// One simulated action on one resource.
struct Evaluation {
    action: String,
    resource: String,
    decision: Decision,
    sources: Vec<Source>,
    organizations: Option<bool>,
    boundary: Option<bool>,
}

fn answer(
    model: &Model,
    subject: &Subject,
    simulation: &Simulation,
    principal_policy: bool,
) -> Outcome {
    let mut identity = subject.identity.clone();
    identity.extend(simulation.inputs.iter().cloned());
    let named: Vec<NamedPolicy> = identity.iter().map(|s| s.policy.clone()).collect();
    let star = vec!["*".to_string()];
    let resources = if simulation.resources.is_empty() {
        &star
    } else {
        &simulation.resources
    };
    // Each action on each resource, action by action; only the requested
    // page is evaluated, so a long list costs no more than one page.
    let per_action = resources.len();
    let total = simulation.actions.len().saturating_mul(per_action);
    let (range, next) = simulation.page.range(total);
    let mut results = Vec::new();
    for position in range {
        let (Some(action), Some(resource)) = (
            simulation.actions.get(position / per_action),
            resources.get(position % per_action),
        ) else {
            continue;
        };
        let resource_account = arn_account(resource)
            .filter(|a| a.len() == 12)
            .map(str::to_string)
            .or_else(|| simulation.resource_owner.clone())
            .or_else(|| subject.principal.account().map(str::to_string));
        let trust =
            (principal_policy && simulation.resource_policy.is_none() && is_trust_action(action))
                .then(|| trust_of(model, resource))
                .flatten();
        let (resource_policy, kind) = match (&simulation.resource_policy, &trust) {
            (Some(given), _) => (Some(given), ResourcePolicyKind::Resource),
            (None, Some(trust)) => (Some(trust), ResourcePolicyKind::Trust),
            (None, None) => (None, ResourcePolicyKind::Resource),
        };
        let mut context = subject.context.clone();
        if let Some(account) = &resource_account {
            context.insert("aws:ResourceAccount", account.clone());
            if model.account(account).is_some() {
                context.insert("aws:ResourceOrgID", model.organization.id.clone());
            }
        }
        merge(&mut context, &simulation.entries, true);
        let rcps = resource_account
            .as_deref()
            .filter(|_| principal_policy)
            .map(|a| model.rcp_levels(a));
        let request = Request {
            principal: &subject.principal,
            action,
            resource,
            resource_account: resource_account.as_deref(),
            context: &context,
        };
        let policies = Policies {
            identity: &named,
            resource: resource_policy.map(|s| &s.policy),
            resource_kind: kind,
            boundary: subject.boundary.as_ref().map(|s| &s.policy),
            session: None,
            scps: subject.scps.as_deref(),
            rcps: rcps.as_deref(),
            management_account: Some(&model.organization.management_account),
        };
        let decision = evaluate(&request, &policies);
        let explanation = &decision.explanation;
        let organizations = subject.scps.as_ref().map(|_| {
            !explanation
                .denied_by
                .iter()
                .any(|s| matches!(s.source, PolicySource::Scp { .. }))
                && !explanation
                    .missing_allow
                    .iter()
                    .any(|m| m.starts_with("SCP"))
        });
        let boundary = subject.boundary.as_ref().map(|_| {
            !explanation
                .denied_by
                .iter()
                .any(|s| s.source == PolicySource::Boundary)
                && !explanation
                    .missing_allow
                    .iter()
                    .any(|m| m.contains("permissions boundary"))
        });
        let mut sources = identity.clone();
        sources.extend(subject.boundary.iter().cloned());
        sources.extend(resource_policy.cloned());
        results.push(Evaluation {
            action: action.clone(),
            resource: resource.clone(),
            decision,
            sources,
            organizations,
            boundary,
        });
    }
    let mut xml = Xml::default();
    xml.list("EvaluationResults", results, |xml, result| {
        write_result(xml, &result);
    })
    .truncation(next.as_deref());
    Ok(Answer::Result(xml.finish()))
}

fn write_result(xml: &mut Xml, result: &Evaluation) {
    let explanation = &result.decision.explanation;
    let (decision, matched): (&str, &[StatementRef]) = match result.decision.decision {
        Verdict::Allow => ("allowed", &explanation.allowed_by),
        Verdict::ImplicitDeny => ("implicitDeny", &[]),
        Verdict::ExplicitDeny => ("explicitDeny", &explanation.denied_by),
    };
    xml.leaf("EvalActionName", &result.action)
        .leaf("EvalResourceName", &result.resource)
        .leaf("EvalDecision", decision);
    let matched = matched.iter().filter(|s| {
        !matches!(
            s.source,
            PolicySource::Scp { .. } | PolicySource::Rcp { .. }
        )
    });
    xml.list("MatchedStatements", matched, |xml, statement| {
        write_statement(xml, statement, &result.sources);
    })
    .members("MissingContextValues", std::iter::empty::<&str>());
    if let Some(allowed) = result.organizations {
        xml.open("OrganizationsDecisionDetail")
            .leaf("AllowedByOrganizations", bool_text(allowed))
            .close("OrganizationsDecisionDetail");
    }
    if let Some(allowed) = result.boundary {
        xml.open("PermissionsBoundaryDecisionDetail")
            .leaf("AllowedByPermissionsBoundary", bool_text(allowed))
            .close("PermissionsBoundaryDecisionDetail");
    }
}

fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

fn write_statement(xml: &mut Xml, statement: &StatementRef, sources: &[Source]) {
    let source = sources.iter().find(|s| s.policy.name == statement.policy);
    xml.leaf("SourcePolicyId", &statement.policy)
        .leaf("SourcePolicyType", source.map_or("none", |s| s.kind));
    let span = source.and_then(|s| {
        let found = statement_span(&s.policy.policy, statement.index)?;
        Some((s, found))
    });
    if let Some((source, (start, end))) = span {
        for (element, offset) in [("StartPosition", start), ("EndPosition", end)] {
            let (line, column) = position(&source.text, offset);
            xml.open(element)
                .leaf("Line", &line.to_string())
                .leaf("Column", &column.to_string())
                .close(element);
        }
    }
}

fn statement_span(policy: &Policy, index: usize) -> Option<(usize, usize)> {
    let statement = policy.statements.iter().find(|s| s.index == index)?;
    Some((statement.span.start, statement.span.end))
}

/// The 1-based line and column of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_arns() {
        assert_eq!(
            parse_source_arn("arn:aws:iam::444455556666:role/a/b/deploy"),
            Some(("444455556666", "role", "deploy"))
        );
        assert_eq!(parse_source_arn("arn:aws:iam::444455556666:policy/x"), None);
        assert_eq!(parse_source_arn("arn:aws:iam::444455556666:root"), None);
    }

    #[test]
    fn positions_count_lines_and_columns_from_one() {
        assert_eq!(position("{\n  \"a\"", 4), (2, 3));
        assert_eq!(position("abc", 0), (1, 1));
    }

    #[test]
    fn trust_actions_ignore_case() {
        assert!(is_trust_action("STS:assumerole"));
        assert!(!is_trust_action("sts:GetCallerIdentity"));
    }
}
