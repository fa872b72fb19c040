//! A synthetic organization of realistic shape, written as model files
//! (`org.yaml`, one YAML file per account, JSON policy files) that
//! `orgtwin_model::load` reads back: what `orgtwin generate` writes and what
//! the analyzer's benchmark analyzes.
//!
//! The shape is the EKS Best Practices Guide's multi-account layout, scaled:
//!
//! - a management account with the platform team's users (who assume
//!   `platform-admin` in every member account) and a security auditor (who
//!   assumes `security-audit`);
//! - OUs `Infrastructure` (the cluster accounts) and `Workloads`, with
//!   `Prod`, `NonProd` and `Prod-Regulated` nested under it (the workload
//!   accounts); `FullAWSAccess` at every level, `ProtectEksSessionTags` at
//!   the root, a data-perimeter RCP on `Workloads`;
//! - shared clusters spread over the cluster accounts (the centralized
//!   model), and a fifth of the clusters in workload accounts (the
//!   decentralized model), each with namespaces and service accounts;
//! - in each cluster account the Pod Identity roles `eks-pod-chain` (allowed
//!   only to assume `abac-*` roles) and `eks-pod-target` (the first role of
//!   associations with a target role);
//! - the *cross-account trusts*: roles in workload accounts that admit one
//!   service account of a cluster in a cluster account, 70% by role chaining
//!   into an ABAC trust (`abac-*`, the cluster account's root with
//!   `StringEquals` on `aws:PrincipalTag/eks-cluster-arn`,
//!   `kubernetes-namespace` and `kubernetes-service-account`), 20% as the
//!   target role of an association (`target-*`, the `eks-pod-target` role
//!   with the same keys as `aws:RequestTag/...`), 10% by IRSA (`irsa-*`,
//!   through an OIDC provider of the cluster's issuer registered in the
//!   workload account); each reads its account's data bucket;
//! - the rest of the service accounts: two in three are associated with
//!   `eks-pod-chain` but pinned by no trust (the guide's traps: the same
//!   service account name in another namespace, the same namespace in
//!   another cluster), one in three has no AWS identity;
//! - a data bucket (with a bucket policy) in every workload account, a logs
//!   bucket in every fourth, an organization-wide artifacts bucket in the
//!   first cluster account; decentralized clusters' pods also read the
//!   reports of a neighbour's bucket, which its policy allows;
//! - a CI user that assumes `deploy-role` (with an external id) in every
//!   tenth workload account, and filler roles trusting EC2, Lambda, ECS
//!   tasks and EKS, so that every account has exactly the roles asked for.
//!
//! Everything random (which workload account holds each trust, which roles
//! may write, which buckets hold a seed object) comes from a small PRNG
//! seeded by [`Spec::seed`]: the same spec gives the same files.

use std::fmt;

mod document;
mod files;

use files::{account_file, data_bucket_policy, root_file, shared_policies};

/// Roles per account when not given.
pub const DEFAULT_ROLES_PER_ACCOUNT: usize = 20;
/// Service accounts per cluster when not given.
pub const DEFAULT_SERVICE_ACCOUNTS_PER_CLUSTER: usize = 250;
/// Cross-account trusts per account when not given.
pub const DEFAULT_TRUSTS_PER_ACCOUNT: usize = 3;
/// The fewest roles an account can have: a workload account's
/// `platform-admin`, `security-audit`, a decentralized cluster's pod role,
/// `deploy-role`, and one for a trust.
pub const MIN_ROLES_PER_ACCOUNT: usize = 5;

const BASE_ACCOUNT_ID: u64 = 100_000_000_000;
const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];
/// The OUs and their parents.
const ORGANIZATIONAL_UNITS: [(&str, &str); 5] = [
    ("Infrastructure", "root"),
    ("Workloads", "root"),
    ("Prod", "Workloads"),
    ("NonProd", "Workloads"),
    ("Prod-Regulated", "Prod"),
];
const FILLERS: [(&str, &str); 4] = [
    ("ec2-app", "ec2"),
    ("lambda-fn", "lambda"),
    ("ecs-task", "ecs-tasks"),
    ("eks-cluster", "eks"),
];

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Accounts, the management account included (at least 3).
    pub accounts: usize,
    pub clusters: usize,
    pub roles_per_account: usize,
    pub service_accounts_per_cluster: usize,
    /// Roles in workload accounts that admit a cluster's service account
    /// from a cluster account; `None`: three per account, as many as fit.
    pub cross_account_trusts: Option<usize>,
    pub seed: u64,
}

impl Spec {
    /// `accounts` and `clusters`, the rest at their defaults.
    pub fn new(accounts: usize, clusters: usize) -> Spec {
        Spec {
            accounts,
            clusters,
            roles_per_account: DEFAULT_ROLES_PER_ACCOUNT,
            service_accounts_per_cluster: DEFAULT_SERVICE_ACCOUNTS_PER_CLUSTER,
            cross_account_trusts: None,
            seed: 1,
        }
    }
}

/// Why a spec cannot be generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GenerateError {
    TooFewAccounts(usize),
    NoClusters,
    TooFewRoles(usize),
    NoServiceAccounts,
    TooManyTrusts {
        asked: usize,
        most: usize,
        why: String,
    },
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerateError::TooFewAccounts(n) => write!(
                f,
                "`{n}` accounts: at least 3 are needed (management, a cluster account, a \
                 workload account)"
            ),
            GenerateError::NoClusters => f.write_str("at least one cluster is needed"),
            GenerateError::TooFewRoles(n) => write!(
                f,
                "`{n}` roles per account: at least {MIN_ROLES_PER_ACCOUNT} are needed"
            ),
            GenerateError::NoServiceAccounts => {
                f.write_str("at least one service account per cluster is needed")
            }
            GenerateError::TooManyTrusts { asked, most, why } => write!(
                f,
                "`{asked}` cross-account trusts: at most {most} fit ({why})"
            ),
        }
    }
}

impl std::error::Error for GenerateError {}

/// How a cross-account trust admits its service account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustKind {
    /// Pod Identity into `eks-pod-chain`, then `sts:AssumeRole` into an ABAC
    /// trust on the session's principal tags.
    Abac,
    /// Pod Identity with this role as the association's target role.
    Target,
    /// IRSA through the workload account's OIDC provider.
    Irsa,
}

/// A service account and what it should reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    pub kind: TrustKind,
    /// `CLUSTER/NAMESPACE/SERVICEACCOUNT`.
    pub service_account: String,
    pub role_arn: String,
    /// The data bucket's ARN.
    pub bucket_arn: String,
}

/// What was generated, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub accounts: usize,
    pub organizational_units: usize,
    pub roles: usize,
    pub users: usize,
    pub clusters: usize,
    pub service_accounts: usize,
    pub associations: usize,
    pub irsa_service_accounts: usize,
    pub cross_account_trusts: usize,
    pub buckets: usize,
    /// The first trust of each kind, and the service account it admits.
    pub samples: Vec<Sample>,
    /// A trap: a service account associated with `eks-pod-chain`, with the
    /// name of the ABAC sample's service account in another namespace; its
    /// `role_arn` and `bucket_arn` are the sample's, which it must not reach.
    pub trap: Option<Sample>,
}

/// The files, `(relative path, text)`, root file `org.yaml` first.
#[derive(Clone, Debug)]
pub struct Generated {
    pub files: Vec<(String, String)>,
    pub summary: Summary,
}

impl Generated {
    /// The files as `orgtwin_model::load_from_memory` takes them.
    pub fn file_refs(&self) -> Vec<(&str, &str)> {
        self.files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect()
    }
}

/// SplitMix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Management,
    Cluster,
    Workload,
}

struct Account {
    id: String,
    name: String,
    kind: Kind,
    parent: &'static str,
    /// Workload accounts: trusts held, the decentralized cluster hosted, a
    /// `deploy-role`, the account whose pods read this bucket's reports, a
    /// seed object, a logs bucket.
    trusts: Vec<usize>,
    hosts: Option<usize>,
    deploy: bool,
    reader: Option<usize>,
    object: bool,
    logs: bool,
    /// Cluster accounts: the clusters run here.
    clusters: Vec<usize>,
}

struct Cluster {
    name: String,
    account: usize,
    region: &'static str,
    issuer_id: String,
    /// Position among the centralized clusters.
    central: Option<usize>,
}

impl Cluster {
    fn issuer_host_path(&self) -> String {
        format!(
            "oidc.eks.{}.amazonaws.com/id/{}",
            self.region, self.issuer_id
        )
    }
}

struct Trust {
    kind: TrustKind,
    cluster: usize,
    service_account: usize,
    account: usize,
    writer: bool,
}

/// The plan: every account, cluster and trust, before any text.
struct Plan {
    org_id: String,
    accounts: Vec<Account>,
    clusters: Vec<Cluster>,
    trusts: Vec<Trust>,
    central: usize,
    namespaces: usize,
    /// Each service account's place in the order trusts pin a shared
    /// cluster's service accounts (see [`pinning_order`]).
    rank: Vec<usize>,
    spec: Spec,
}

/// Generates the organization `spec` describes.
pub fn generate(spec: &Spec) -> Result<Generated, GenerateError> {
    let plan = plan(spec)?;
    let mut files = Vec::with_capacity(plan.accounts.len() + 32);
    files.push(("org.yaml".to_string(), root_file(&plan)));
    files.extend(shared_policies(&plan));
    let mut summary = Summary {
        accounts: plan.accounts.len(),
        organizational_units: ORGANIZATIONAL_UNITS.len(),
        clusters: plan.clusters.len(),
        cross_account_trusts: plan.trusts.len(),
        ..Summary::default()
    };
    for (index, account) in plan.accounts.iter().enumerate() {
        let text = account_file(&plan, index, account, &mut summary);
        files.push((format!("accounts/{}.yaml", account.name), text));
        if account.kind == Kind::Workload {
            files.push((
                format!("policies/buckets/{}.json", data_bucket(account)),
                data_bucket_policy(&plan, account),
            ));
        }
    }
    summary.samples = samples(&plan);
    summary.trap = trap(&plan);
    Ok(Generated { files, summary })
}

fn plan(spec: &Spec) -> Result<Plan, GenerateError> {
    let n = spec.accounts;
    if n < 3 {
        return Err(GenerateError::TooFewAccounts(n));
    }
    if spec.clusters == 0 {
        return Err(GenerateError::NoClusters);
    }
    if spec.roles_per_account < MIN_ROLES_PER_ACCOUNT {
        return Err(GenerateError::TooFewRoles(spec.roles_per_account));
    }
    let sas = spec.service_accounts_per_cluster;
    if sas == 0 {
        return Err(GenerateError::NoServiceAccounts);
    }
    let mut rng = Rng(spec.seed ^ 0x6F72_6774_7769_6E21);
    let cluster_accounts = (n / 20).max(1);
    let workloads = n - 1 - cluster_accounts;
    let decentralized = match spec.clusters {
        1 => 0,
        m => (m / 5).max(1).min(workloads),
    };
    let central = spec.clusters - decentralized;
    let ous = ["Prod", "Prod", "NonProd", "Prod-Regulated"];
    let mut accounts: Vec<Account> = (0..n)
        .map(|i| {
            let (kind, name, parent) = match i {
                0 => (Kind::Management, "management".to_string(), "root"),
                i if i <= cluster_accounts => {
                    (Kind::Cluster, format!("cluster-{i:03}"), "Infrastructure")
                }
                i => {
                    let w = i - cluster_accounts;
                    let parent = ous.get(w % ous.len()).copied().unwrap_or("Workloads");
                    (Kind::Workload, format!("workload-{w:04}"), parent)
                }
            };
            Account {
                id: format!("{}", BASE_ACCOUNT_ID + i as u64),
                name,
                kind,
                parent,
                trusts: Vec::new(),
                hosts: None,
                deploy: kind == Kind::Workload && (i - cluster_accounts) % 10 == 1,
                reader: None,
                object: kind == Kind::Workload && rng.below(3) == 0,
                logs: kind == Kind::Workload && (i - cluster_accounts) % 4 == 1,
                clusters: Vec::new(),
            }
        })
        .collect();
    let first_workload = 1 + cluster_accounts;

    let mut clusters = Vec::with_capacity(spec.clusters);
    for c in 0..central {
        let account = 1 + c % cluster_accounts;
        clusters.push(Cluster {
            name: format!("shared-{c:03}"),
            account,
            region: REGIONS
                .get(c % REGIONS.len())
                .copied()
                .unwrap_or("us-east-1"),
            issuer_id: format!("{:016X}{:016X}", rng.next(), rng.next()),
            central: Some(c),
        });
    }
    for d in 0..decentralized {
        let account = first_workload + d * workloads / decentralized;
        let name = accounts
            .get(account)
            .map(|a| format!("{}-eks", a.name))
            .unwrap_or_default();
        clusters.push(Cluster {
            name,
            account,
            region: "us-east-1",
            issuer_id: format!("{:016X}{:016X}", rng.next(), rng.next()),
            central: None,
        });
    }
    for (index, cluster) in clusters.iter().enumerate() {
        if let Some(account) = accounts.get_mut(cluster.account) {
            match account.kind {
                Kind::Workload => account.hosts = Some(index),
                _ => account.clusters.push(index),
            }
        }
    }
    // Pods of a decentralized cluster read the reports of the next
    // workload account's bucket.
    for w in 0..workloads {
        let host = first_workload + w;
        let neighbour = first_workload + (w + 1) % workloads;
        if neighbour != host
            && accounts.get(host).is_some_and(|a| a.hosts.is_some())
            && let Some(a) = accounts.get_mut(neighbour)
        {
            a.reader = Some(host);
        }
    }

    let slots: Vec<usize> = (first_workload..n)
        .map(|i| {
            let a = accounts.get(i);
            let base = 2
                + usize::from(a.is_some_and(|a| a.hosts.is_some()))
                + usize::from(a.is_some_and(|a| a.deploy));
            spec.roles_per_account - base
        })
        .collect();
    let capacity: usize = slots.iter().sum();
    let pinnable = central * sas;
    let trusts = match spec.cross_account_trusts {
        None => (DEFAULT_TRUSTS_PER_ACCOUNT * n).min(capacity).min(pinnable),
        Some(t) if t > capacity => {
            return Err(GenerateError::TooManyTrusts {
                asked: t,
                most: capacity,
                why: "each takes a role in a workload account; raise --roles-per-account".into(),
            });
        }
        Some(t) if t > pinnable => {
            return Err(GenerateError::TooManyTrusts {
                asked: t,
                most: pinnable,
                why: "each admits its own service account of a shared cluster; raise \
                      --service-accounts-per-cluster or --clusters"
                    .into(),
            });
        }
        Some(t) => t,
    };
    let namespaces = sas.div_ceil(25).max(sas.min(2));
    let order = pinning_order(sas, namespaces);
    let mut rank = vec![0; sas];
    for (place, &j) in order.iter().enumerate() {
        if let Some(r) = rank.get_mut(j) {
            *r = place;
        }
    }
    let mut used = vec![0usize; workloads];
    let mut planned = Vec::with_capacity(trusts);
    for k in 0..trusts {
        let kind = match k % 10 {
            0 | 5 => TrustKind::Target,
            3 => TrustKind::Irsa,
            _ => TrustKind::Abac,
        };
        let start = rng.below(workloads);
        let Some(w) = (0..workloads)
            .map(|off| (start + off) % workloads)
            .find(|&w| used.get(w) < slots.get(w))
        else {
            break;
        };
        if let Some(u) = used.get_mut(w) {
            *u += 1;
        }
        let account = first_workload + w;
        if let Some(a) = accounts.get_mut(account) {
            a.trusts.push(k);
        }
        planned.push(Trust {
            kind,
            cluster: k % central.max(1),
            service_account: order.get(k / central.max(1)).copied().unwrap_or(0),
            account,
            writer: rng.below(3) == 0,
        });
    }
    Ok(Plan {
        org_id: format!("o-{:010x}", rng.next() & 0xFF_FFFF_FFFF),
        accounts,
        clusters,
        trusts: planned,
        central,
        namespaces,
        rank,
        spec: spec.clone(),
    })
}

/// The order in which the trusts pin a shared cluster's service accounts
/// (`j` is `svc-NNN` of `team-MM` with `NNN = j / namespaces`, `MM = j %
/// namespaces`): by diagonals, so that the first ones have different names
/// in different namespaces, and a pinned service account's namesakes in the
/// other namespaces are left unpinned (the guide's trap) until every name
/// has been pinned once.
fn pinning_order(service_accounts: usize, namespaces: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..service_accounts).collect();
    order.sort_by_key(|&j| {
        let (name, namespace) = (j / namespaces, j % namespaces);
        (
            (namespace + namespaces - name % namespaces) % namespaces,
            name,
        )
    });
    order
}

impl Plan {
    /// The trust pinning service account `j` of a centralized cluster.
    fn trust_of(&self, cluster: &Cluster, j: usize) -> Option<usize> {
        let k = self.rank.get(j)? * self.central + cluster.central?;
        (k < self.trusts.len()).then_some(k)
    }

    fn namespace(&self, j: usize) -> String {
        format!("team-{:02}", j % self.namespaces)
    }

    fn service_account(&self, j: usize) -> String {
        format!("svc-{:03}", j / self.namespaces)
    }

    fn account(&self, index: usize) -> Option<&Account> {
        self.accounts.get(index)
    }

    fn cluster_arn(&self, cluster: &Cluster) -> String {
        let account = self.account(cluster.account).map_or("", |a| a.id.as_str());
        format!(
            "arn:aws:eks:{}:{account}:cluster/{}",
            cluster.region, cluster.name
        )
    }

    /// The trust's role: its name and ARN.
    fn trust_role(&self, trust: &Trust) -> (String, String) {
        let prefix = match trust.kind {
            TrustKind::Abac => "abac",
            TrustKind::Target => "target",
            TrustKind::Irsa => "irsa",
        };
        let cluster = self
            .clusters
            .get(trust.cluster)
            .map_or("", |c| c.name.as_str());
        let name = format!(
            "{prefix}-{cluster}-{}-{}",
            self.namespace(trust.service_account),
            self.service_account(trust.service_account)
        );
        let account = self.account(trust.account).map_or("", |a| a.id.as_str());
        let arn = format!("arn:aws:iam::{account}:role/{name}");
        (name, arn)
    }

    fn label(&self, cluster: &Cluster, j: usize) -> String {
        format!(
            "{}/{}/{}",
            cluster.name,
            self.namespace(j),
            self.service_account(j)
        )
    }
}

fn data_bucket(account: &Account) -> String {
    format!("{}-data-{}", account.name, account.id)
}

fn samples(plan: &Plan) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::new();
    for trust in &plan.trusts {
        if out.iter().any(|s| s.kind == trust.kind) {
            continue;
        }
        let (Some(cluster), Some(account)) = (
            plan.clusters.get(trust.cluster),
            plan.account(trust.account),
        ) else {
            continue;
        };
        out.push(Sample {
            kind: trust.kind,
            service_account: plan.label(cluster, trust.service_account),
            role_arn: plan.trust_role(trust).1,
            bucket_arn: format!("arn:aws:s3:::{}", data_bucket(account)),
        });
    }
    out
}

/// Whether an unpinned service account of a shared cluster is associated
/// with `eks-pod-chain` (two in three are).
fn chained_unpinned(j: usize) -> bool {
    j % 3 != 2
}

fn trap(plan: &Plan) -> Option<Sample> {
    plan.trusts
        .iter()
        .filter(|t| t.kind == TrustKind::Abac)
        .find_map(|trust| {
            let cluster = plan.clusters.get(trust.cluster)?;
            let account = plan.account(trust.account)?;
            let j = trust.service_account;
            let same_name = (j / plan.namespaces) * plan.namespaces;
            let other = (same_name..same_name + plan.namespaces).find(|&o| {
                o != j
                    && o < plan.spec.service_accounts_per_cluster
                    && plan.trust_of(cluster, o).is_none()
                    && chained_unpinned(o)
            })?;
            Some(Sample {
                kind: TrustKind::Abac,
                service_account: plan.label(cluster, other),
                role_arn: plan.trust_role(trust).1,
                bucket_arn: format!("arn:aws:s3:::{}", data_bucket(account)),
            })
        })
}
