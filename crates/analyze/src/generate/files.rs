//! The generated organization as text: the root file, one YAML file per
//! account (roles with their trust and inline policies as JSON blocks,
//! buckets, clusters with service accounts and associations, users, OIDC
//! providers), and the JSON policy files they share.

use std::fmt::{self, Write as _};

use super::document::{Principal, Statement, allow, policy, policy_file, trust as trust_statement};
use super::{
    Account, Cluster, FILLERS, Kind, ORGANIZATIONAL_UNITS, Plan, Summary, Trust, TrustKind,
    chained_unpinned, data_bucket,
};

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

pub(super) fn root_file(plan: &Plan) -> String {
    let mut t = Text(String::with_capacity(32 * plan.accounts.len() + 4096));
    t.line(
        0,
        format_args!(
            "# A synthetic organization written by `orgtwin generate`: {} accounts, {} \
             clusters, seed {}.",
            plan.accounts.len(),
            plan.clusters.len(),
            plan.spec.seed
        ),
    );
    let management = plan.account(0).map_or("", |a| a.id.as_str());
    t.line(0, format_args!("organization:"));
    t.line(2, format_args!("id: {}", plan.org_id));
    t.line(2, format_args!("management_account: \"{management}\""));
    t.line(2, format_args!("organizational_units:"));
    for (name, parent) in ORGANIZATIONAL_UNITS {
        t.line(4, format_args!("- name: {name}"));
        t.line(6, format_args!("parent: {parent}"));
    }
    t.0.push_str(
        "include:
  - accounts/*.yaml
scps:
  - name: FullAWSAccess
    description: Allows access to every operation
    document: {file: policies/scp-full-aws-access.json}
    targets:
      - root
",
    );
    for (name, _) in ORGANIZATIONAL_UNITS {
        t.line(6, format_args!("- {name}"));
    }
    for account in &plan.accounts {
        t.line(6, format_args!("- \"{}\"", account.id));
    }
    t.0.push_str(
        "  - name: ProtectEksSessionTags
    description: Only platform-admin may set or remove kubernetes-* and eks-* tags
    document: {file: policies/scp-protect-eks-session-tags.json}
    targets: [root]
rcps:
  - name: WorkloadsDataPerimeter
    description: Deny S3 and role assumption to principals outside the organization
    document: {file: policies/rcp-data-perimeter.json}
    targets: [Workloads]
",
    );
    t.0
}

/// The policy files the accounts share, indented.
pub(super) fn shared_policies(plan: &Plan) -> Vec<(String, String)> {
    let management = plan.account(0).map_or("", |a| a.id.as_str());
    let eks_keys = ["kubernetes-*", "eks-*"];
    let only_platform_admin = |s: Statement<'static>| {
        s.when("ForAnyValue:StringLike", "aws:TagKeys", &eks_keys)
            .when(
                "ArnNotLike",
                "aws:PrincipalArn",
                &["arn:aws:iam::*:role/platform-admin"],
            )
    };
    let tagging = [
        "iam:TagRole",
        "iam:TagUser",
        "iam:UntagRole",
        "iam:UntagUser",
    ];
    let mut out = vec![
        (
            "scp-full-aws-access",
            policy_file(&[allow("FullAWSAccess", &["*"], "*")]),
        ),
        (
            "scp-protect-eks-session-tags",
            policy_file(&[
                only_platform_admin(allow("DenyTaggingWithEksKeys", &tagging, "*").deny()),
                only_platform_admin(
                    allow(
                        "DenyTagOnCreateWithEksKeys",
                        &["iam:CreateRole", "iam:CreateUser"],
                        "*",
                    )
                    .deny(),
                ),
            ]),
        ),
        (
            "rcp-data-perimeter",
            policy_file(&[allow(
                "EnforceOrgIdentities",
                &[
                    "s3:*",
                    "sts:AssumeRole",
                    "sts:SetContext",
                    "sts:SetSourceIdentity",
                    "sts:TagSession",
                ],
                "*",
            )
            .deny()
            .principal(Principal::Anyone)
            .when(
                "StringNotEqualsIfExists",
                "aws:PrincipalOrgID",
                &[&plan.org_id],
            )
            .when("BoolIfExists", "aws:PrincipalIsAWSService", &["false"])]),
        ),
        (
            "trust-management-account",
            policy_file(&[trust_statement(
                "FromManagementAccount",
                Principal::Named("AWS", format!("arn:aws:iam::{management}:root")),
                &["sts:AssumeRole"],
            )]),
        ),
        (
            "trust-eks-pod-identity",
            policy_file(&[trust_statement(
                "AllowEksAuthToAssumeRoleForPodIdentity",
                Principal::Named("Service", "pods.eks.amazonaws.com".into()),
                &["sts:AssumeRole", "sts:TagSession"],
            )]),
        ),
        (
            "assume-platform-admin",
            policy_file(&[allow(
                "AssumePlatformAdmin",
                &["sts:AssumeRole"],
                "arn:aws:iam::*:role/platform-admin",
            )]),
        ),
    ];
    for (_, service) in FILLERS {
        out.push((
            match service {
                "ec2" => "trust-ec2",
                "lambda" => "trust-lambda",
                "ecs-tasks" => "trust-ecs-tasks",
                _ => "trust-eks",
            },
            policy_file(&[trust_statement(
                "TheService",
                Principal::Named("Service", format!("{service}.amazonaws.com")),
                &["sts:AssumeRole"],
            )]),
        ));
    }
    out.into_iter()
        .map(|(name, json)| (format!("policies/{name}.json"), json))
        .collect()
}

/// A workload account's data bucket policy: only `platform-admin` and the
/// account root may delete the bucket or change its policy; the pods of the
/// neighbour's own cluster may read the reports.
pub(super) fn data_bucket_policy(plan: &Plan, account: &Account) -> String {
    let bucket = data_bucket(account);
    let id = &account.id;
    let mut statements = vec![
        allow(
            "OnlyPlatformAdminChangesTheBucket",
            &[
                "s3:DeleteBucket",
                "s3:PutBucketPolicy",
                "s3:DeleteBucketPolicy",
            ],
            &format!("arn:aws:s3:::{bucket}"),
        )
        .deny()
        .principal(Principal::Anyone)
        .when(
            "ArnNotLike",
            "aws:PrincipalArn",
            &[
                &format!("arn:aws:iam::{id}:role/platform-admin"),
                &format!("arn:aws:iam::{id}:root"),
            ],
        ),
    ];
    if let Some(reader) = account.reader.and_then(|r| plan.account(r)) {
        statements.push(
            allow(
                "NeighbourPodsReadReports",
                &["s3:GetObject"],
                &format!("arn:aws:s3:::{bucket}/reports/*"),
            )
            .principal(Principal::Named(
                "AWS",
                format!("arn:aws:iam::{}:role/eks-local-pod", reader.id),
            )),
        );
    }
    policy_file(&statements)
}

pub(super) fn account_file(
    plan: &Plan,
    index: usize,
    account: &Account,
    summary: &mut Summary,
) -> String {
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
        let policy = policy(&[allow(
            "OrganizationReads",
            &["s3:GetObject"],
            &format!("arn:aws:s3:::{name}/*"),
        )
        .principal(Principal::Anyone)
        .when("StringEquals", "aws:PrincipalOrgID", &[&plan.org_id])]);
        t.document(10, "policy", &policy);
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
                description: "Pod Identity role of the shared clusters; chains into abac-* roles",
                trust: Document::File("../policies/trust-eks-pod-identity.json"),
                inline: Some((
                    "ChainIntoWorkloadAccounts",
                    policy(&[allow(
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
                description: "First role of associations with a target; reaches target-* roles",
                trust: Document::File("../policies/trust-eks-pod-identity.json"),
                inline: Some((
                    "AssumeTargetRoles",
                    policy(&[allow(
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
            allow("ListData", &["s3:ListBucket"], &bucket),
            allow("ReadData", &["s3:GetObject"], &format!("{bucket}/*")),
        ];
        let neighbour = plan.accounts.iter().find(|a| {
            a.reader
                .is_some_and(|r| plan.account(r).is_some_and(|h| h.id == account.id))
        });
        if let Some(neighbour) = neighbour {
            statements.push(allow(
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
                trust: Document::Json(policy(&[trust_statement(
                    "CiDeployerWithExternalId",
                    Principal::Named("AWS", format!("arn:aws:iam::{ci}:user/ci-deployer")),
                    &["sts:AssumeRole"],
                )
                .when(
                    "StringEquals",
                    "sts:ExternalId",
                    &[&format!("deploy-{}", account.id)],
                )])),
                inline: Some((
                    "Deploy",
                    policy(&[allow(
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
                policy(&[allow(
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
    let pinned = |statement: Statement<'static>, prefix: &str| {
        statement
            .when(
                "StringEquals",
                &format!("{prefix}/eks-cluster-arn"),
                &[&cluster_arn],
            )
            .when(
                "StringEquals",
                &format!("{prefix}/kubernetes-namespace"),
                &[&ns],
            )
            .when(
                "StringEquals",
                &format!("{prefix}/kubernetes-service-account"),
                &[&sa],
            )
    };
    let chain = ["sts:AssumeRole", "sts:TagSession"];
    let (trust_json, description) = match trust.kind {
        TrustKind::Abac => (
            pinned(
                trust_statement(
                    "PodsOfTheSharedCluster",
                    Principal::Named("AWS", format!("arn:aws:iam::{}:root", cluster_account.id)),
                    &chain,
                ),
                "aws:PrincipalTag",
            ),
            "ABAC: one service account of a shared cluster, chained from eks-pod-chain",
        ),
        TrustKind::Target => (
            pinned(
                trust_statement(
                    "TargetOfTheAssociation",
                    Principal::Named(
                        "AWS",
                        format!("arn:aws:iam::{}:role/eks-pod-target", cluster_account.id),
                    ),
                    &chain,
                ),
                "aws:RequestTag",
            ),
            "Target role of one service account's Pod Identity association",
        ),
        TrustKind::Irsa => {
            let issuer = cluster.issuer_host_path();
            let account = plan.account(trust.account).map_or("", |a| a.id.as_str());
            (
                trust_statement(
                    "ServiceAccountOfTheSharedCluster",
                    Principal::Named(
                        "Federated",
                        format!("arn:aws:iam::{account}:oidc-provider/{issuer}"),
                    ),
                    &["sts:AssumeRoleWithWebIdentity"],
                )
                .when(
                    "StringEquals",
                    &format!("{issuer}:sub"),
                    &[&format!("system:serviceaccount:{ns}:{sa}")],
                )
                .when(
                    "StringEquals",
                    &format!("{issuer}:aud"),
                    &["sts.amazonaws.com"],
                ),
                "IRSA: one service account of a shared cluster",
            )
        }
    };
    let trust_json = policy(&[trust_json]);
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
                    allow("ListData", &["s3:ListBucket"], bucket),
                    allow("ObjectsOfTheWorkload", object_actions, &objects),
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
                &policy(&[allow(
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
                &policy(&[allow(
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
