//! Policy unit tests: self-contained authorization cases, one JSON object per
//! line, as `orgtwin simulate` reads them (the format is documented in
//! `docs/simulate.md`).
//!
//! A case names the principal, the action, the resource, the context and
//! every policy that decides the request; [`run_case`] evaluates it with the
//! engine and compares the decision with the expectation. Malformed cases are
//! errors that name the field, never evaluations.

use serde_json::Value;

use crate::context::{Context, Timestamp};
use crate::error::PolicyError;
use crate::evaluate::{
    self, Decision, NamedPolicy, OrgLevel, Policies, Request, ResourcePolicyKind, Verdict,
};
use crate::policy::Policy;
use crate::principal::Principal;
use crate::validate::{PolicyType, validate};

/// What a case expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expectation {
    Exactly(Verdict),
    /// Either kind of deny.
    Deny,
}

impl Expectation {
    pub fn holds(self, verdict: Verdict) -> bool {
        match self {
            Expectation::Exactly(v) => v == verdict,
            Expectation::Deny => verdict != Verdict::Allow,
        }
    }
}

/// A case that is not well formed: which field, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {message}")]
pub struct CaseError {
    pub field: String,
    pub message: String,
}

fn case_error(field: &str, message: impl Into<String>) -> CaseError {
    CaseError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// A problem found by validating one of the case's policies.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PolicyProblem {
    pub policy: String,
    pub code: &'static str,
    pub message: String,
}

/// A parsed case, ready to evaluate.
#[derive(Debug)]
pub struct Case {
    pub id: String,
    pub principal: Principal,
    pub action: String,
    pub resource: String,
    pub resource_account: Option<String>,
    pub context: Context,
    pub identity: Vec<NamedPolicy>,
    pub resource_policy: Option<NamedPolicy>,
    pub resource_kind: ResourcePolicyKind,
    pub boundary: Option<NamedPolicy>,
    pub session: Option<NamedPolicy>,
    pub scps: Option<Vec<OrgLevel>>,
    pub rcps: Option<Vec<OrgLevel>>,
    pub management_account: Option<String>,
    pub expect: Option<Expectation>,
    pub problems: Vec<PolicyProblem>,
}

/// The outcome of one case, as printed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CaseResult {
    pub id: String,
    pub decision: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    pub explanation: evaluate::Explanation,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policy_problems: Vec<PolicyProblem>,
}

const FIELDS: [&str; 16] = [
    "id",
    "principal",
    "action",
    "resource",
    "resource_account",
    "context",
    "identity_policies",
    "resource_policy",
    "resource_policy_type",
    "permissions_boundary",
    "session_policy",
    "scps",
    "rcps",
    "management_account",
    "now",
    "expect",
];

impl Case {
    /// Parses one case line. `default_id` names cases without an `id`;
    /// `now` is the request time when the case gives none.
    pub fn parse(line: &str, default_id: &str, now: Timestamp) -> Result<Case, CaseError> {
        let value: Value = serde_json::from_str(line)
            .map_err(|e| case_error("(line)", format!("not a JSON object: {e}")))?;
        let Value::Object(fields) = value else {
            return Err(case_error("(line)", "a case is a JSON object"));
        };
        if let Some(unknown) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(case_error(
                unknown,
                format!("unknown field; a case has {}", FIELDS.join(", ")),
            ));
        }
        let text = |name: &str| -> Result<Option<String>, CaseError> {
            match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(case_error(name, "must be a string")),
            }
        };
        let required = |name: &str| text(name)?.ok_or_else(|| case_error(name, "is required"));

        let principal = parse_principal(fields.get("principal"))?;
        let action = required("action")?;
        if action.is_empty() {
            return Err(case_error("action", "must not be empty"));
        }
        let resource = required("resource")?;
        let now = match text("now")? {
            Some(t) => Timestamp::parse(&t)
                .ok_or_else(|| case_error("now", format!("`{t}` is not an RFC 3339 time")))?,
            None => now,
        };
        let mut context = parse_context(fields.get("context"))?;
        context.derive_from_principal(&principal, now);

        let mut problems = Vec::new();
        let mut policy = |field: &str, value: &Value, ty: PolicyType| {
            let named = parse_policy(field, value)?;
            for e in validate(&named.policy, ty) {
                problems.push(problem(&named, &e));
            }
            Ok::<_, CaseError>(named)
        };
        let identity = match fields.get("identity_policies") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| policy(&format!("identity_policies[{i}]"), v, PolicyType::Identity))
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(case_error(
                    "identity_policies",
                    "must be an array of policies",
                ));
            }
        };
        let resource_kind = match text("resource_policy_type")?.as_deref() {
            Some("trust") => ResourcePolicyKind::Trust,
            Some("resource") => ResourcePolicyKind::Resource,
            Some("key") => ResourcePolicyKind::KeyPolicy,
            Some(other) => {
                return Err(case_error(
                    "resource_policy_type",
                    format!("`{other}` is not `trust`, `key` or `resource`"),
                ));
            }
            None if targets_role_trust(&action, &resource) => ResourcePolicyKind::Trust,
            None if resource.starts_with("arn:") && resource.split(':').nth(2) == Some("kms") => {
                ResourcePolicyKind::KeyPolicy
            }
            None => ResourcePolicyKind::Resource,
        };
        let resource_type = match resource_kind {
            ResourcePolicyKind::Trust => PolicyType::Trust,
            ResourcePolicyKind::Resource | ResourcePolicyKind::KeyPolicy => PolicyType::Resource,
        };
        let mut optional = |field: &str, ty: PolicyType| match fields.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => policy(field, v, ty).map(Some),
        };
        let resource_policy = optional("resource_policy", resource_type)?;
        let boundary = optional("permissions_boundary", PolicyType::PermissionsBoundary)?;
        let session = optional("session_policy", PolicyType::Session)?;
        let scps = parse_levels(fields.get("scps"), "scps", PolicyType::Scp, &mut problems)?;
        let rcps = parse_levels(fields.get("rcps"), "rcps", PolicyType::Rcp, &mut problems)?;
        let management_account = text("management_account")?;
        if let Some(m) = &management_account
            && !crate::principal::is_account_id(m)
        {
            return Err(case_error(
                "management_account",
                format!("`{m}` is not a 12-digit account id"),
            ));
        }
        let expect = match text("expect")?.as_deref() {
            None => None,
            Some("Allow") => Some(Expectation::Exactly(Verdict::Allow)),
            Some("ImplicitDeny") => Some(Expectation::Exactly(Verdict::ImplicitDeny)),
            Some("ExplicitDeny") => Some(Expectation::Exactly(Verdict::ExplicitDeny)),
            Some("Deny") => Some(Expectation::Deny),
            Some(other) => {
                return Err(case_error(
                    "expect",
                    format!("`{other}` is not Allow, ImplicitDeny, ExplicitDeny or Deny"),
                ));
            }
        };
        Ok(Case {
            id: text("id")?.unwrap_or_else(|| default_id.to_string()),
            principal,
            action,
            resource,
            resource_account: text("resource_account")?,
            context,
            identity,
            resource_policy,
            resource_kind,
            boundary,
            session,
            scps,
            rcps,
            management_account,
            expect,
            problems,
        })
    }

    pub fn evaluate(&self) -> Decision {
        let request = Request {
            principal: &self.principal,
            action: &self.action,
            resource: &self.resource,
            resource_account: self.resource_account.as_deref(),
            context: &self.context,
        };
        let policies = Policies {
            identity: &self.identity,
            resource: self.resource_policy.as_ref(),
            resource_kind: self.resource_kind,
            boundary: self.boundary.as_ref(),
            session: self.session.as_ref(),
            scps: self.scps.as_deref(),
            rcps: self.rcps.as_deref(),
            management_account: self.management_account.as_deref(),
        };
        evaluate::evaluate(&request, &policies)
    }

    pub fn run(self) -> CaseResult {
        let decision = self.evaluate();
        CaseResult {
            ok: self.expect.map(|e| e.holds(decision.decision)),
            id: self.id,
            decision: decision.decision,
            explanation: decision.explanation,
            policy_problems: self.problems,
        }
    }
}

/// Parses and runs one line.
pub fn run_case(line: &str, default_id: &str, now: Timestamp) -> Result<CaseResult, CaseError> {
    Case::parse(line, default_id, now).map(Case::run)
}

/// Whether the request is a role assumption decided by the role's trust policy.
fn targets_role_trust(action: &str, resource: &str) -> bool {
    let action = action.to_ascii_lowercase();
    let on_role = resource
        .split(':')
        .nth(5)
        .is_some_and(|r| r.starts_with("role/"));
    crate::validate::TRUST_ACTIONS.contains(&action.as_str()) && on_role
}

fn problem(named: &NamedPolicy, error: &PolicyError) -> PolicyProblem {
    let help = error
        .help
        .as_deref()
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    PolicyProblem {
        policy: named.name.to_string(),
        code: error.code.as_str(),
        message: format!("{}{help}", error.message),
    }
}

fn parse_principal(value: Option<&Value>) -> Result<Principal, CaseError> {
    let err = |m: String| case_error("principal", m);
    match value {
        None | Some(Value::Null) => Err(err("is required".into())),
        Some(Value::String(s)) if s == "anonymous" => Ok(Principal::Anonymous),
        Some(Value::String(s)) => Principal::from_arn(s).map_err(err),
        Some(Value::Object(map)) if map.len() == 1 => {
            let (key, v) = map.iter().next().ok_or_else(|| err("is empty".into()))?;
            let v = v
                .as_str()
                .ok_or_else(|| err(format!("`{key}` must be a string")))?
                .to_string();
            match key.as_str() {
                "Service" => Ok(Principal::Service(v)),
                "Federated" => Ok(Principal::Federated(v)),
                "CanonicalUser" => Ok(Principal::CanonicalUser(v)),
                "AWS" => Principal::from_arn(&v).map_err(err),
                other => Err(err(format!(
                    "`{other}` is not Service, Federated, CanonicalUser or AWS"
                ))),
            }
        }
        Some(_) => Err(err(
            "is an ARN, `anonymous`, or an object such as {\"Service\": \"...\"}".into(),
        )),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_context(value: Option<&Value>) -> Result<Context, CaseError> {
    let mut context = Context::default();
    let map = match value {
        None | Some(Value::Null) => return Ok(context),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(case_error("context", "must be an object of condition keys")),
    };
    for (key, v) in map {
        let field = format!("context.{key}");
        match v {
            Value::Array(items) => {
                let values = items
                    .iter()
                    .map(|i| {
                        scalar(i).ok_or_else(|| {
                            case_error(&field, "values are strings, numbers or booleans")
                        })
                    })
                    .collect::<Result<_, _>>()?;
                context.insert_multi(key, values);
            }
            other => {
                let value = scalar(other).ok_or_else(|| {
                    case_error(&field, "a value is a string, number, boolean or array")
                })?;
                context.insert(key, value);
            }
        }
    }
    Ok(context)
}

/// A policy document, or `{"name": ..., "document": ...}`.
fn parse_policy(field: &str, value: &Value) -> Result<NamedPolicy, CaseError> {
    let (name, document) = match value {
        Value::Object(map) if map.contains_key("document") => {
            let name = map.get("name").and_then(Value::as_str).unwrap_or(field);
            (
                name.to_string(),
                map.get("document").unwrap_or(&Value::Null),
            )
        }
        Value::Object(_) => (field.to_string(), value),
        _ => {
            return Err(case_error(
                field,
                "must be a policy document (a JSON object)",
            ));
        }
    };
    let source = serde_json::to_string(document).map_err(|e| case_error(field, e.to_string()))?;
    let policy = Policy::parse(&source).map_err(|errors| {
        let messages: Vec<String> = errors
            .iter()
            .map(|e| match &e.help {
                Some(help) => format!("{} ({help})", e.message),
                None => e.message.clone(),
            })
            .collect();
        case_error(field, messages.join("; "))
    })?;
    Ok(NamedPolicy::new(&name, policy))
}

fn parse_levels(
    value: Option<&Value>,
    field: &str,
    ty: PolicyType,
    problems: &mut Vec<PolicyProblem>,
) -> Result<Option<Vec<OrgLevel>>, CaseError> {
    let levels = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(levels)) => levels,
        Some(_) => {
            return Err(case_error(
                field,
                "must be an array of levels (arrays of policies)",
            ));
        }
    };
    let count = levels.len();
    let mut out = Vec::with_capacity(count);
    for (i, level) in levels.iter().enumerate() {
        let default_name = match i {
            0 => "root".to_string(),
            _ if i + 1 == count => "account".to_string(),
            _ => format!("OU level {i}"),
        };
        let (name, items) = match level {
            Value::Array(items) => (default_name, items),
            Value::Object(map) => match (map.get("name"), map.get("policies")) {
                (Some(Value::String(name)), Some(Value::Array(items))) => (name.clone(), items),
                _ => {
                    return Err(case_error(
                        &format!("{field}[{i}]"),
                        "a named level is {\"name\": \"OU Workloads\", \"policies\": [...]}",
                    ));
                }
            },
            _ => {
                return Err(case_error(
                    &format!("{field}[{i}]"),
                    "a level is an array of policies, or {\"name\": ..., \"policies\": [...]}",
                ));
            }
        };
        let mut policies = Vec::with_capacity(items.len());
        for (j, item) in items.iter().enumerate() {
            let named = parse_policy(&format!("{field}[{i}][{j}]"), item)?;
            for e in validate(&named.policy, ty) {
                problems.push(problem(&named, &e));
            }
            policies.push(named);
        }
        out.push(OrgLevel {
            name: name.into(),
            policies,
        });
    }
    Ok(Some(out))
}
