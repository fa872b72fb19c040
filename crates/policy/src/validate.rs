//! What IAM (and Organizations) require of each policy type, beyond shape.
//!
//! Messages are IAM's own where IAM has one for the mistake (`Policy
//! statement must contain actions.`); the `help` adds what IAM leaves out.
//! Every problem is reported, not only the first.

use std::fmt;
use std::str::FromStr;

use crate::error::{ErrorCode, PolicyError};
use crate::json::Span;
use crate::policy::{Effect, Policy, Statement, Version};
use crate::principal::{PrincipalEntry, is_partition};

/// The kinds of policy IAM and Organizations store, each with its own rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyType {
    /// Attached to a user, group or role (inline or managed).
    Identity,
    /// Attached to a resource: an S3 bucket policy, a KMS key policy.
    Resource,
    /// A role's trust policy (`AssumeRolePolicyDocument`).
    Trust,
    Scp,
    Rcp,
    /// Passed to `AssumeRole`, `AssumeRoleWithWebIdentity`, `GetFederationToken`.
    Session,
    PermissionsBoundary,
}

impl PolicyType {
    pub const ALL: [PolicyType; 7] = [
        PolicyType::Identity,
        PolicyType::Resource,
        PolicyType::Trust,
        PolicyType::Scp,
        PolicyType::Rcp,
        PolicyType::Session,
        PolicyType::PermissionsBoundary,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity",
            PolicyType::Resource => "resource",
            PolicyType::Trust => "trust",
            PolicyType::Scp => "scp",
            PolicyType::Rcp => "rcp",
            PolicyType::Session => "session",
            PolicyType::PermissionsBoundary => "permissions-boundary",
        }
    }

    /// The size quota in non-whitespace characters, and how IAM names it.
    fn size_limit(self) -> (usize, &'static str) {
        match self {
            PolicyType::Identity | PolicyType::PermissionsBoundary => {
                (6_144, "Cannot exceed quota for PolicySize: 6144")
            }
            PolicyType::Trust => (2_048, "Cannot exceed quota for ACLSizePerRole: 2048"),
            PolicyType::Scp | PolicyType::Rcp => (
                5_120,
                "Policy document exceeds the maximum size of 5120 characters",
            ),
            PolicyType::Session => (2_048, "Session policy exceeds the 2048 character limit"),
            PolicyType::Resource => (20_480, "Policies must be less than 20 KB"),
        }
    }

    fn requires_principal(self) -> bool {
        matches!(
            self,
            PolicyType::Resource | PolicyType::Trust | PolicyType::Rcp
        )
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PolicyType {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let wanted = text.to_ascii_lowercase().replace('_', "-");
        let alias = match wanted.as_str() {
            "boundary" => "permissions-boundary",
            "resource-based" => "resource",
            "assume-role" => "trust",
            other => other,
        };
        PolicyType::ALL
            .into_iter()
            .find(|t| t.name() == alias)
            .ok_or_else(|| {
                let names: Vec<_> = PolicyType::ALL.iter().map(|t| t.name()).collect();
                format!(
                    "`{text}` is not a policy type; use one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Actions a trust policy may name (lower case).
pub(crate) const TRUST_ACTIONS: [&str; 6] = [
    "sts:assumerole",
    "sts:assumerolewithwebidentity",
    "sts:assumerolewithsaml",
    "sts:tagsession",
    "sts:setsourceidentity",
    "sts:setcontext",
];

/// Services whose actions an RCP may restrict.
const RCP_SERVICES: [&str; 10] = [
    "s3",
    "sts",
    "sqs",
    "kms",
    "secretsmanager",
    "dynamodb",
    "ecr",
    "aoss",
    "logs",
    "cognito-identity",
];

/// Parses and validates `source` as a `policy_type` policy: every problem IAM
/// would refuse it for.
pub fn validate_source(source: &str, policy_type: PolicyType) -> Vec<PolicyError> {
    match Policy::parse(source) {
        Ok(policy) => validate(&policy, policy_type),
        Err(errors) => errors,
    }
}

/// Validates a parsed policy as a `policy_type` policy.
pub fn validate(policy: &Policy, policy_type: PolicyType) -> Vec<PolicyError> {
    let mut errors = Vec::new();
    let (limit, message) = policy_type.size_limit();
    if policy.size > limit {
        errors.push(PolicyError::limit(message, policy.span).with_help(format!(
            "the document has {} characters that are not whitespace; the {policy_type} policy \
             quota is {limit}",
            policy.size
        )));
    }
    if policy.version == Version::V2008_10_17 && policy.uses_variables() {
        let span = policy.version_span.unwrap_or(policy.span);
        errors.push(
            PolicyError::malformed("Policy variables require Version 2012-10-17.", span)
                .with_help("under `2008-10-17` (or no `Version`) a `${...}` is literal text; set `\"Version\": \"2012-10-17\"`"),
        );
    }
    for (i, statement) in policy.statements.iter().enumerate() {
        check_statement(statement, policy_type, &mut errors);
        if let (Some(sid), Some(span)) = (&statement.sid, statement.sid_span)
            && policy
                .statements
                .iter()
                .take(i)
                .any(|earlier| earlier.sid.as_ref() == Some(sid))
        {
            errors.push(
                PolicyError::malformed(
                    "Statement IDs (SID) in a single policy must be unique.",
                    span,
                )
                .with_help(format!("`{sid}` is used by an earlier statement")),
            );
        }
    }
    errors
}

fn check_statement(statement: &Statement, policy_type: PolicyType, errors: &mut Vec<PolicyError>) {
    let at = statement.span;
    if let (Some(sid), Some(span)) = (&statement.sid, statement.sid_span)
        && policy_type != PolicyType::Resource
        && !sid.chars().all(|c| c.is_ascii_alphanumeric())
    {
        errors.push(
            PolicyError::malformed("Statement IDs (SID) must be alpha-numeric.", span)
                .with_help("IAM takes `[0-9A-Za-z]*` as a Sid"),
        );
    }
    check_actions(statement, policy_type, errors);
    check_resources(statement, policy_type, errors);
    check_principal(statement, policy_type, errors);
    for condition in &statement.conditions {
        let c = &condition.value;
        if c.operator.base.is_none() {
            errors.push(
                PolicyError::malformed(format!("Invalid Condition type : {}.", c.operator.name), condition.span)
                    .with_help("condition operators are names such as `StringEquals`, with an optional `ForAllValues:`/`ForAnyValue:` prefix and `IfExists` suffix; the names are case-sensitive"),
            );
        } else if let Err(reason) = &c.values {
            errors.push(
                PolicyError::malformed(
                    format!(
                        "Invalid value for condition key {} under {}.",
                        c.key, c.operator.name
                    ),
                    condition.span,
                )
                .with_help(reason.clone()),
            );
        }
        if !has_vendor(&c.key) {
            errors.push(
                PolicyError::malformed(
                    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
                    condition.span,
                )
                .with_help(format!(
                    "`{}` is not a condition key such as `aws:SourceIp`",
                    c.key
                )),
            );
        }
    }
    if policy_type == PolicyType::Rcp
        && statement.effect == Effect::Allow
        && !is_full_access(statement)
    {
        errors.push(
            PolicyError::malformed("RCPs support only Deny statements.", at).with_help(
                "an RCP cannot grant: `RCPFullAWSAccess` (Allow `*` on `*` to `*`) is the only allow; write `\"Effect\": \"Deny\"`",
            ),
        );
    }
}

fn check_actions(statement: &Statement, policy_type: PolicyType, errors: &mut Vec<PolicyError>) {
    let Some(action) = statement.action.as_ref().filter(|a| !a.items.is_empty()) else {
        let span = statement
            .action
            .as_ref()
            .map_or(statement.span, |a| a.key_span);
        errors.push(PolicyError::malformed(
            "Policy statement must contain actions.",
            span,
        ));
        return;
    };
    for item in &action.items {
        let text = item.value.as_str();
        if text == "*" {
            continue;
        }
        let Some((vendor, name)) = text.split_once(':') else {
            errors.push(
                PolicyError::malformed(
                    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
                    item.span,
                )
                .with_help(format!("write the action as `service:{text}`")),
            );
            continue;
        };
        let vendor_ok = !vendor.is_empty()
            && vendor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*' || b == b'?');
        let name_ok = !name.is_empty()
            && name.bytes().all(|b| {
                b.is_ascii_alphanumeric() || b == b'*' || b == b'?' || b == b'-' || b == b'_'
            });
        if !vendor_ok || !name_ok {
            errors.push(
                PolicyError::malformed(format!("Action {text} is not valid."), item.span)
                    .with_help("an action is `service:Name`, with `*` and `?` as wildcards"),
            );
            continue;
        }
        let lower = text.to_ascii_lowercase();
        if policy_type == PolicyType::Trust && !action.negated && !trust_action(&lower) {
            errors.push(
                PolicyError::malformed("AssumeRole policy may only specify STS AssumeRole actions.", item.span)
                    .with_help(format!("`{text}` is not an action a trust policy can allow; use `sts:AssumeRole`, `sts:AssumeRoleWithWebIdentity`, `sts:AssumeRoleWithSAML`, `sts:TagSession`, `sts:SetSourceIdentity` or `sts:SetContext`")),
            );
        }
        if policy_type == PolicyType::Rcp
            && !vendor.contains('*')
            && !RCP_SERVICES.contains(&vendor)
        {
            errors.push(
                PolicyError::malformed(
                    format!("RCPs do not support the service {vendor}."),
                    item.span,
                )
                .with_help(format!("RCPs apply to {}", RCP_SERVICES.join(", "))),
            );
        }
    }
}

fn trust_action(lower: &str) -> bool {
    let Ok(pattern) = crate::pattern::Pattern::parse(lower, crate::pattern::Wildcards::On, false)
    else {
        return false;
    };
    let context = crate::context::Context::default();
    TRUST_ACTIONS
        .iter()
        .any(|a| pattern.matches(a, &context, true))
}

fn check_resources(statement: &Statement, policy_type: PolicyType, errors: &mut Vec<PolicyError>) {
    match (&statement.resource, policy_type) {
        (Some(resource), PolicyType::Trust) => {
            errors.push(
                PolicyError::malformed(
                    format!(
                        "Has prohibited field {}.",
                        if resource.negated {
                            "NotResource"
                        } else {
                            "Resource"
                        }
                    ),
                    resource.key_span,
                )
                .with_help("a trust policy applies to its own role and names no resource"),
            );
        }
        (None, PolicyType::Trust) => {}
        (None, _) => errors.push(PolicyError::malformed(
            "Policy statement must contain resources.",
            statement.span,
        )),
        (Some(resource), _) if resource.items.is_empty() => {
            errors.push(PolicyError::malformed(
                "Policy statement must contain resources.",
                resource.key_span,
            ));
        }
        (Some(resource), _) => {
            for item in &resource.items {
                if let Some(reason) = arn_problem(&item.value) {
                    errors.push(
                        PolicyError::malformed(
                            format!("Resource {} must be in ARN format or \"*\".", item.value),
                            item.span,
                        )
                        .with_help(reason),
                    );
                }
            }
        }
    }
}

/// Why `text` is not a resource ARN pattern, if it is not.
fn arn_problem(text: &str) -> Option<String> {
    if text == "*" {
        return None;
    }
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let &[arn, partition, service, _region, _account, resource] = parts.as_slice() else {
        return Some(
            "an ARN has six parts: `arn:partition:service:region:account:resource`".into(),
        );
    };
    if arn != "arn" {
        return Some("an ARN starts with `arn:`".into());
    }
    if !partition.contains(['*', '?']) && !is_partition(partition) {
        return Some(format!("`{partition}` is not an AWS partition"));
    }
    if service.is_empty() || resource.is_empty() {
        return Some("an ARN names its service and its resource".into());
    }
    None
}

fn check_principal(statement: &Statement, policy_type: PolicyType, errors: &mut Vec<PolicyError>) {
    let Some(block) = &statement.principal else {
        if policy_type.requires_principal() {
            errors.push(
                PolicyError::malformed("Missing required field Principal", statement.span)
                    .with_help(format!(
                        "{policy_type} policies name who they apply to in `Principal`"
                    )),
            );
        }
        return;
    };
    let field = if block.negated {
        "NotPrincipal"
    } else {
        "Principal"
    };
    match policy_type {
        PolicyType::Identity
        | PolicyType::PermissionsBoundary
        | PolicyType::Session
        | PolicyType::Scp => {
            errors.push(
                PolicyError::malformed("Policy document should not specify a principal.", block.key_span)
                    .with_help(format!("{policy_type} policies apply to the principal they are attached to; remove `{field}`")),
            );
            return;
        }
        PolicyType::Trust | PolicyType::Rcp if block.negated => {
            errors.push(
                PolicyError::malformed(format!("Has prohibited field {field}."), block.key_span)
                    .with_help(format!("{policy_type} policies cannot use `NotPrincipal`")),
            );
        }
        PolicyType::Rcp if !block.entries.iter().all(|e| e.value == PrincipalEntry::Any) => {
            errors.push(
                PolicyError::malformed("RCPs require \"Principal\": \"*\".", block.key_span)
                    .with_help("narrow an RCP with conditions such as `aws:PrincipalOrgID`, not with `Principal`"),
            );
        }
        _ => {}
    }
    for (entry, (kind, written)) in block.entries.iter().zip(&block.written) {
        if let PrincipalEntry::Invalid { reason, .. } = &entry.value {
            errors.push(
                PolicyError::malformed(
                    format!(
                        "Invalid principal in policy: \"{}\":\"{written}\"",
                        kind.key()
                    ),
                    entry.span,
                )
                .with_help(reason.clone()),
            );
        }
    }
}

fn is_full_access(statement: &Statement) -> bool {
    let all = |b: &Option<crate::policy::MatchBlock>| {
        b.as_ref()
            .is_some_and(|b| !b.negated && b.items.iter().all(|i| i.value == "*"))
    };
    all(&statement.action) && all(&statement.resource) && statement.conditions.is_empty()
}

fn has_vendor(key: &str) -> bool {
    key.split_once(':')
        .is_some_and(|(vendor, name)| !vendor.is_empty() && !name.is_empty())
}

/// The span of the problem's place, for callers that only have a policy.
pub fn span_of(error: &PolicyError) -> Span {
    error.span.unwrap_or_default()
}

impl PolicyError {
    /// True for problems that make IAM refuse the document with `LimitExceeded`.
    pub fn is_limit(&self) -> bool {
        self.code == ErrorCode::LimitExceeded
    }
}
