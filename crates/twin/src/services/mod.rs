//! The services the twin answers, one module each.

pub mod ec2;
pub mod eks;
pub mod eks_auth;
pub mod iam;
pub mod organizations;
pub mod ram;
pub mod s3;
pub mod sts;

use orgtwin_identity::{Authorization, Caller};

use crate::reply::ServiceError;
use crate::state::Twin;

/// The request a handler sees: who, and the request id.
pub struct Call<'a> {
    pub twin: &'a Twin,
    pub caller: &'a Caller,
    pub request_id: &'a str,
}

impl Call<'_> {
    /// `AccessDenied` for a denied decision, with AWS's message and an encoded
    /// authorization message that `sts:DecodeAuthorizationMessage` reads.
    pub fn access_denied(&self, authorizations: &[Authorization], message: &str) -> ServiceError {
        access_denied(self.twin, authorizations, message)
    }
    /// Authorizes one action against the caller's policies (no resource
    /// policy); records the decision.
    pub fn authorize(&self, action: &str, resource: &str) -> Result<Authorization, ServiceError> {
        self.authorize_with(action, resource, &orgtwin_policy::Context::default())
    }

    /// Like [`Call::authorize`], with the keys the request sets
    /// (`aws:RequestTag/...`, `aws:TagKeys`, `iam:PermissionsBoundary`, ...).
    pub fn authorize_with(
        &self,
        action: &str,
        resource: &str,
        context: &orgtwin_policy::Context,
    ) -> Result<Authorization, ServiceError> {
        self.decide(&orgtwin_identity::Ask::new(action, resource, context))
    }

    /// Decides `ask` for the caller, records the decision in the trail, and
    /// turns a denial into AWS's `AccessDenied` with the reason and an
    /// encoded authorization message.
    pub fn decide(&self, ask: &orgtwin_identity::Ask<'_>) -> Result<Authorization, ServiceError> {
        let model = self.twin.model();
        let authorization = orgtwin_identity::authorize(&model, self.caller, ask, self.twin.now());
        self.twin
            .record(self.request_id, std::slice::from_ref(&authorization));
        if authorization.allowed() {
            Ok(authorization)
        } else {
            let message = format!(
                "User: {} is not authorized to perform: {} on resource: {}{}",
                self.caller.arn(),
                ask.action,
                ask.resource,
                denial_suffix(&authorization)
            );
            Err(self.access_denied(std::slice::from_ref(&authorization), &message))
        }
    }
}

/// A denial as the REST-JSON services (EKS, EKS Auth) name it:
/// `AccessDeniedException`; other errors pass unchanged.
pub fn as_access_denied_exception(mut e: ServiceError) -> ServiceError {
    if e.code == "AccessDenied" {
        e.code = "AccessDeniedException".into();
    }
    e
}

/// `AccessDenied` with an encoded authorization message.
pub fn access_denied(twin: &Twin, authorizations: &[Authorization], message: &str) -> ServiceError {
    let encoded = crate::authmsg::encode(&twin.message_key, &decoded_message(authorizations));
    ServiceError::new(
        403,
        "AccessDenied",
        format!("{message} Encoded authorization failure message: {encoded}"),
    )
}

/// AWS adds why, when a policy denied explicitly or an SCP/boundary lacked an
/// allow.
fn denial_suffix(authorization: &Authorization) -> String {
    let e = &authorization.decision.explanation;
    if let Some(deny) = e.denied_by.first() {
        let kind = match deny.source {
            orgtwin_policy::PolicySource::Scp { .. } => "a service control policy",
            orgtwin_policy::PolicySource::Rcp { .. } => "a resource control policy",
            orgtwin_policy::PolicySource::Boundary => "a permissions boundary",
            orgtwin_policy::PolicySource::Session => "a session policy",
            orgtwin_policy::PolicySource::Resource(_) => "a resource-based policy",
            orgtwin_policy::PolicySource::Identity => "an identity-based policy",
        };
        return format!(" with an explicit deny in {kind}");
    }
    if e.missing_allow.iter().any(|m| m.starts_with("SCP")) {
        return " because no service control policy allows the action".into();
    }
    if e.missing_allow
        .iter()
        .any(|m| m.contains("permissions boundary"))
    {
        return " because no permissions boundary allows the action".into();
    }
    if e.missing_allow.iter().any(|m| m.contains("session policy")) {
        return " because no session policy allows the action".into();
    }
    " because no identity-based policy allows the action".into()
}

/// The decoded form of an authorization message: AWS's fields (`allowed`,
/// `explicitDeny`, `matchedStatements`, `context`) plus the engine's
/// explanation of each decision.
pub fn decoded_message(authorizations: &[Authorization]) -> String {
    let decisions: Vec<serde_json::Value> = authorizations
        .iter()
        .map(|a| {
            serde_json::json!({
                "allowed": a.allowed(),
                "explicitDeny": a.decision.decision == orgtwin_policy::Verdict::ExplicitDeny,
                "decision": a.decision.decision,
                "matchedStatements": {"items": a.decision.explanation.denied_by.iter().chain(&a.decision.explanation.allowed_by).collect::<Vec<_>>()},
                "explanation": a.decision.explanation,
                "context": {"principal": {"arn": a.caller_arn}, "action": a.action, "resource": a.resource},
            })
        })
        .collect();
    let last = decisions.last().cloned().unwrap_or(serde_json::Value::Null);
    let mut message = match last {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    message.insert("decisions".into(), serde_json::Value::Array(decisions));
    serde_json::Value::Object(message).to_string()
}

/// Where a page starts: `0` without a token; for a token `KIND:N` (as the
/// twin's list operations give them) `N`, when it is within `len`; `None`
/// for any other token, which the service refuses with its own error.
pub fn page_start(token: Option<&str>, kind: &str, len: usize) -> Option<usize> {
    let Some(token) = token else { return Some(0) };
    token
        .strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix(':'))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n <= len)
}
