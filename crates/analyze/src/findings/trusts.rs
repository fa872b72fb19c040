//! Findings read from trust policies: ABAC trusts on Pod Identity's session
//! tags that do not pin the cluster and the namespace, IRSA trusts without
//! an exact subject or an audience, and trusts of an account root or `*`
//! with no condition at all.
//!
//! A condition pins a key when it requires one of a few exact values:
//! `StringEquals` (or `StringEqualsIgnoreCase`, `ArnEquals`), or
//! `StringLike`/`ArnLike` with no `*` or `?`; no `IfExists` (an absent key
//! would pass), no `ForAnyValue:`/`ForAllValues:`, no policy variables.

use orgtwin_model::{Model, Place, Role};
use orgtwin_policy::Effect;
use orgtwin_policy::condition::{Condition, OperatorBase};
use orgtwin_policy::policy::Statement;
use orgtwin_policy::principal::{PrincipalEntry, PrincipalKind};

use super::{Finding, Severity, statement_place};

pub(super) fn check(model: &Model, out: &mut Vec<Finding>) {
    for account in model.accounts.values() {
        for role in &account.iam.roles {
            let statements = &role.trust_policy.policy.statements;
            for (position, statement) in statements.iter().enumerate() {
                if statement.effect != Effect::Allow {
                    continue;
                }
                let place = statement_place(&role.trust_policy, position);
                abac(role, statement, &place, out);
                irsa(role, statement, &place, out);
                unconditioned(model, &account.id, role, statement, &place, out);
            }
        }
    }
}

/// `Sid X` or `statement N`, for titles.
fn name(statement: &Statement) -> String {
    match &statement.sid {
        Some(sid) => format!("statement `{sid}`"),
        None => format!("statement {}", statement.index),
    }
}

/// Whether `condition` requires exact values, as the module says.
pub(super) fn pins(condition: &Condition) -> bool {
    use OperatorBase::*;
    let operator = &condition.operator;
    let Some(base) = operator.base else {
        return false;
    };
    let wildcards = matches!(base, StringLike | ArnLike);
    let exact_operator = matches!(
        base,
        StringEquals | StringEqualsIgnoreCase | ArnEquals | StringLike | ArnLike
    );
    exact_operator
        && operator.set.is_none()
        && !operator.if_exists
        && !condition.raw_values.is_empty()
        && condition
            .raw_values
            .iter()
            .all(|v| !(v.contains("${") || wildcards && v.contains(['*', '?'])))
}

/// The Pod Identity tag a condition key reads (`kubernetes-namespace` for
/// `aws:PrincipalTag/kubernetes-namespace` or `aws:RequestTag/...`), if any.
fn pod_tag(key_lower: &str) -> Option<&str> {
    let tag = key_lower
        .strip_prefix("aws:principaltag/")
        .or_else(|| key_lower.strip_prefix("aws:requesttag/"))?;
    (tag.starts_with("kubernetes-") || tag.starts_with("eks-")).then_some(tag)
}

fn abac(role: &Role, statement: &Statement, place: &Option<Place>, out: &mut Vec<Finding>) {
    let tagged: Vec<&Condition> = statement
        .conditions
        .iter()
        .map(|c| &c.value)
        .filter(|c| pod_tag(&c.key_lower).is_some())
        .collect();
    let Some(first) = tagged.first() else {
        return;
    };
    let prefix = if first.key_lower.starts_with("aws:requesttag/") {
        "aws:RequestTag"
    } else {
        "aws:PrincipalTag"
    };
    let missing: Vec<&str> = ["eks-cluster-arn", "kubernetes-namespace"]
        .into_iter()
        .filter(|tag| {
            !tagged
                .iter()
                .any(|c| pod_tag(&c.key_lower) == Some(*tag) && pins(c))
        })
        .collect();
    if missing.is_empty() {
        return;
    }
    let missing_keys: Vec<String> = missing.iter().map(|t| format!("`{prefix}/{t}`")).collect();
    out.push(Finding {
        id: "abac-trust-unpinned",
        severity: Severity::High,
        title: format!(
            "the trust of `{}` admits Pod Identity sessions by their tags without pinning {}",
            role.name,
            missing_keys.join(" and ")
        ),
        subject: role.arn.clone(),
        place: place.clone(),
        why: format!(
            "{} of the trust lets a session in on the tags EKS Pod Identity sets, but does \
             not require exact values of {}. A service account name is unique only in its \
             namespace, and a namespace name only in its cluster: a pod with the same names \
             in another namespace or another cluster (a staging cluster, a tenant's \
             namespace) carries tags that pass too.",
            name(statement),
            missing_keys.join(" and ")
        ),
        fix: format!(
            "Require each of {} with `StringEquals` and the exact value (the cluster's ARN, \
             the namespace), beside `{prefix}/kubernetes-service-account`.",
            missing_keys.join(" and ")
        ),
    });
}

/// Whether the statement's actions include `action` (lower case).
pub(super) fn allows_action(statement: &Statement, action: &str) -> bool {
    let context = orgtwin_policy::Context::default();
    statement.action.as_ref().is_some_and(|block| {
        let any = block
            .patterns
            .iter()
            .any(|p| p.matches(action, &context, false));
        any != block.negated
    })
}

fn irsa(role: &Role, statement: &Statement, place: &Option<Place>, out: &mut Vec<Finding>) {
    if !allows_action(statement, "sts:assumerolewithwebidentity") {
        return;
    }
    let providers = statement
        .principal
        .iter()
        .filter(|p| !p.negated)
        .flat_map(|p| p.written.iter())
        .filter(|(kind, _)| *kind == PrincipalKind::Federated)
        .filter_map(|(_, value)| value.split_once(":oidc-provider/").map(|(_, host)| host))
        .filter(|host| host.starts_with("oidc.eks."));
    for host in providers {
        let key = |claim: &str| format!("{host}:{claim}").to_ascii_lowercase();
        let (sub, aud) = (key("sub"), key("aud"));
        let conditions = || statement.conditions.iter().map(|c| &c.value);
        let sub_exact = conditions().any(|c| c.key_lower == sub && pins(c));
        let has_aud = conditions().any(|c| {
            c.key_lower == aud
                && !c.operator.if_exists
                && c.operator.base.is_some_and(|b| !b.is_negated())
        });
        if sub_exact && has_aud {
            continue;
        }
        let mut lacks = Vec::new();
        if !sub_exact {
            lacks.push(format!("an exact `{host}:sub`"));
        }
        if !has_aud {
            lacks.push(format!("`{host}:aud`"));
        }
        let mut why = format!(
            "{} trusts the cluster's OIDC issuer for `sts:AssumeRoleWithWebIdentity` without \
             {}. ",
            name(statement),
            lacks.join(" or ")
        );
        if !sub_exact {
            why.push_str(
                "Every service account of the cluster gets a token from this issuer; without \
                 an exact subject, any of them (or any a wildcard matches) may assume the \
                 role. ",
            );
        }
        if !has_aud {
            why.push_str(
                "Without the audience, a token the issuer minted for another purpose is \
                 accepted too.",
            );
        }
        out.push(Finding {
            id: "irsa-trust-unpinned",
            severity: Severity::High,
            title: format!(
                "the IRSA trust of `{}` lacks {}",
                role.name,
                lacks.join(" and ")
            ),
            subject: role.arn.clone(),
            place: place.clone(),
            why: why.trim_end().to_string(),
            fix: format!(
                "Add `StringEquals` conditions: `{host}:sub` = \
                 `system:serviceaccount:NAMESPACE:SERVICEACCOUNT` and `{host}:aud` = \
                 `sts.amazonaws.com`."
            ),
        });
    }
}

fn unconditioned(
    model: &Model,
    account: &str,
    role: &Role,
    statement: &Statement,
    place: &Option<Place>,
    out: &mut Vec<Finding>,
) {
    if !statement.conditions.is_empty() {
        return;
    }
    let Some(block) = statement.principal.as_ref().filter(|p| !p.negated) else {
        return;
    };
    for entry in &block.entries {
        let (severity, who, why) = match &entry.value {
            PrincipalEntry::Any => (
                Severity::Critical,
                "`*`".to_string(),
                "`*` with no condition lets any AWS principal of any account, in the \
                 organization or not, assume the role (where its own policies allow it)."
                    .to_string(),
            ),
            PrincipalEntry::Account(trusted) if model.is_management(trusted) => (
                Severity::Low,
                format!("the management account's root (`{trusted}`)"),
                "Trusting an account's root delegates the decision to that account: every \
                 principal there whose identity policies allow `sts:AssumeRole` on this role \
                 gets in. This is the organization's management account, which SCPs never \
                 restrict (AWS's OrganizationAccountAccessRole trusts it the same way); it is \
                 acceptable only while the management account's own IAM is kept minimal."
                    .to_string(),
            ),
            PrincipalEntry::Account(trusted) if trusted == account => (
                Severity::Medium,
                format!("its own account's root (`{trusted}`)"),
                "Trusting the role's own account root lets every principal of the account \
                 whose identity policies allow `sts:AssumeRole` on this role (or on `*`) \
                 assume it: who may is decided by policies far from this role."
                    .to_string(),
            ),
            PrincipalEntry::Account(trusted) => (
                Severity::High,
                format!("the root of account `{trusted}`"),
                format!(
                    "Trusting another account's root with no condition lets every principal \
                     of `{trusted}` whose identity policies allow `sts:AssumeRole` on this \
                     role, or on `*`, assume it: every pod role and user there that may \
                     assume roles broadly, now or later."
                ),
            ),
            _ => continue,
        };
        out.push(Finding {
            id: "trust-without-condition",
            severity,
            title: format!(
                "the trust of `{}` admits {who} with no condition",
                role.name
            ),
            subject: role.arn.clone(),
            place: place.clone(),
            why,
            fix: "Name the roles or users that should come in (their ARNs), or add a \
                  condition that says who they are: `aws:PrincipalArn`, the session tags a \
                  Pod Identity chain carries, or `sts:ExternalId` for a third party."
                .to_string(),
        });
    }
}
