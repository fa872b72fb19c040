//! Authorization: every policy type that decides a request, combined as IAM
//! combines them, with the reasons.
//!
//! The order follows IAM's evaluation logic:
//!
//! 1. An explicit `Deny` in any applicable policy decides: SCPs of the
//!    principal's account, RCPs of the resource's account, the resource-based
//!    policy, identity policies, the permissions boundary, the session policy.
//! 2. SCPs: every level from the root through each OU to the account needs an
//!    allow. They govern IAM identities of member accounts, not the
//!    management account and not AWS service principals.
//! 3. RCPs: `RCPFullAWSAccess` is attached at every level and cannot be
//!    detached, so only their denies count. They govern resources outside the
//!    management account, for every caller, AWS service principals included
//!    (the confused-deputy perimeter rests on that).
//! 4. Within one account (except for a role's trust policy, see 5), an
//!    allow from the identity side (identity policy,
//!    and the boundary and session policy where present) suffices; so does a
//!    resource policy that names the caller's own ARN (not limited by the
//!    boundary or session policy), or that names the session's role or `*`
//!    (limited by them). A resource policy that names the account only
//!    delegates to the identity side.
//! 5. Across accounts, both sides must allow: the identity side, and the
//!    resource policy naming the caller, its role, its account or `*`. A
//!    role's trust policy (and a KMS key policy) must allow in the same
//!    account too: there is no implicit trust of the role's own account. STS
//!    refuses `AssumeRole` to the account root user.
//! 6. Service principals, web-identity providers and anonymous callers have
//!    no identity side: the resource policy alone decides.
//!
//! A statement whose conditions cannot be evaluated never fails open: an
//! `Allow` statement then does not apply and a `Deny` statement does, and the
//! decision lists the error.

use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeStruct;

use crate::condition::EvalError;
use crate::context::Context;
use crate::policy::{Effect, MatchBlock, Policy, PrincipalBlock, Statement};
use crate::principal::{Principal, PrincipalEntry, PrincipalMatch};

/// A policy and the name it goes by in explanations. The policy is shared,
/// so handing a stored policy to the engine copies no statement.
#[derive(Clone, Debug)]
pub struct NamedPolicy {
    pub name: Arc<str>,
    pub policy: Arc<Policy>,
}

impl NamedPolicy {
    pub fn new(name: &str, policy: Policy) -> Self {
        Self::shared(name, Arc::new(policy))
    }

    pub fn shared(name: &str, policy: Arc<Policy>) -> Self {
        NamedPolicy {
            name: Arc::from(name),
            policy,
        }
    }
}

/// The SCPs or RCPs attached to one level of the organization.
#[derive(Clone, Debug)]
pub struct OrgLevel {
    /// `root`, `OU Workloads`, `account 444455556666`.
    pub name: Arc<str>,
    pub policies: Vec<NamedPolicy>,
}

/// The kind of resource-based policy: a role's trust policy and a KMS key
/// policy must allow even callers in their own account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ResourcePolicyKind {
    #[default]
    Resource,
    Trust,
    KeyPolicy,
}

/// Everything that may decide one request.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policies<'a> {
    pub identity: &'a [NamedPolicy],
    pub resource: Option<&'a NamedPolicy>,
    pub resource_kind: ResourcePolicyKind,
    pub boundary: Option<&'a NamedPolicy>,
    pub session: Option<&'a NamedPolicy>,
    /// SCP levels, root first; `None` when the account is not in an
    /// organization that uses SCPs.
    pub scps: Option<&'a [OrgLevel]>,
    pub rcps: Option<&'a [OrgLevel]>,
    pub management_account: Option<&'a str>,
}

/// One request to authorize.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub principal: &'a Principal,
    /// `service:Action`, in any case.
    pub action: &'a str,
    /// The resource ARN, or `*`.
    pub resource: &'a str,
    /// The resource's account when its ARN has none (S3 buckets).
    pub resource_account: Option<&'a str>,
    pub context: &'a Context,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Verdict {
    Allow,
    ImplicitDeny,
    ExplicitDeny,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Allow => "Allow",
            Verdict::ImplicitDeny => "ImplicitDeny",
            Verdict::ExplicitDeny => "ExplicitDeny",
        })
    }
}

/// Which kind of policy a statement came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySource {
    Identity,
    Resource(ResourcePolicyKind),
    Boundary,
    Session,
    Scp { level: Arc<str> },
    Rcp { level: Arc<str> },
}

/// A statement that matched the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementRef {
    pub source: PolicySource,
    pub policy: Arc<str>,
    pub sid: Option<Arc<str>>,
    pub index: usize,
}

impl StatementRef {
    /// `identity policy ReadPayroll`, `SCP FullAWSAccess at root`.
    pub fn policy_label(&self) -> String {
        let name = &self.policy;
        match &self.source {
            PolicySource::Identity => format!("identity policy {name}"),
            PolicySource::Resource(ResourcePolicyKind::Trust) => format!("trust policy {name}"),
            PolicySource::Resource(ResourcePolicyKind::Resource) => {
                format!("resource-based policy {name}")
            }
            PolicySource::Resource(ResourcePolicyKind::KeyPolicy) => format!("key policy {name}"),
            PolicySource::Boundary => format!("permissions boundary {name}"),
            PolicySource::Session => format!("session policy {name}"),
            PolicySource::Scp { level } => format!("SCP {name} at {level}"),
            PolicySource::Rcp { level } => format!("RCP {name} at {level}"),
        }
    }
}

impl serde::Serialize for StatementRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("StatementRef", 3)?;
        s.serialize_field("policy", &self.policy_label())?;
        s.serialize_field("sid", &self.sid.as_deref())?;
        s.serialize_field("index", &self.index)?;
        s.end()
    }
}

/// Why the decision is what it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    /// Allow statements that matched, in every policy type.
    pub allowed_by: Vec<StatementRef>,
    /// Deny statements that matched.
    pub denied_by: Vec<StatementRef>,
    /// For an implicit deny: each policy type that had no allow.
    pub missing_allow: Vec<String>,
    /// What could not be evaluated, and how it was treated.
    pub errors: Vec<String>,
}

/// The answer to a request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    pub decision: Verdict,
    pub explanation: Explanation,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.decision == Verdict::Allow
    }
}

/// Decides `request` under `policies`.
pub fn evaluate(request: &Request<'_>, policies: &Policies<'_>) -> Decision {
    let mut scan = Scan {
        request,
        explanation: Explanation::default(),
        has_boundary: policies.boundary.is_some(),
    };
    let principal = request.principal;
    let principal_account = principal.account();
    let resource_account = request
        .resource_account
        .or_else(|| arn_account(request.resource));
    let in_management = |account: Option<&str>| {
        account.is_some()
            && policies.management_account.is_some()
            && account == policies.management_account
    };

    let mut missing = Vec::new();
    let scp_levels = policies
        .scps
        .filter(|_| principal.is_iam_identity() && !in_management(principal_account));
    for level in scp_levels.unwrap_or_default() {
        let source = PolicySource::Scp {
            level: level.name.clone(),
        };
        let mut allowed = false;
        for policy in &level.policies {
            allowed |= scan.policy(policy, &source, false);
        }
        if !allowed {
            missing.push(format!("SCP at {} has no allow", level.name));
        }
    }
    let rcp_levels = policies.rcps.filter(|_| !in_management(resource_account));
    for level in rcp_levels.unwrap_or_default() {
        let source = PolicySource::Rcp {
            level: level.name.clone(),
        };
        for policy in &level.policies {
            scan.deny_only(policy, &source);
        }
    }
    if matches!(principal, Principal::Root { .. })
        && request.action.eq_ignore_ascii_case("sts:AssumeRole")
    {
        missing
            .push("STS refuses `AssumeRole` with the account root user's credentials".to_string());
    }
    let resource_match = policies.resource.and_then(|policy| {
        scan.resource_policy(policy, &PolicySource::Resource(policies.resource_kind))
    });
    let identity_side = principal.is_iam_identity().then(|| {
        let mut identity = matches!(principal, Principal::Root { .. });
        for policy in policies.identity {
            identity |= scan.policy(policy, &PolicySource::Identity, false);
        }
        let boundary = policies
            .boundary
            .map(|p| scan.policy(p, &PolicySource::Boundary, false));
        let session = policies
            .session
            .map(|p| scan.policy(p, &PolicySource::Session, false));
        IdentitySide {
            identity,
            boundary,
            session,
        }
    });

    let mut explanation = scan.explanation;
    if !explanation.denied_by.is_empty() {
        return Decision {
            decision: Verdict::ExplicitDeny,
            explanation,
        };
    }
    explanation.missing_allow = missing;
    let kind_noun = match policies.resource_kind {
        ResourcePolicyKind::Trust => "the trust policy",
        ResourcePolicyKind::Resource => "the resource-based policy",
        ResourcePolicyKind::KeyPolicy => "the key policy",
    };
    // Named, so that a denial says whose trust policy refused.
    let resource_noun = match policies.resource {
        Some(policy) if !policy.name.is_empty() => format!("{kind_noun} `{}`", policy.name),
        _ => kind_noun.to_string(),
    };
    let allowed = match identity_side {
        None => {
            if resource_match.is_none() {
                explanation.missing_allow.push(match policies.resource {
                    Some(_) => format!("no statement in {resource_noun} allows `{principal}`"),
                    None => format!("`{principal}` has no identity policies and there is no resource-based policy"),
                });
            }
            resource_match.is_some()
        }
        Some(side) => {
            let same_account = principal_account.is_some() && principal_account == resource_account;
            let side_allows = side.allows();
            let resource_grants = match resource_match {
                _ if !same_account => false,
                Some(PrincipalMatch::Exact) => true,
                Some(PrincipalMatch::RoleOfSession | PrincipalMatch::Any) => {
                    side.boundary != Some(false) && side.session != Some(false)
                }
                Some(PrincipalMatch::Account) | None => false,
            };
            // A trust policy and a KMS key policy must allow even within the
            // account; a key policy naming the account enables IAM policies.
            let trust = policies.resource_kind != ResourcePolicyKind::Resource;
            let allowed = if same_account && trust {
                resource_match.is_some() && (side_allows || resource_grants)
            } else if same_account {
                side_allows || resource_grants
            } else {
                side_allows && resource_match.is_some()
            };
            if !allowed {
                side.explain_missing(&mut explanation.missing_allow);
                if !same_account && resource_match.is_none() {
                    explanation.missing_allow.push(match policies.resource {
                        Some(_) => format!(
                            "no statement in {resource_noun} allows `{principal}`; access from \
                             another account needs an allow on both sides"
                        ),
                        None => "the resource is in another account and has no resource-based \
                                 policy; access from another account needs an allow on both sides"
                            .to_string(),
                    });
                }
                if same_account && trust && resource_match.is_none() {
                    explanation.missing_allow.push(format!(
                        "no statement in {resource_noun} allows `{principal}`; it must allow \
                         every caller, even one in its own account"
                    ));
                }
                if same_account && resource_match == Some(PrincipalMatch::Account) && !side_allows {
                    explanation.missing_allow.push(format!(
                        "{resource_noun} names the account, which only delegates to the identity side"
                    ));
                }
            }
            allowed
        }
    };
    let decision = if allowed && explanation.missing_allow.is_empty() {
        Verdict::Allow
    } else {
        Verdict::ImplicitDeny
    };
    Decision {
        decision,
        explanation,
    }
}

/// The principal's own side of the decision.
#[derive(Clone, Copy)]
struct IdentitySide {
    identity: bool,
    boundary: Option<bool>,
    session: Option<bool>,
}

impl IdentitySide {
    fn allows(self) -> bool {
        self.identity && self.boundary != Some(false) && self.session != Some(false)
    }

    fn explain_missing(self, out: &mut Vec<String>) {
        if !self.identity {
            out.push("no statement in the identity policies allows".to_string());
        }
        if self.boundary == Some(false) {
            out.push("no statement in the permissions boundary allows".to_string());
        }
        if self.session == Some(false) {
            out.push("no statement in the session policy allows".to_string());
        }
    }
}

/// The account segment of an ARN, when it has one.
pub fn arn_account(arn: &str) -> Option<&str> {
    let account = arn.strip_prefix("arn:")?.split(':').nth(3)?;
    (!account.is_empty()).then_some(account)
}

struct Scan<'r> {
    request: &'r Request<'r>,
    explanation: Explanation,
    /// A `NotPrincipal` deny exempts no principal that has a boundary.
    has_boundary: bool,
}

/// How one statement relates to the request.
enum Applies {
    No,
    Yes(Option<PrincipalMatch>),
    Unknown(EvalError),
}

impl Scan<'_> {
    /// Scans a policy without principal checks; true when an allow matched.
    fn policy(&mut self, policy: &NamedPolicy, source: &PolicySource, deny_only: bool) -> bool {
        let mut allowed = false;
        for statement in &policy.policy.statements {
            let applies = self.applies(statement, None, source);
            allowed |= self
                .record(policy, source, statement, applies, deny_only)
                .is_some();
        }
        allowed
    }

    fn deny_only(&mut self, policy: &NamedPolicy, source: &PolicySource) {
        for statement in &policy.policy.statements {
            let applies = self.applies(statement, statement.principal.as_ref(), source);
            self.record(policy, source, statement, applies, true);
        }
    }

    /// Scans a resource-based policy; the strongest way an allow named the
    /// caller.
    fn resource_policy(
        &mut self,
        policy: &NamedPolicy,
        source: &PolicySource,
    ) -> Option<PrincipalMatch> {
        let mut best = None;
        for statement in &policy.policy.statements {
            let block = statement.principal.as_ref();
            let applies = match block {
                Some(_) => self.applies(statement, block, source),
                None => Applies::Unknown(EvalError(
                    "the statement has no `Principal`, which a resource-based policy needs".into(),
                )),
            };
            if let Some(m) = self.record(policy, source, statement, applies, false) {
                best = best.max(Some(m));
            }
        }
        best
    }

    /// Adds a matching statement to the explanation; returns the principal
    /// match of an applying allow.
    fn record(
        &mut self,
        policy: &NamedPolicy,
        source: &PolicySource,
        statement: &Statement,
        applies: Applies,
        deny_only: bool,
    ) -> Option<PrincipalMatch> {
        let reference = || StatementRef {
            source: source.clone(),
            policy: policy.name.clone(),
            sid: statement.sid.clone(),
            index: statement.index,
        };
        match (statement.effect, applies) {
            (_, Applies::No) => None,
            (Effect::Deny, Applies::Yes(_)) => {
                self.explanation.denied_by.push(reference());
                None
            }
            (Effect::Allow, Applies::Yes(_)) if deny_only => None,
            (Effect::Allow, Applies::Yes(m)) => {
                self.explanation.allowed_by.push(reference());
                Some(m.unwrap_or(PrincipalMatch::Exact))
            }
            (effect, Applies::Unknown(error)) => {
                let r = reference();
                let treated = match effect {
                    Effect::Allow => "the Allow statement is not applied",
                    Effect::Deny => "the Deny statement is applied",
                };
                self.explanation.errors.push(format!(
                    "{} statement {}{}: {}; {treated}",
                    r.policy_label(),
                    r.index,
                    r.sid
                        .as_deref()
                        .map(|s| format!(" (Sid `{s}`)"))
                        .unwrap_or_default(),
                    error.0
                ));
                if effect == Effect::Deny {
                    self.explanation.denied_by.push(r);
                }
                None
            }
        }
    }

    fn applies(
        &self,
        statement: &Statement,
        principal: Option<&PrincipalBlock>,
        source: &PolicySource,
    ) -> Applies {
        let request = self.request;
        let Some(action) = &statement.action else {
            return Applies::No;
        };
        if !block_matches(action, |p| p.matches(request.action, request.context, true)) {
            return Applies::No;
        }
        match &statement.resource {
            Some(resource) => {
                if !block_matches(resource, |p| {
                    p.is_any() || p.matches_arn(request.resource, request.context)
                }) {
                    return Applies::No;
                }
            }
            // A trust policy has no `Resource`: it applies to its role.
            None if matches!(source, PolicySource::Resource(ResourcePolicyKind::Trust)) => {}
            None => {
                return Applies::Unknown(EvalError(
                    "the statement has no `Resource` or `NotResource`".into(),
                ));
            }
        }
        let principal_match = match principal {
            None => None,
            Some(block) => match principal_applies(
                block,
                request.principal,
                statement.effect,
                self.has_boundary,
            ) {
                Ok(Some(m)) => Some(m),
                Ok(None) => return Applies::No,
                Err(e) => return Applies::Unknown(e),
            },
        };
        for condition in &statement.conditions {
            match condition.value.evaluate(request.context) {
                Ok(true) => {}
                Ok(false) => return Applies::No,
                Err(e) => {
                    let c = &condition.value;
                    return Applies::Unknown(EvalError(format!(
                        "condition `{}` on `{}`: {}",
                        c.operator.name, c.key, e.0
                    )));
                }
            }
        }
        Applies::Yes(principal_match)
    }
}

fn block_matches(block: &MatchBlock, matches: impl Fn(&crate::pattern::Pattern) -> bool) -> bool {
    block.patterns.iter().any(matches) != block.negated
}

/// How a `Principal`/`NotPrincipal` block applies to the caller.
///
/// `NotPrincipal` with `Deny` exempts a caller only when it lists both the
/// caller's own ARN and its account, as IAM's documentation instructs; a role
/// ARN does not exempt the role's sessions, and a caller with a permissions
/// boundary is never exempt. `NotPrincipal` with `Allow` applies to everyone
/// the block would not match as a `Principal`.
fn principal_applies(
    block: &PrincipalBlock,
    caller: &Principal,
    effect: Effect,
    has_boundary: bool,
) -> Result<Option<PrincipalMatch>, EvalError> {
    let invalid = block.entries.iter().find_map(|e| match &e.value {
        PrincipalEntry::Invalid { value, reason } => {
            Some(EvalError(format!("invalid principal `{value}`: {reason}")))
        }
        _ => None,
    });
    if !block.negated {
        let best = block
            .entries
            .iter()
            .filter_map(|e| e.value.matches(caller))
            .max();
        return match (best, invalid) {
            (Some(m), _) => Ok(Some(m)),
            (None, Some(e)) => Err(e),
            (None, None) => Ok(None),
        };
    }
    if let Some(e) = invalid {
        return Err(e);
    }
    let exempt = match effect {
        Effect::Deny => {
            let own = block.entries.iter().any(|e| e.value.names_exactly(caller));
            let account = match caller.account() {
                Some(account) => block
                    .entries
                    .iter()
                    .any(|e| matches!(&e.value, PrincipalEntry::Account(a) if a == account)),
                None => true,
            };
            own && account && !has_boundary
        }
        Effect::Allow => block
            .entries
            .iter()
            .any(|e| e.value.matches(caller).is_some()),
    };
    Ok((!exempt).then_some(PrincipalMatch::Any))
}
