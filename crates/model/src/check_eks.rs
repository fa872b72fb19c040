//! Checks of EKS clusters, their service accounts and Pod Identity
//! associations, with the rules EKS itself applies when an association is
//! created: the role is in the cluster's account, one association per
//! service account, a session policy only with session tags disabled.
//!
//! Clusters are checked once every account is built, because associations
//! and IRSA annotations name roles in other accounts.

use std::collections::{BTreeMap, BTreeSet};

use orgtwin_policy::PolicyType;

use crate::check::{Checker, Names};
use crate::check_iam::tags as check_tags;
use crate::eks::{
    AUDIENCE_ANNOTATION, Cluster, DEFAULT_KUBERNETES_VERSION, IRSA_MIN_TOKEN_SECONDS,
    IRSA_TOKEN_SECONDS, MAX_ASSOCIATIONS_PER_CLUSTER, PodIdentityAssociation,
    REGIONAL_STS_ANNOTATION, ROLE_ARN_ANNOTATION, ServiceAccount, TOKEN_EXPIRATION_ANNOTATION,
    role_arn_parts,
};
use crate::error::Problem;
use crate::model::Model;
use crate::raw::{RawAssociation, RawCluster, RawServiceAccount, Text};
use crate::resources::DEFAULT_REGION;
use crate::rules;

/// EKS's cluster names: 1 to 100 letters, digits, `-` and `_`, starting
/// with a letter or digit.
fn cluster_name(name: &str) -> Option<String> {
    let ok = (1..=100).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (!ok).then(|| {
        "1 to 100 letters, digits, `-` and `_`, starting with a letter or digit".to_string()
    })
}

/// Kubernetes names, with capitals allowed: the guide's own names
/// (`PayrollNamespace`) have them, though Kubernetes itself would refuse
/// them (see docs/differences.md).
fn kubernetes_name(name: &str, max: usize) -> Option<String> {
    let ok = (1..=max).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    (!ok).then(|| {
        format!(
            "1 to {max} letters, digits, `-` and `.`, starting and ending with a letter or digit"
        )
    })
}

fn kubernetes_version(version: &str) -> Option<String> {
    let ok = version.strip_prefix("1.").is_some_and(|minor| {
        !minor.is_empty() && minor.len() <= 3 && minor.bytes().all(|b| b.is_ascii_digit())
    });
    (!ok).then(|| "a Kubernetes version is `1.` and the minor version, as `1.31`".to_string())
}

fn issuer_id(id: &str) -> Option<String> {
    // EKS gives 32 uppercase hexadecimal digits; AWS's documentation writes
    // `EXAMPLED539D4633E53DE1B71EXAMPLE`, so any uppercase letter passes.
    let ok = id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    (!ok).then(|| "an OIDC issuer id is 32 uppercase letters or digits".to_string())
}

fn association_id(id: &str) -> Option<String> {
    let ok = id.strip_prefix("a-").is_some_and(|rest| {
        rest.len() == 17
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    });
    (!ok).then(|| "an association id is `a-` and 17 lowercase letters or digits".to_string())
}

/// The id EKS would give, derived from the cluster and service account so
/// that it is the same in every run.
pub fn derive_association_id(account: &str, cluster: &str, namespace: &str, sa: &str) -> String {
    let uuid = rules::derive_uuid(&format!("{account}/{cluster}/{namespace}/{sa}"));
    let hex: String = uuid.chars().filter(|c| *c != '-').take(17).collect();
    format!("a-{hex}")
}

/// The issuer id EKS would give, derived from the account, region and name.
pub fn derive_issuer_id(account: &str, region: &str, name: &str) -> String {
    rules::derive_uuid(&format!("oidc/{account}/{region}/{name}"))
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_uppercase()
}

fn role_arn_rule(arn: &str) -> Option<String> {
    role_arn_parts(arn)
        .is_none()
        .then(|| "a role ARN is `arn:aws:iam::ACCOUNT:role/NAME`".to_string())
}

/// Checks that a role ARN names a role the model has, when its account is
/// in the model (roles of accounts outside it cannot be checked).
fn known_role(checker: &mut Checker<'_>, model: &Model, text: &Text, what: &'static str) -> bool {
    if !checker.valid(text, what, role_arn_rule(&text.value)) {
        return false;
    }
    let Some((account, name)) = role_arn_parts(&text.value) else {
        return false;
    };
    if model.in_organization(account) && model.role_by_arn(&text.value).is_none() {
        checker.push(
            &text.loc,
            Problem::UnresolvedReference {
                what: "role",
                name: name.to_string(),
                scope: format!("in account {account}"),
                hint: "the ARN must match the role's path and name".into(),
            },
        );
        return false;
    }
    true
}

/// The clusters of `account`.
pub fn clusters(
    checker: &mut Checker<'_>,
    model: &Model,
    account: &str,
    raws: &[&RawCluster],
    names: &mut Names,
) -> Vec<Cluster> {
    let mut out = Vec::new();
    for raw in raws {
        let name = raw.name.as_ref().filter(|name| {
            checker.valid(name, "cluster name", cluster_name(&name.value))
                && checker.unique(names, name)
        });
        let region = match &raw.region {
            Some(text) => {
                checker.valid(text, "region", rules::region(&text.value));
                text.value.clone()
            }
            None => DEFAULT_REGION.to_string(),
        };
        let version = match &raw.version {
            Some(text) => {
                checker.valid(text, "Kubernetes version", kubernetes_version(&text.value));
                text.value.clone()
            }
            None => DEFAULT_KUBERNETES_VERSION.to_string(),
        };
        let tags = check_tags(checker, &raw.tags);
        let Some(name) = name else { continue };
        let oidc_issuer_id = match &raw.oidc_issuer_id {
            Some(text) => {
                checker.valid(text, "OIDC issuer id", issuer_id(&text.value));
                text.value.clone()
            }
            None => derive_issuer_id(account, &region, &name.value),
        };
        let mut namespaces = BTreeSet::new();
        for text in &raw.namespaces {
            if checker.valid(text, "namespace", kubernetes_name(&text.value, 63)) {
                namespaces.insert(text.value.clone());
            }
        }
        let service_accounts = service_accounts(checker, model, &raw.service_accounts);
        namespaces.extend(service_accounts.iter().map(|s| s.namespace.clone()));
        let mut cluster = Cluster {
            name: name.value.clone(),
            region,
            version,
            oidc_issuer_id,
            tags,
            namespaces,
            service_accounts,
            pod_identity_associations: Vec::new(),
        };
        cluster.pod_identity_associations = associations(
            checker,
            model,
            account,
            &cluster,
            &raw.pod_identity_associations,
        );
        if cluster.pod_identity_associations.len() > MAX_ASSOCIATIONS_PER_CLUSTER {
            checker.push(
                &name.loc,
                Problem::TooMany {
                    what: "Pod Identity associations",
                    count: cluster.pod_identity_associations.len(),
                    max: MAX_ASSOCIATIONS_PER_CLUSTER,
                },
            );
        }
        out.push(cluster);
    }
    out
}

fn service_accounts(
    checker: &mut Checker<'_>,
    model: &Model,
    raws: &[RawServiceAccount],
) -> Vec<ServiceAccount> {
    let mut out = Vec::new();
    let mut seen = Names::new("service account", false);
    for raw in raws {
        let (Some(namespace), Some(name)) = (&raw.namespace, &raw.name) else {
            continue;
        };
        let ok_namespace = checker.valid(
            namespace,
            "namespace",
            kubernetes_name(&namespace.value, 63),
        );
        let ok_name = checker.valid(
            name,
            "service account name",
            kubernetes_name(&name.value, 253),
        );
        let key = Text {
            value: format!("{}/{}", namespace.value, name.value),
            loc: name.loc.clone(),
        };
        if !(ok_namespace && ok_name && checker.unique(&mut seen, &key)) {
            continue;
        }
        let mut annotations = BTreeMap::new();
        let mut good = true;
        for (key, value) in &raw.annotations.tags {
            good &= annotation(checker, model, key, value);
            annotations.insert(key.value.clone(), value.value.clone());
        }
        if good {
            out.push(ServiceAccount {
                namespace: namespace.value.clone(),
                name: name.value.clone(),
                annotations,
            });
        }
    }
    out
}

/// Checks one of the IRSA annotations; others are kept as they are.
fn annotation(checker: &mut Checker<'_>, model: &Model, key: &Text, value: &Text) -> bool {
    match key.value.as_str() {
        ROLE_ARN_ANNOTATION => known_role(checker, model, value, "IRSA role ARN"),
        AUDIENCE_ANNOTATION => checker.valid(
            value,
            "IRSA audience",
            value
                .value
                .is_empty()
                .then(|| "an audience is a non-empty string".to_string()),
        ),
        REGIONAL_STS_ANNOTATION => checker.valid(
            value,
            "sts-regional-endpoints annotation",
            (!matches!(value.value.as_str(), "true" | "false"))
                .then(|| "`true` or `false`".to_string()),
        ),
        TOKEN_EXPIRATION_ANNOTATION => checker.valid(
            value,
            "token-expiration annotation",
            value
                .value
                .parse::<u64>()
                .ok()
                .filter(|s| (IRSA_MIN_TOKEN_SECONDS..=IRSA_TOKEN_SECONDS).contains(s))
                .is_none()
                .then(|| format!("seconds, from {IRSA_MIN_TOKEN_SECONDS} to {IRSA_TOKEN_SECONDS}")),
        ),
        _ => true,
    }
}

fn associations(
    checker: &mut Checker<'_>,
    model: &Model,
    account: &str,
    cluster: &Cluster,
    raws: &[RawAssociation],
) -> Vec<PodIdentityAssociation> {
    let mut out = Vec::new();
    let mut per_service_account = Names::new("Pod Identity association for service account", false);
    let mut ids = Names::new("association id", false);
    for raw in raws {
        let (Some(namespace), Some(service_account), Some(role_arn)) =
            (&raw.namespace, &raw.service_account, &raw.role_arn)
        else {
            continue;
        };
        let mut good = true;
        if cluster
            .service_account(&namespace.value, &service_account.value)
            .is_none()
        {
            checker.push(
                &service_account.loc,
                Problem::UnresolvedReference {
                    what: "service account",
                    name: format!("{}/{}", namespace.value, service_account.value),
                    scope: format!("in cluster {}", cluster.name),
                    hint: "declare it under the cluster's `service_accounts` (or in one of its \
                           `kubernetes_manifests`)"
                        .into(),
                },
            );
            good = false;
        }
        let key = Text {
            value: format!("{}/{}", namespace.value, service_account.value),
            loc: service_account.loc.clone(),
        };
        good &= checker.unique(&mut per_service_account, &key);
        let in_cluster_account =
            role_arn_parts(&role_arn.value).is_none_or(|(role_account, _)| role_account == account);
        if !in_cluster_account {
            checker.push(
                &role_arn.loc,
                Problem::Refused {
                    message: format!(
                        "EKS requires an association's role in the cluster's account {account}"
                    ),
                    help: "reach a role in another account with `target_role_arn`".into(),
                },
            );
            good = false;
        } else {
            good &= known_role(checker, model, role_arn, "association role ARN");
        }
        if let Some(target) = &raw.target_role_arn {
            good &= known_role(checker, model, target, "association target role ARN");
        }
        let disable_session_tags = raw.disable_session_tags.as_ref().is_some_and(|f| f.value);
        let policy = match &raw.policy {
            Some(document) => {
                if !disable_session_tags {
                    checker.push(
                        &document.loc,
                        Problem::Refused {
                            message: "EKS accepts an association's session policy only with \
                                      `disable_session_tags: true`"
                                .into(),
                            help: "set `disable_session_tags: true` or remove the policy".into(),
                        },
                    );
                    good = false;
                }
                let checked = checker.document(document, &[PolicyType::Session]);
                good &= checked.is_some();
                checked
            }
            None => None,
        };
        let tags = check_tags(checker, &raw.tags);
        let id = match &raw.id {
            Some(text) => {
                good &= checker.valid(text, "association id", association_id(&text.value))
                    && checker.unique(&mut ids, text);
                text.value.clone()
            }
            None => derive_association_id(
                account,
                &cluster.name,
                &namespace.value,
                &service_account.value,
            ),
        };
        if good {
            out.push(PodIdentityAssociation {
                id,
                namespace: namespace.value.clone(),
                service_account: service_account.value.clone(),
                role_arn: role_arn.value.clone(),
                target_role_arn: raw.target_role_arn.as_ref().map(|t| t.value.clone()),
                disable_session_tags,
                policy,
                tags,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_have_eks_shapes() {
        let id = derive_association_id("111122223333", "ProductionCluster", "ns", "sa");
        assert_eq!(association_id(&id), None, "{id}");
        assert_ne!(
            id,
            derive_association_id("111122223333", "ProductionCluster", "ns", "sb")
        );
        let issuer = derive_issuer_id("111122223333", "us-east-1", "ProductionCluster");
        assert_eq!(issuer_id(&issuer), None, "{issuer}");
    }

    #[test]
    fn names_follow_eks_and_kubernetes() {
        assert_eq!(cluster_name("ProductionCluster"), None);
        assert!(cluster_name("-x").is_some());
        assert!(cluster_name(&"a".repeat(101)).is_some());
        assert_eq!(kubernetes_name("PayrollNamespace", 63), None);
        assert_eq!(kubernetes_name("kube-system", 63), None);
        assert!(kubernetes_name("bad_name", 63).is_some());
        assert!(kubernetes_name("x-", 63).is_some());
        assert_eq!(kubernetes_version("1.31"), None);
        assert!(kubernetes_version("v1.31").is_some());
    }
}
