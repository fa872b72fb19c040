//! The model's workloads: Kubernetes service accounts that reach AWS through
//! a role, as the roles' trust policies show them.
//!
//! Three shapes are recognised, the three of the EKS multi-account guide:
//!
//! - **Pod Identity, chained**: a role whose trust checks the session tags
//!   EKS Pod Identity sets (`aws:PrincipalTag/kubernetes-namespace`,
//!   `.../kubernetes-service-account`, `.../eks-cluster-arn`, or the same
//!   keys as `aws:RequestTag/...` for EKS's own target roles) for a principal
//!   of another account: the workload account's end of a role chain;
//! - **IRSA**: a role trusting an OIDC provider of its account for
//!   `sts:AssumeRoleWithWebIdentity`, with the service account in the
//!   issuer's `:sub` condition (`system:serviceaccount:NAMESPACE:NAME`);
//! - **Pod Identity, same account**: a role trusting
//!   `pods.eks.amazonaws.com` whose identity policies allow more than
//!   `sts:AssumeRole` and `sts:TagSession` (a role that only chains onward is
//!   the first hop of a chained workload, not a workload of its own).
//!
//! Namespace, service account and cluster are read from the conditions when
//! they name them exactly; otherwise they are left unknown.

use orgtwin_model::{Model, Role};
use orgtwin_policy::policy::Statement;
use orgtwin_policy::principal::PrincipalKind;
use serde::Serialize;

/// How a workload's pods get the workload role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// EKS Pod Identity in a cluster of another account, then a role chain
    /// (or EKS's `targetRoleArn`) into the workload account.
    PodIdentityChain,
    /// IRSA: the cluster's OIDC issuer registered in the workload account.
    Irsa,
    /// EKS Pod Identity with the role in the cluster's own account.
    PodIdentity,
}

impl Mechanism {
    pub fn label(self) -> &'static str {
        match self {
            Mechanism::PodIdentityChain => "Pod Identity + role chain",
            Mechanism::Irsa => "IRSA",
            Mechanism::PodIdentity => "Pod Identity (same account)",
        }
    }
}

/// One workload: the role its pods end up with, and what its trust says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Workload {
    /// The workload account: where the role and the workload's data are.
    pub account: String,
    pub role_arn: String,
    pub mechanism: Mechanism,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub service_account: Option<String>,
}

/// Every workload of the model, in account and role order.
pub fn workloads(model: &Model) -> Vec<Workload> {
    let mut out = Vec::new();
    for account in model.accounts.values() {
        for role in &account.iam.roles {
            if let Some(workload) = workload_of(model, &account.id, role) {
                out.push(workload);
            }
        }
    }
    out
}

fn allows(statement: &Statement) -> bool {
    statement.effect == orgtwin_policy::Effect::Allow
}

fn principals(statement: &Statement, kind: PrincipalKind) -> Vec<&str> {
    statement
        .principal
        .iter()
        .filter(|p| !p.negated)
        .flat_map(|p| p.written.iter())
        .filter(|(k, _)| *k == kind)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The single exact value a statement's conditions require for `key`
/// (case-insensitive key), if one.
fn exact(statement: &Statement, key: &str) -> Option<String> {
    statement
        .conditions
        .iter()
        .map(|c| &c.value)
        .find(|c| {
            c.key_lower == key.to_ascii_lowercase()
                && c.operator.name.starts_with("StringEquals")
                && !c.operator.name.contains("IgnoreCase")
        })
        .and_then(|c| match c.raw_values.as_slice() {
            [only] if !only.contains(['*', '?', '$']) => Some(only.clone()),
            _ => None,
        })
}

fn mentions(statement: &Statement, key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    statement
        .conditions
        .iter()
        .any(|c| c.value.key_lower == key)
}

fn tag_key(statement: &Statement, tag: &str) -> Option<String> {
    ["aws:principaltag/", "aws:requesttag/"]
        .iter()
        .map(|prefix| format!("{prefix}{tag}"))
        .find(|key| mentions(statement, key))
}

fn workload_of(model: &Model, account: &str, role: &Role) -> Option<Workload> {
    let trust = &role.trust_policy.policy;
    let arn = role.arn.clone();
    // Chained Pod Identity: session tags from another account.
    for statement in trust.statements.iter().filter(|s| allows(s)) {
        let from_elsewhere = principals(statement, PrincipalKind::Aws)
            .iter()
            .any(|p| !p.contains(&format!(":{account}:")) && *p != account);
        let tags = [
            "kubernetes-namespace",
            "kubernetes-service-account",
            "eks-cluster-arn",
        ];
        let keys: Vec<String> = tags.iter().filter_map(|t| tag_key(statement, t)).collect();
        if from_elsewhere && !keys.is_empty() {
            let value = |tag: &str| tag_key(statement, tag).and_then(|key| exact(statement, &key));
            return Some(Workload {
                account: account.to_string(),
                role_arn: arn,
                mechanism: Mechanism::PodIdentityChain,
                cluster: value("eks-cluster-arn"),
                namespace: value("kubernetes-namespace"),
                service_account: value("kubernetes-service-account"),
            });
        }
    }
    // IRSA: an OIDC provider of this account, with a `:sub` condition.
    for statement in trust.statements.iter().filter(|s| allows(s)) {
        for provider_arn in principals(statement, PrincipalKind::Federated) {
            let Some(provider) = model.oidc_provider(account, provider_arn) else {
                continue;
            };
            let host_path = provider.url.trim_start_matches("https://");
            let sub = exact(statement, &format!("{host_path}:sub"));
            if sub.is_none() && !mentions(statement, &format!("{host_path}:sub")) {
                continue;
            }
            let parts: Vec<&str> = sub.as_deref().unwrap_or_default().split(':').collect();
            let (namespace, service_account) = match parts.as_slice() {
                ["system", "serviceaccount", ns, sa] => {
                    (Some(ns.to_string()), Some(sa.to_string()))
                }
                _ => (None, None),
            };
            let cluster = provider
                .tags
                .iter()
                .find(|t| t.key == "cluster")
                .map(|t| t.value.clone())
                .or_else(|| Some(host_path.to_string()));
            return Some(Workload {
                account: account.to_string(),
                role_arn: arn,
                mechanism: Mechanism::Irsa,
                cluster,
                namespace,
                service_account,
            });
        }
    }
    // Same-account Pod Identity, for a role that does more than chain.
    let pod_identity = trust
        .statements
        .iter()
        .filter(|s| allows(s))
        .any(|s| principals(s, PrincipalKind::Service).contains(&"pods.eks.amazonaws.com"));
    if pod_identity && !only_chains(model, account, role) {
        return Some(Workload {
            account: account.to_string(),
            role_arn: arn,
            mechanism: Mechanism::PodIdentity,
            cluster: None,
            namespace: None,
            service_account: None,
        });
    }
    None
}

/// Whether every action the role's identity policies allow is
/// `sts:AssumeRole` or `sts:TagSession`.
fn only_chains(model: &Model, account: &str, role: &Role) -> bool {
    let policies = model.identity_policies_of_role(account, &role.name);
    policies.iter().all(|named| {
        named
            .policy
            .statements
            .iter()
            .filter(|s| allows(s))
            .all(|s| {
                s.action.as_ref().is_some_and(|a| {
                    !a.negated
                        && a.items.iter().all(|item| {
                            let action = item.value.to_ascii_lowercase();
                            action == "sts:assumerole" || action == "sts:tagsession"
                        })
                })
            })
    })
}
