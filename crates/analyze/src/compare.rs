//! The centralized and decentralized layouts of the EKS multi-account
//! guide, as numbers for the model's workloads ([`crate::workloads`]).
//!
//! **Centralized**: one shared cluster (per region) in a cluster account,
//! in a VPC whose subnets are shared with the workload accounts by one RAM
//! share. A chained Pod Identity workload needs a Pod Identity role in the
//! cluster account and a role in its workload account that trusts it (one
//! cross-account trust); an IRSA workload needs one role in its workload
//! account, which trusts the cluster's issuer, registered as an OIDC provider
//! in each workload account that uses IRSA. Every workload runs on the one
//! cluster: its failure reaches all of them.
//!
//! **Decentralized**: a cluster in each workload account, in its own VPC.
//! Every workload needs one role in its own account (Pod Identity or IRSA),
//! no cross-account trust; IRSA needs the account's own cluster issuer
//! registered there. A cluster's failure reaches its account's workloads
//! only; connecting the clusters' VPCs needs a route per pair (peering) or
//! an attachment per VPC (transit gateway).
//!
//! Workloads found as same-account Pod Identity count as Pod Identity
//! workloads in both layouts (chained when centralized). Each layout also
//! shows the headroom left under AWS's default quotas: for per-account
//! quotas, in the account that uses the most, counting the roles and
//! providers the model already has that are not workload roles.

use std::collections::{BTreeMap, BTreeSet};

use orgtwin_model::Model;
use serde::Serialize;

use crate::workloads::{Mechanism, Workload, workloads};

/// An AWS default quota and what a layout leaves of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quota {
    pub name: &'static str,
    /// The documented default value.
    pub quota: u64,
    /// The most a single account (or cluster) would use.
    pub used: u64,
    /// Which account or cluster that is.
    pub at: String,
    pub headroom: i64,
    pub source: &'static str,
}

/// What one layout needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Layout {
    pub name: &'static str,
    pub clusters: u64,
    pub vpcs: u64,
    pub ram_shares: u64,
    pub iam_roles: u64,
    pub cross_account_trusts: u64,
    pub oidc_providers: u64,
    pub pod_identity_associations: u64,
    /// The most workloads one cluster's failure reaches.
    pub workloads_per_cluster: u64,
    /// VPC peering connections for a full mesh between cluster VPCs.
    pub vpc_peering_routes: u64,
    /// Or transit gateway attachments, one per cluster VPC (when more than one).
    pub transit_gateway_attachments: u64,
    pub quotas: Vec<Quota>,
}

/// The two layouts for the model's workloads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub workloads: Vec<Workload>,
    pub workload_accounts: Vec<String>,
    /// The account the centralized layout's cluster would live in: the
    /// model's cluster account (the account chained workloads trust), or
    /// `cluster account` when the model has none.
    pub cluster_account: String,
    pub centralized: Layout,
    pub decentralized: Layout,
}

const IAM_ROLES: (&str, u64, &str) = (
    "IAM roles per account",
    1_000,
    "IAM and AWS STS quotas (L-FE177D64)",
);
const OIDC_PROVIDERS: (&str, u64, &str) = (
    "IAM OIDC providers per account",
    100,
    "IAM and AWS STS quotas (L-858F3967)",
);
const ASSOCIATIONS: (&str, u64, &str) = (
    "EKS Pod Identity associations per cluster",
    5_000,
    "Amazon EKS user guide, EKS Pod Identity (not adjustable)",
);
const CLUSTERS: (&str, u64, &str) = (
    "EKS clusters per Region per account",
    100,
    "Amazon EKS service quotas",
);
const RAM_SHARES: (&str, u64, &str) = (
    "RAM resource shares per account",
    5_000,
    "AWS RAM user guide, quotas",
);
const VPCS: (&str, u64, &str) = (
    "VPCs per Region per account",
    5,
    "Amazon VPC quotas (L-F678F1CE)",
);
const PEERING: (&str, u64, &str) = (
    "active VPC peering connections per VPC",
    50,
    "Amazon VPC quotas (L-7E9ECCDB)",
);

fn quota(spec: (&'static str, u64, &'static str), used: u64, at: impl Into<String>) -> Quota {
    Quota {
        name: spec.0,
        quota: spec.1,
        used,
        at: at.into(),
        headroom: i64::try_from(spec.1).unwrap_or(i64::MAX)
            - i64::try_from(used).unwrap_or(i64::MAX),
        source: spec.2,
    }
}

/// The account most chained workloads' trusts name: where the shared
/// cluster runs today.
fn cluster_account(model: &Model, workloads: &[Workload]) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for w in workloads
        .iter()
        .filter(|w| w.mechanism == Mechanism::PodIdentityChain)
    {
        if let Some(arn) = &w.cluster
            && let Some(account) = arn.split(':').nth(4)
        {
            *counts.entry(account.to_string()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(a, _)| a)
        .filter(|a| model.in_organization(a))
        .unwrap_or_else(|| "cluster account".to_string())
}

/// Roles and OIDC providers an account has that are not workload roles.
fn base_counts(model: &Model, workloads: &[Workload], account: &str) -> (u64, u64) {
    let Some(a) = model.account(account) else {
        return (0, 0);
    };
    let workload_roles: BTreeSet<&str> = workloads.iter().map(|w| w.role_arn.as_str()).collect();
    let roles = a
        .iam
        .roles
        .iter()
        .filter(|r| !workload_roles.contains(r.arn.as_str()))
        .count();
    let eks_providers = a
        .iam
        .oidc_providers
        .iter()
        .filter(|p| p.url.contains(".eks.") && p.url.contains("amazonaws.com/id/"))
        .count();
    let providers = a.iam.oidc_providers.len().saturating_sub(eks_providers);
    (roles as u64, providers as u64)
}

fn name_of(model: &Model, account: &str) -> String {
    model.account(account).map_or_else(
        || account.to_string(),
        |a| format!("{account} ({})", a.name),
    )
}

/// Compares the two layouts for `model`'s workloads.
pub fn compare(model: &Model) -> Comparison {
    let workloads = workloads(model);
    let mut per_account: BTreeMap<String, Vec<&Workload>> = BTreeMap::new();
    for w in &workloads {
        per_account.entry(w.account.clone()).or_default().push(w);
    }
    let cluster_account = cluster_account(model, &workloads);
    // A workload account that is the cluster account itself (same-account
    // Pod Identity there) needs no share or chain.
    let accounts: Vec<String> = per_account.keys().cloned().collect();
    let count = |m: &[Mechanism]| {
        workloads
            .iter()
            .filter(|w| m.contains(&w.mechanism))
            .count() as u64
    };
    let pod = count(&[Mechanism::PodIdentityChain, Mechanism::PodIdentity]);
    let total = workloads.len() as u64;
    let irsa_accounts: Vec<&String> = per_account
        .iter()
        .filter(|(_, ws)| ws.iter().any(|w| w.mechanism == Mechanism::Irsa))
        .map(|(a, _)| a)
        .collect();
    let remote: Vec<&String> = accounts.iter().filter(|a| **a != cluster_account).collect();
    let remote_workloads = workloads.iter().filter(|w| w.account != cluster_account);
    let remote_pod = remote_workloads
        .clone()
        .filter(|w| w.mechanism != Mechanism::Irsa)
        .count() as u64;

    // Centralized.
    let mut central_roles: BTreeMap<String, u64> = BTreeMap::new();
    let mut central_providers: BTreeMap<String, u64> = BTreeMap::new();
    for account in accounts.iter().chain(std::iter::once(&cluster_account)) {
        let (roles, providers) = base_counts(model, &workloads, account);
        central_roles.insert(account.clone(), roles);
        central_providers.insert(account.clone(), providers);
    }
    for w in &workloads {
        *central_roles.entry(w.account.clone()).or_default() += 1;
        let chained = w.mechanism != Mechanism::Irsa && w.account != cluster_account;
        if chained {
            *central_roles.entry(cluster_account.clone()).or_default() += 1;
        }
    }
    for account in &irsa_accounts {
        *central_providers.entry((*account).clone()).or_default() += 1;
    }
    let (max_roles_at, max_roles) = max_of(&central_roles);
    let (max_providers_at, max_providers) = max_of(&central_providers);
    let centralized = Layout {
        name: "centralized",
        clusters: u64::from(total > 0),
        vpcs: u64::from(total > 0),
        ram_shares: u64::from(!remote.is_empty()),
        iam_roles: total + remote_pod,
        cross_account_trusts: remote_workloads.count() as u64,
        oidc_providers: irsa_accounts.len() as u64,
        pod_identity_associations: pod,
        workloads_per_cluster: total,
        vpc_peering_routes: 0,
        transit_gateway_attachments: 0,
        quotas: vec![
            quota(IAM_ROLES, max_roles, name_of(model, &max_roles_at)),
            quota(
                OIDC_PROVIDERS,
                max_providers,
                name_of(model, &max_providers_at),
            ),
            quota(ASSOCIATIONS, pod, "the shared cluster"),
            quota(
                CLUSTERS,
                u64::from(total > 0),
                name_of(model, &cluster_account),
            ),
            quota(
                RAM_SHARES,
                u64::from(!remote.is_empty()),
                name_of(model, &cluster_account),
            ),
            quota(VPCS, u64::from(total > 0), name_of(model, &cluster_account)),
            quota(PEERING, 0, "the shared VPC"),
        ],
    };

    // Decentralized.
    let mut own_roles: BTreeMap<String, u64> = BTreeMap::new();
    let mut own_providers: BTreeMap<String, u64> = BTreeMap::new();
    let mut most_workloads = (String::new(), 0u64);
    let mut most_pod = (String::new(), 0u64);
    for (account, ws) in &per_account {
        let (roles, providers) = base_counts(model, &workloads, account);
        own_roles.insert(account.clone(), roles + ws.len() as u64);
        let uses_irsa = ws.iter().any(|w| w.mechanism == Mechanism::Irsa);
        own_providers.insert(account.clone(), providers + u64::from(uses_irsa));
        let n = ws.len() as u64;
        if n > most_workloads.1 {
            most_workloads = (account.clone(), n);
        }
        let p = ws.iter().filter(|w| w.mechanism != Mechanism::Irsa).count() as u64;
        if p > most_pod.1 {
            most_pod = (account.clone(), p);
        }
    }
    let (max_roles_at, max_roles) = max_of(&own_roles);
    let (max_providers_at, max_providers) = max_of(&own_providers);
    let clusters = accounts.len() as u64;
    let decentralized = Layout {
        name: "decentralized",
        clusters,
        vpcs: clusters,
        ram_shares: 0,
        iam_roles: total,
        cross_account_trusts: 0,
        oidc_providers: irsa_accounts.len() as u64,
        pod_identity_associations: pod,
        workloads_per_cluster: most_workloads.1,
        vpc_peering_routes: clusters * clusters.saturating_sub(1) / 2,
        transit_gateway_attachments: if clusters > 1 { clusters } else { 0 },
        quotas: vec![
            quota(IAM_ROLES, max_roles, name_of(model, &max_roles_at)),
            quota(
                OIDC_PROVIDERS,
                max_providers,
                name_of(model, &max_providers_at),
            ),
            quota(
                ASSOCIATIONS,
                most_pod.1,
                format!("the cluster of {}", name_of(model, &most_pod.0)),
            ),
            quota(CLUSTERS, u64::from(clusters > 0), "each workload account"),
            quota(RAM_SHARES, 0, "every account"),
            quota(VPCS, u64::from(clusters > 0), "each workload account"),
            quota(
                PEERING,
                clusters.saturating_sub(1),
                "each cluster VPC, in a full mesh",
            ),
        ],
    };
    Comparison {
        workloads,
        workload_accounts: accounts,
        cluster_account,
        centralized,
        decentralized,
    }
}

fn max_of(counts: &BTreeMap<String, u64>) -> (String, u64) {
    counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(k, v)| (k.clone(), *v))
        .unwrap_or_default()
}

impl Comparison {
    /// The side-by-side table, for people.
    pub fn table(&self) -> String {
        let c = &self.centralized;
        let d = &self.decentralized;
        let mut rows: Vec<(String, String, String)> = vec![
            (
                "clusters".into(),
                c.clusters.to_string(),
                d.clusters.to_string(),
            ),
            ("VPCs".into(), c.vpcs.to_string(), d.vpcs.to_string()),
            (
                "RAM resource shares".into(),
                c.ram_shares.to_string(),
                d.ram_shares.to_string(),
            ),
            (
                "IAM roles for workloads".into(),
                c.iam_roles.to_string(),
                d.iam_roles.to_string(),
            ),
            (
                "cross-account trusts".into(),
                c.cross_account_trusts.to_string(),
                d.cross_account_trusts.to_string(),
            ),
            (
                "OIDC providers (IRSA)".into(),
                c.oidc_providers.to_string(),
                d.oidc_providers.to_string(),
            ),
            (
                "Pod Identity associations".into(),
                c.pod_identity_associations.to_string(),
                d.pod_identity_associations.to_string(),
            ),
            (
                "workloads one cluster failure reaches".into(),
                c.workloads_per_cluster.to_string(),
                d.workloads_per_cluster.to_string(),
            ),
            (
                "routes between cluster VPCs (peering mesh)".into(),
                c.vpc_peering_routes.to_string(),
                d.vpc_peering_routes.to_string(),
            ),
            (
                "  or transit gateway attachments".into(),
                c.transit_gateway_attachments.to_string(),
                d.transit_gateway_attachments.to_string(),
            ),
        ];
        for (qc, qd) in c.quotas.iter().zip(&d.quotas) {
            rows.push((
                format!("headroom: {} (default {})", qc.name, qc.quota),
                format!("{} ({} used at {})", qc.headroom, qc.used, qc.at),
                format!("{} ({} used at {})", qd.headroom, qd.used, qd.at),
            ));
        }
        let width = |i: usize| {
            rows.iter()
                .map(|r| match i {
                    0 => r.0.chars().count(),
                    1 => r.1.chars().count(),
                    _ => r.2.chars().count(),
                })
                .chain([match i {
                    0 => 0,
                    1 => "centralized".len(),
                    _ => "decentralized".len(),
                }])
                .max()
                .unwrap_or(0)
        };
        let (w0, w1) = (width(0), width(1));
        let mut out = String::new();
        out.push_str(&format!(
            "{} workload(s) in {} workload account(s); centralized cluster account: {}\n",
            self.workloads.len(),
            self.workload_accounts.len(),
            self.cluster_account
        ));
        let arn_width = self
            .workloads
            .iter()
            .map(|w| w.role_arn.len())
            .max()
            .unwrap_or(0);
        for w in &self.workloads {
            let who = match (&w.namespace, &w.service_account) {
                (Some(ns), Some(sa)) => format!("{ns}/{sa}"),
                _ => "(service account not pinned by the trust policy)".to_string(),
            };
            let label = w.mechanism.label();
            out.push_str(&format!(
                "  {:<arn_width$}  {label:<27}  {who}\n",
                w.role_arn
            ));
        }
        out.push('\n');
        out.push_str(&format!(
            "{:<w0$}  {:<w1$}  {}\n",
            "", "centralized", "decentralized"
        ));
        for (label, central, decentral) in rows {
            out.push_str(&format!("{label:<w0$}  {central:<w1$}  {decentral}\n"));
        }
        out
    }
}
