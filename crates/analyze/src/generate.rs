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

use std::fmt::{self, Write as _};

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
                "`{n}` accounts: at least 3 are needed (management, a cluster account, a workload account)"
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
        organizational_units: 5,
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
            service_account: k / central.max(1),
            account,
            writer: rng.below(3) == 0,
        });
    }
    let namespaces = sas.div_ceil(25).max(sas.min(2));
    Ok(Plan {
        org_id: format!("o-{:010x}", rng.next() & 0xFF_FFFF_FFFF),
        accounts,
        clusters,
        trusts: planned,
        central,
        namespaces,
        spec: spec.clone(),
    })
}

impl Plan {
    /// The trust pinning service account `j` of a centralized cluster.
    fn trust_of(&self, cluster: &Cluster, j: usize) -> Option<usize> {
        let k = j * self.central + cluster.central?;
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

/// YAML text, line by line.
struct Text(String);

impl Text {
    fn line(&mut self, indent: usize, args: fmt::Arguments<'_>) {
        for _ in 0..indent {
            self.0.push(' ');
        }
        let _ = self.0.write_fmt(args);
        self.0.push('\n');
    }

    /// `key: |` and the JSON document indented below it.
    fn document(&mut self, indent: usize, key: &str, json: &str) {
        self.line(indent, format_args!("{key}: |"));
        self.line(indent + 2, format_args!("{json}"));
    }
}

fn root_file(plan: &Plan) -> String {
    let mut t = Text(String::with_capacity(64 * plan.accounts.len() + 4096));
    t.line(0, format_args!("# A synthetic organization written by `orgtwin generate`: {} accounts, {} clusters, seed {}.", plan.accounts.len(), plan.clusters.len(), plan.spec.seed));
    t.line(0, format_args!("organization:"));
    t.line(2, format_args!("id: {}", plan.org_id));
    t.line(
        2,
        format_args!(
            "management_account: \"{}\"",
            plan.account(0).map_or("", |a| a.id.as_str())
        ),
    );
    t.line(2, format_args!("organizational_units:"));
    t.line(4, format_args!("- name: Infrastructure"));
    t.line(4, format_args!("- name: Workloads"));
    for (name, parent) in [
        ("Prod", "Workloads"),
        ("NonProd", "Workloads"),
        ("Prod-Regulated", "Prod"),
    ] {
        t.line(4, format_args!("- name: {name}"));
        t.line(6, format_args!("parent: {parent}"));
    }
    t.line(0, format_args!("include:"));
    t.line(2, format_args!("- accounts/*.yaml"));
    t.line(0, format_args!("scps:"));
    t.line(2, format_args!("- name: FullAWSAccess"));
    t.line(
        4,
        format_args!("description: Allows access to every operation"),
    );
    t.line(
        4,
        format_args!("document: {{file: policies/scp-full-aws-access.json}}"),
    );
    t.line(4, format_args!("targets:"));
    for level in [
        "root",
        "Infrastructure",
        "Workloads",
        "Prod",
        "NonProd",
        "Prod-Regulated",
    ] {
        t.line(6, format_args!("- {level}"));
    }
    for account in &plan.accounts {
        t.line(6, format_args!("- \"{}\"", account.id));
    }
    t.line(2, format_args!("- name: ProtectEksSessionTags"));
    t.line(
        4,
        format_args!(
            "description: Only platform-admin may set or remove kubernetes-* and eks-* tags"
        ),
    );
    t.line(
        4,
        format_args!("document: {{file: policies/scp-protect-eks-session-tags.json}}"),
    );
    t.line(4, format_args!("targets: [root]"));
    t.line(0, format_args!("rcps:"));
    t.line(2, format_args!("- name: WorkloadsDataPerimeter"));
    t.line(
        4,
        format_args!(
            "description: Deny S3 and role assumption to principals outside the organization"
        ),
    );
    t.line(
        4,
        format_args!("document: {{file: policies/rcp-data-perimeter.json}}"),
    );
    t.line(4, format_args!("targets: [Workloads]"));
    t.0
}

fn statement(sid: &str, actions: &[&str], resource: &str) -> String {
    let actions: Vec<String> = actions.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        r#"{{"Sid": "{sid}", "Effect": "Allow", "Action": [{}], "Resource": "{resource}"}}"#,
        actions.join(", ")
    )
}

fn policy(statements: &[String]) -> String {
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        statements.join(", ")
    )
}

fn service_trust(service: &str) -> String {
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"Service": "{service}.amazonaws.com"}}, "Action": "sts:AssumeRole"}}]}}"#
    )
}

fn shared_policies(plan: &Plan) -> Vec<(String, String)> {
    let management = plan.account(0).map_or("", |a| a.id.as_str());
    let mut out = vec![
        (
            "policies/scp-full-aws-access.json".to_string(),
            policy(&[statement("FullAWSAccess", &["*"], "*")]),
        ),
        (
            "policies/scp-protect-eks-session-tags.json".to_string(),
            r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "DenyTaggingWithEksKeys", "Effect": "Deny",
   "Action": ["iam:TagRole", "iam:TagUser", "iam:UntagRole", "iam:UntagUser"], "Resource": "*",
   "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": ["kubernetes-*", "eks-*"]},
                 "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/platform-admin"}}},
  {"Sid": "DenyTagOnCreateWithEksKeys", "Effect": "Deny",
   "Action": ["iam:CreateRole", "iam:CreateUser"], "Resource": "*",
   "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": ["kubernetes-*", "eks-*"]},
                 "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/platform-admin"}}}]}
"#
            .to_string(),
        ),
        (
            "policies/rcp-data-perimeter.json".to_string(),
            format!(
                r#"{{"Version": "2012-10-17", "Statement": [
  {{"Sid": "EnforceOrgIdentities", "Effect": "Deny", "Principal": "*",
   "Action": ["s3:*", "sts:AssumeRole", "sts:SetContext", "sts:SetSourceIdentity", "sts:TagSession"],
   "Resource": "*",
   "Condition": {{"StringNotEqualsIfExists": {{"aws:PrincipalOrgID": "{}"}},
                 "BoolIfExists": {{"aws:PrincipalIsAWSService": "false"}}}}}}]}}
"#,
                plan.org_id
            ),
        ),
        (
            "policies/trust-management-account.json".to_string(),
            format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "FromManagementAccount", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{management}:root"}}, "Action": "sts:AssumeRole"}}]}}"#
            ),
        ),
        (
            "policies/trust-eks-pod-identity.json".to_string(),
            r#"{"Version": "2012-10-17", "Statement": [{"Sid": "AllowEksAuthToAssumeRoleForPodIdentity", "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}"#.to_string(),
        ),
        (
            "policies/assume-platform-admin.json".to_string(),
            policy(&[statement(
                "AssumePlatformAdmin",
                &["sts:AssumeRole"],
                "arn:aws:iam::*:role/platform-admin",
            )]),
        ),
    ];
    for (_, service) in FILLERS {
        out.push((
            format!("policies/trust-{service}.json"),
            service_trust(service),
        ));
    }
    out
}

fn data_bucket_policy(plan: &Plan, account: &Account) -> String {
    let bucket = data_bucket(account);
    let mut statements = vec![format!(
        r#"{{"Sid": "OnlyPlatformAdminChangesTheBucket", "Effect": "Deny", "Principal": "*", "Action": ["s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"], "Resource": "arn:aws:s3:::{bucket}", "Condition": {{"ArnNotLike": {{"aws:PrincipalArn": ["arn:aws:iam::{id}:role/platform-admin", "arn:aws:iam::{id}:root"]}}}}}}"#,
        id = account.id
    )];
    if let Some(reader) = account.reader.and_then(|r| plan.account(r)) {
        statements.push(format!(
            r#"{{"Sid": "NeighbourPodsReadReports", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{}:role/eks-local-pod"}}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/reports/*"}}"#,
            reader.id
        ));
    }
    policy(&statements)
}

fn account_file(plan: &Plan, index: usize, account: &Account, summary: &mut Summary) -> String {
    let mut t = Text(String::with_capacity(16_384));
    t.line(0, format_args!("accounts:"));
    t.line(2, format_args!("- id: \"{}\"", account.id));
    t.line(4, format_args!("name: {}", account.name));
    t.line(4, format_args!("email: aws+{}@example.com", account.name));
    t.line(4, format_args!("parent: {}", account.parent));
    buckets(&mut t, plan, index, account, summary);
    clusters(&mut t, plan, account, summary);
    t.line(4, format_args!("iam:"));
    t.line(6, format_args!("roles:"));
    let roles = roles(&mut t, plan, account);
    summary.roles += roles;
    users(&mut t, index, account, summary);
    oidc_providers(&mut t, plan, account);
    t.0
}

fn buckets(t: &mut Text, plan: &Plan, index: usize, account: &Account, summary: &mut Summary) {
    let artifacts = account.kind == Kind::Cluster && index == 1;
    if account.kind != Kind::Workload && !artifacts {
        return;
    }
    t.line(4, format_args!("s3:"));
    t.line(6, format_args!("buckets:"));
    if artifacts {
        let name = format!("org-shared-artifacts-{}", account.id);
        t.line(8, format_args!("- name: {name}"));
        t.document(
            10,
            "policy",
            &format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "OrganizationReads", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{name}/*", "Condition": {{"StringEquals": {{"aws:PrincipalOrgID": "{}"}}}}}}]}}"#,
                plan.org_id
            ),
        );
        summary.buckets += 1;
        return;
    }
    t.line(8, format_args!("- name: {}", data_bucket(account)));
    t.line(
        10,
        format_args!(
            "policy: {{file: ../policies/buckets/{}.json}}",
            data_bucket(account)
        ),
    );
    t.line(
        10,
        format_args!(
            "tags: {{workload: {}, data-classification: internal}}",
            account.name
        ),
    );
    if account.object {
        t.line(10, format_args!("objects:"));
        t.line(12, format_args!("- key: reports/summary.csv"));
        t.line(14, format_args!("content_type: text/csv"));
        t.line(14, format_args!("content: |"));
        t.line(16, format_args!("team,total"));
        t.line(16, format_args!("{},{}", account.name, account.id));
    }
    summary.buckets += 1;
    if account.logs {
        t.line(
            8,
            format_args!("- name: {}-logs-{}", account.name, account.id),
        );
        summary.buckets += 1;
    }
}

fn clusters(t: &mut Text, plan: &Plan, account: &Account, summary: &mut Summary) {
    let indices: Vec<usize> = account
        .clusters
        .iter()
        .copied()
        .chain(account.hosts)
        .collect();
    if indices.is_empty() {
        return;
    }
    t.line(4, format_args!("eks:"));
    t.line(6, format_args!("clusters:"));
    let sas = plan.spec.service_accounts_per_cluster;
    for cluster in indices.iter().filter_map(|&c| plan.clusters.get(c)) {
        t.line(8, format_args!("- name: {}", cluster.name));
        t.line(10, format_args!("region: {}", cluster.region));
        t.line(10, format_args!("oidc_issuer_id: {}", cluster.issuer_id));
        t.line(10, format_args!("service_accounts:"));
        let mut associations = Vec::new();
        for j in 0..sas {
            let (ns, sa) = (plan.namespace(j), plan.service_account(j));
            let trust = plan.trust_of(cluster, j).and_then(|k| plan.trusts.get(k));
            let irsa = trust.filter(|t| t.kind == TrustKind::Irsa);
            match irsa {
                Some(trust) => {
                    t.line(12, format_args!("- namespace: {ns}"));
                    t.line(14, format_args!("name: {sa}"));
                    t.line(14, format_args!("annotations:"));
                    t.line(
                        16,
                        format_args!(
                            "eks.amazonaws.com/role-arn: \"{}\"",
                            plan.trust_role(trust).1
                        ),
                    );
                    summary.irsa_service_accounts += 1;
                }
                None => t.line(12, format_args!("- {{namespace: {ns}, name: {sa}}}")),
            }
            let role = |name: &str| format!("arn:aws:iam::{}:role/{name}", account.id);
            let association = match (cluster.central, trust) {
                (None, _) if j % 2 == 0 => Some((role("eks-local-pod"), None)),
                (None, _) => None,
                (Some(_), Some(trust)) => match trust.kind {
                    TrustKind::Abac => Some((role("eks-pod-chain"), None)),
                    TrustKind::Target => {
                        Some((role("eks-pod-target"), Some(plan.trust_role(trust).1)))
                    }
                    TrustKind::Irsa => None,
                },
                (Some(_), None) if chained_unpinned(j) => Some((role("eks-pod-chain"), None)),
                (Some(_), None) => None,
            };
            if let Some(association) = association {
                associations.push((ns, sa, association));
            }
        }
        summary.service_accounts += sas;
        if associations.is_empty() {
            continue;
        }
        t.line(10, format_args!("pod_identity_associations:"));
        for (ns, sa, (role, target)) in &associations {
            t.line(12, format_args!("- namespace: {ns}"));
            t.line(14, format_args!("service_account: {sa}"));
            t.line(14, format_args!("role_arn: \"{role}\""));
            if let Some(target) = target {
                t.line(14, format_args!("target_role_arn: \"{target}\""));
            }
        }
        summary.associations += associations.len();
    }
}

/// One role: name, description, trust, inline policy, managed policies.
struct RoleText<'a> {
    name: &'a str,
    description: &'a str,
    trust: Document<'a>,
    inline: Option<(&'a str, String)>,
    managed: &'a [&'a str],
}

enum Document<'a> {
    File(&'a str),
    Json(String),
}

fn role(t: &mut Text, r: RoleText<'_>) {
    t.line(8, format_args!("- name: {}", r.name));
    t.line(10, format_args!("description: \"{}\"", r.description));
    match &r.trust {
        Document::File(path) => t.line(10, format_args!("trust_policy: {{file: {path}}}")),
        Document::Json(json) => t.document(10, "trust_policy", json),
    }
    if let Some((name, json)) = &r.inline {
        t.line(10, format_args!("inline_policies:"));
        t.line(12, format_args!("- name: {name}"));
        t.document(14, "document", json);
    }
    if !r.managed.is_empty() {
        t.line(10, format_args!("managed_policies:"));
        for arn in r.managed {
            t.line(12, format_args!("- {arn}"));
        }
    }
}

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const S3_READ_ONLY: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";

/// Writes the account's roles; returns how many.
fn roles(t: &mut Text, plan: &Plan, account: &Account) -> usize {
    let mut count = 0;
    let bucket = format!("arn:aws:s3:::{}", data_bucket(account));
    if account.kind != Kind::Management {
        role(
            t,
            RoleText {
                name: "platform-admin",
                description: "The platform team, from the management account",
                trust: Document::File("../policies/trust-management-account.json"),
                inline: None,
                managed: &[ADMIN],
            },
        );
        role(
            t,
            RoleText {
                name: "security-audit",
                description: "The security team's read-only audit, from the management account",
                trust: Document::File("../policies/trust-management-account.json"),
                inline: None,
                managed: &[READ_ONLY],
            },
        );
        count += 2;
    }
    if account.kind == Kind::Cluster {
        role(
            t,
            RoleText {
                name: "eks-pod-chain",
                description: "Pod Identity role of the shared clusters; only chains into abac-* roles",
                trust: Document::File("../policies/trust-eks-pod-identity.json"),
                inline: Some((
                    "ChainIntoWorkloadAccounts",
                    policy(&[statement(
                        "AssumeAbacRoles",
                        &["sts:AssumeRole", "sts:TagSession"],
                        "arn:aws:iam::*:role/abac-*",
                    )]),
                )),
                managed: &[],
            },
        );
        role(
            t,
            RoleText {
                name: "eks-pod-target",
                description: "First role of associations with a target role; only reaches target-* roles",
                trust: Document::File("../policies/trust-eks-pod-identity.json"),
                inline: Some((
                    "AssumeTargetRoles",
                    policy(&[statement(
                        "AssumeTargetRoles",
                        &["sts:AssumeRole", "sts:TagSession"],
                        "arn:aws:iam::*:role/target-*",
                    )]),
                )),
                managed: &[],
            },
        );
        count += 2;
    }
    if account.hosts.is_some() {
        let mut statements = vec![
            statement("ListData", &["s3:ListBucket"], &bucket),
            statement("ReadData", &["s3:GetObject"], &format!("{bucket}/*")),
        ];
        let neighbour = plan.accounts.iter().find(|a| {
            a.reader
                .is_some_and(|r| plan.account(r).is_some_and(|h| h.id == account.id))
        });
        if let Some(neighbour) = neighbour {
            statements.push(statement(
                "ReadNeighbourReports",
                &["s3:GetObject"],
                &format!("arn:aws:s3:::{}/reports/*", data_bucket(neighbour)),
            ));
        }
        role(
            t,
            RoleText {
                name: "eks-local-pod",
                description: "Pod Identity role of this account's own cluster",
                trust: Document::File("../policies/trust-eks-pod-identity.json"),
                inline: Some(("ReadData", policy(&statements))),
                managed: &[],
            },
        );
        count += 1;
    }
    if account.deploy {
        let ci = plan.account(1).map_or("", |a| a.id.as_str());
        role(
            t,
            RoleText {
                name: "deploy-role",
                description: "Deployments by the CI system, with an external id",
                trust: Document::Json(format!(
                    r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "CiDeployerWithExternalId", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{ci}:user/ci-deployer"}}, "Action": "sts:AssumeRole", "Condition": {{"StringEquals": {{"sts:ExternalId": "deploy-{}"}}}}}}]}}"#,
                    account.id
                )),
                inline: Some((
                    "Deploy",
                    policy(&[statement(
                        "WriteData",
                        &["s3:PutObject"],
                        &format!("{bucket}/*"),
                    )]),
                )),
                managed: &[],
            },
        );
        count += 1;
    }
    for trust in account.trusts.iter().filter_map(|&k| plan.trusts.get(k)) {
        trust_role(t, plan, trust, &bucket);
        count += 1;
    }
    let mut filler = 0;
    while count < plan.spec.roles_per_account {
        let (prefix, service) = FILLERS
            .get(filler % FILLERS.len())
            .copied()
            .unwrap_or(("ec2-app", "ec2"));
        let name = format!("{prefix}-{:02}", filler / FILLERS.len() + 1);
        let trust = format!("../policies/trust-{service}.json");
        let inline = (account.kind == Kind::Workload && service == "ec2").then(|| {
            (
                "ReadWriteData",
                policy(&[statement(
                    "ReadWriteData",
                    &["s3:GetObject", "s3:PutObject"],
                    &format!("{bucket}/*"),
                )]),
            )
        });
        let managed: &[&str] = if service == "lambda" {
            &[S3_READ_ONLY]
        } else {
            &[]
        };
        role(
            t,
            RoleText {
                name: &name,
                description: "A service's role: not reachable from pods or users",
                trust: Document::File(&trust),
                inline,
                managed,
            },
        );
        filler += 1;
        count += 1;
    }
    count
}

fn trust_role(t: &mut Text, plan: &Plan, trust: &Trust, bucket: &str) {
    let (Some(cluster), Some(cluster_account)) = (
        plan.clusters.get(trust.cluster),
        plan.clusters
            .get(trust.cluster)
            .and_then(|c| plan.account(c.account)),
    ) else {
        return;
    };
    let (name, _) = plan.trust_role(trust);
    let ns = plan.namespace(trust.service_account);
    let sa = plan.service_account(trust.service_account);
    let cluster_arn = plan.cluster_arn(cluster);
    let tags = |prefix: &str| {
        format!(
            r#""{prefix}/eks-cluster-arn": "{cluster_arn}", "{prefix}/kubernetes-namespace": "{ns}", "{prefix}/kubernetes-service-account": "{sa}""#
        )
    };
    let (trust_json, description) = match trust.kind {
        TrustKind::Abac => (
            format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "PodsOfTheSharedCluster", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{}:root"}}, "Action": ["sts:AssumeRole", "sts:TagSession"], "Condition": {{"StringEquals": {{{}}}}}}}]}}"#,
                cluster_account.id,
                tags("aws:PrincipalTag")
            ),
            "ABAC: one service account of a shared cluster, chained from eks-pod-chain",
        ),
        TrustKind::Target => (
            format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "TargetOfTheAssociation", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{}:role/eks-pod-target"}}, "Action": ["sts:AssumeRole", "sts:TagSession"], "Condition": {{"StringEquals": {{{}}}}}}}]}}"#,
                cluster_account.id,
                tags("aws:RequestTag")
            ),
            "Target role of one service account's Pod Identity association",
        ),
        TrustKind::Irsa => {
            let issuer = cluster.issuer_host_path();
            let account = plan.account(trust.account).map_or("", |a| a.id.as_str());
            (
                format!(
                    r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "ServiceAccountOfTheSharedCluster", "Effect": "Allow", "Principal": {{"Federated": "arn:aws:iam::{account}:oidc-provider/{issuer}"}}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {{"StringEquals": {{"{issuer}:sub": "system:serviceaccount:{ns}:{sa}", "{issuer}:aud": "sts.amazonaws.com"}}}}}}]}}"#
                ),
                "IRSA: one service account of a shared cluster",
            )
        }
    };
    let objects = match trust.kind {
        TrustKind::Target => format!("{bucket}/reports/*"),
        _ => format!("{bucket}/*"),
    };
    let object_actions: &[&str] = if trust.writer {
        &["s3:GetObject", "s3:PutObject"]
    } else {
        &["s3:GetObject"]
    };
    role(
        t,
        RoleText {
            name: &name,
            description,
            trust: Document::Json(trust_json),
            inline: Some((
                "WorkloadData",
                policy(&[
                    statement("ListData", &["s3:ListBucket"], bucket),
                    statement("ObjectsOfTheWorkload", object_actions, &objects),
                ]),
            )),
            managed: &[],
        },
    );
}

fn users(t: &mut Text, index: usize, account: &Account, summary: &mut Summary) {
    match (account.kind, index) {
        (Kind::Management, _) => {
            t.line(6, format_args!("users:"));
            for name in ["platform-engineer-1", "platform-engineer-2"] {
                t.line(8, format_args!("- name: {name}"));
                t.line(10, format_args!("groups: [platform-engineers]"));
            }
            t.line(8, format_args!("- name: security-auditor"));
            t.line(10, format_args!("inline_policies:"));
            t.line(12, format_args!("- name: AssumeSecurityAudit"));
            t.document(
                14,
                "document",
                &policy(&[statement(
                    "AssumeSecurityAudit",
                    &["sts:AssumeRole"],
                    "arn:aws:iam::*:role/security-audit",
                )]),
            );
            t.line(6, format_args!("groups:"));
            t.line(8, format_args!("- name: platform-engineers"));
            t.line(10, format_args!("managed_policies:"));
            t.line(
                12,
                format_args!("- arn:aws:iam::{}:policy/AssumePlatformAdmin", account.id),
            );
            t.line(6, format_args!("policies:"));
            t.line(8, format_args!("- name: AssumePlatformAdmin"));
            t.line(
                10,
                format_args!("document: {{file: ../policies/assume-platform-admin.json}}"),
            );
            summary.users += 3;
        }
        (Kind::Cluster, 1) => {
            t.line(6, format_args!("users:"));
            t.line(8, format_args!("- name: ci-deployer"));
            t.line(10, format_args!("inline_policies:"));
            t.line(12, format_args!("- name: AssumeDeployRoles"));
            t.document(
                14,
                "document",
                &policy(&[statement(
                    "AssumeDeployRoles",
                    &["sts:AssumeRole"],
                    "arn:aws:iam::*:role/deploy-role",
                )]),
            );
            summary.users += 1;
        }
        _ => {}
    }
}

fn oidc_providers(t: &mut Text, plan: &Plan, account: &Account) {
    let mut issuers: Vec<String> = account
        .trusts
        .iter()
        .filter_map(|&k| plan.trusts.get(k))
        .filter(|trust| trust.kind == TrustKind::Irsa)
        .filter_map(|trust| plan.clusters.get(trust.cluster))
        .map(Cluster::issuer_host_path)
        .collect();
    issuers.sort();
    issuers.dedup();
    if issuers.is_empty() {
        return;
    }
    t.line(6, format_args!("oidc_providers:"));
    for issuer in issuers {
        t.line(8, format_args!("- url: https://{issuer}"));
        t.line(10, format_args!("client_ids: [sts.amazonaws.com]"));
    }
}
