//! EKS in the model: clusters, their namespaces and service accounts (with
//! the IRSA annotations), and EKS Pod Identity associations.
//!
//! A cluster's OIDC issuer is `https://oidc.eks.REGION.amazonaws.com/id/ID`,
//! as in AWS, so that the IAM OIDC providers and trust policies a team keeps
//! for AWS work unchanged; the twin serves that issuer's documents itself.

use std::collections::{BTreeMap, BTreeSet};

use crate::document::Document;
use crate::model::{Model, Tag};

/// IRSA: the role a service account's pods assume with their token.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// IRSA: the audience of the projected token (default `sts.amazonaws.com`).
pub const AUDIENCE_ANNOTATION: &str = "eks.amazonaws.com/audience";
/// IRSA: whether the SDK uses STS's regional endpoint (`true`/`false`).
pub const REGIONAL_STS_ANNOTATION: &str = "eks.amazonaws.com/sts-regional-endpoints";
/// IRSA: the projected token's lifetime in seconds.
pub const TOKEN_EXPIRATION_ANNOTATION: &str = "eks.amazonaws.com/token-expiration";

/// IRSA's default token audience.
pub const IRSA_AUDIENCE: &str = "sts.amazonaws.com";
/// IRSA's default token lifetime, and the shortest the webhook accepts.
pub const IRSA_TOKEN_SECONDS: u64 = 86_400;
pub const IRSA_MIN_TOKEN_SECONDS: u64 = 600;
/// The audience of Pod Identity tokens.
pub const POD_IDENTITY_AUDIENCE: &str = "pods.eks.amazonaws.com";
/// The service principal EKS Auth assumes roles as.
pub const POD_IDENTITY_PRINCIPAL: &str = "pods.eks.amazonaws.com";
/// EKS's quota of Pod Identity associations per cluster (not adjustable).
pub const MAX_ASSOCIATIONS_PER_CLUSTER: usize = 5000;
/// The Kubernetes version of clusters that do not name one.
pub const DEFAULT_KUBERNETES_VERSION: &str = "1.31";

/// An EKS cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    /// Unique in the model (EKS: unique per account and region).
    pub name: String,
    pub region: String,
    /// `1.NN`.
    pub version: String,
    /// 32 uppercase letters or digits, the last part of the issuer URL.
    pub oidc_issuer_id: String,
    pub tags: Vec<Tag>,
    /// Every namespace: those declared and those of its service accounts.
    pub namespaces: BTreeSet<String>,
    /// In declaration order; unique by namespace and name.
    pub service_accounts: Vec<ServiceAccount>,
    pub pod_identity_associations: Vec<PodIdentityAssociation>,
}

impl Cluster {
    pub fn arn(&self, account: &str) -> String {
        format!(
            "arn:aws:eks:{}:{account}:cluster/{}",
            self.region, self.name
        )
    }

    /// The issuer URL, as tokens carry it in `iss`.
    pub fn issuer(&self) -> String {
        format!("https://{}", self.issuer_host_path())
    }

    /// The issuer without its scheme: how IAM names the provider and how
    /// trust policies name its condition keys (`...:sub`).
    pub fn issuer_host_path(&self) -> String {
        format!(
            "oidc.eks.{}.amazonaws.com/id/{}",
            self.region, self.oidc_issuer_id
        )
    }

    pub fn service_account(&self, namespace: &str, name: &str) -> Option<&ServiceAccount> {
        self.service_accounts
            .iter()
            .find(|s| s.namespace == namespace && s.name == name)
    }

    /// The association of a service account (EKS allows one).
    pub fn association_for(
        &self,
        namespace: &str,
        service_account: &str,
    ) -> Option<&PodIdentityAssociation> {
        self.pod_identity_associations
            .iter()
            .find(|a| a.namespace == namespace && a.service_account == service_account)
    }

    pub fn association(&self, id: &str) -> Option<&PodIdentityAssociation> {
        self.pod_identity_associations.iter().find(|a| a.id == id)
    }
}

/// A Kubernetes service account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccount {
    pub namespace: String,
    pub name: String,
    pub annotations: BTreeMap<String, String>,
}

impl ServiceAccount {
    /// The IRSA settings its annotations ask for, if any (checked at load).
    pub fn irsa(&self) -> Option<Irsa> {
        let role_arn = self.annotations.get(ROLE_ARN_ANNOTATION)?.clone();
        Some(Irsa {
            role_arn,
            audience: self
                .annotations
                .get(AUDIENCE_ANNOTATION)
                .cloned()
                .unwrap_or_else(|| IRSA_AUDIENCE.to_string()),
            sts_regional_endpoints: self
                .annotations
                .get(REGIONAL_STS_ANNOTATION)
                .is_none_or(|v| v == "true"),
            token_expiration: self
                .annotations
                .get(TOKEN_EXPIRATION_ANNOTATION)
                .and_then(|v| v.parse().ok())
                .unwrap_or(IRSA_TOKEN_SECONDS),
        })
    }

    /// The token's subject: `system:serviceaccount:NAMESPACE:NAME`.
    pub fn subject(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }
}

/// What IRSA's annotations say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Irsa {
    pub role_arn: String,
    pub audience: String,
    pub sts_regional_endpoints: bool,
    pub token_expiration: u64,
}

/// An EKS Pod Identity association.
#[derive(Clone, Debug, PartialEq)]
pub struct PodIdentityAssociation {
    /// `a-` and 17 lowercase letters or digits.
    pub id: String,
    pub namespace: String,
    pub service_account: String,
    /// A role in the cluster's account, trusted by `pods.eks.amazonaws.com`.
    pub role_arn: String,
    /// A role (in any account) that EKS assumes with the first role's
    /// session, handing out the target's credentials.
    pub target_role_arn: Option<String>,
    pub disable_session_tags: bool,
    /// A session policy (only with `disable_session_tags`).
    pub policy: Option<Document>,
    pub tags: Vec<Tag>,
}

impl PodIdentityAssociation {
    pub fn arn(&self, cluster: &Cluster, account: &str) -> String {
        format!(
            "arn:aws:eks:{}:{account}:podidentityassociation/{}/{}",
            cluster.region, cluster.name, self.id
        )
    }

    /// The `sts:ExternalId` EKS passes when it assumes the target role
    /// (only with a target role): derived from the association's ARN, so a
    /// target's trust policy can pin one association.
    pub fn external_id(&self, cluster: &Cluster, account: &str) -> Option<String> {
        self.target_role_arn
            .as_ref()
            .map(|_| crate::rules::derive_uuid(&self.arn(cluster, account)))
    }
}

/// `arn:aws:iam::ACCOUNT:role/PATH/NAME` as `(account, name)`.
pub fn role_arn_parts(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next()?;
    (crate::rules::account_id(account).is_none() && !name.is_empty()).then_some((account, name))
}

impl Model {
    /// The cluster named `name` and its account id.
    pub fn cluster(&self, name: &str) -> Option<(&str, &Cluster)> {
        self.accounts.values().find_map(|a| {
            a.clusters
                .iter()
                .find(|c| c.name == name)
                .map(|c| (a.id.as_str(), c))
        })
    }

    /// Every cluster, with its account id, in account order.
    pub fn clusters(&self) -> impl Iterator<Item = (&str, &Cluster)> {
        self.accounts
            .values()
            .flat_map(|a| a.clusters.iter().map(move |c| (a.id.as_str(), c)))
    }

    /// The cluster whose issuer (with or without `https://`) is `issuer`.
    pub fn cluster_by_issuer(&self, issuer: &str) -> Option<(&str, &Cluster)> {
        let host_path = issuer.strip_prefix("https://").unwrap_or(issuer);
        self.clusters()
            .find(|(_, c)| c.issuer_host_path() == host_path)
    }

    /// The role an ARN names, if the model has it.
    pub fn role_by_arn(&self, arn: &str) -> Option<&crate::model::Role> {
        let (account, name) = role_arn_parts(arn)?;
        self.role(account, name).filter(|r| r.arn == arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_split_into_account_and_name() {
        assert_eq!(
            role_arn_parts("arn:aws:iam::444455556666:role/account-b-role"),
            Some(("444455556666", "account-b-role"))
        );
        assert_eq!(
            role_arn_parts("arn:aws:iam::444455556666:role/team/a/reader"),
            Some(("444455556666", "reader"))
        );
        assert_eq!(role_arn_parts("arn:aws:iam::4444:role/x"), None);
        assert_eq!(role_arn_parts("arn:aws:iam::444455556666:user/x"), None);
        assert_eq!(role_arn_parts("arn:aws:iam::444455556666:role/"), None);
    }
}
