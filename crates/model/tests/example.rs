//! The embedded example organization: it loads without a problem, holds the
//! names and policies of AWS's EKS multi-account guide that tests and docs
//! rely on, and its policies decide the guide's requests as the guide says
//! when the policy engine evaluates them.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use orgtwin_model::{KeyStatus, Model, Parent, Target, embedded, embedded_sources, load};
use orgtwin_policy::{
    Context, NamedPolicy, Policies, Principal, Request, ResourcePolicyKind, Timestamp, Verdict,
    evaluate,
};

const CLUSTER: &str = "111122223333";
const PAYROLL: &str = "444455556666";
const NETWORK: &str = "555566667777";
const ANALYTICS: &str = "777788889999";
const MANAGEMENT: &str = "999988887777";
const PROVIDER: &str = "arn:aws:iam::444455556666:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

fn example_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/org")
}

#[test]
fn the_example_on_disk_loads_and_equals_the_embedded_one() {
    let from_disk = match load(example_dir().join("org.yaml")) {
        Ok(model) => model,
        Err(errors) => panic!("{}", errors.brief()),
    };
    assert_eq!(from_disk, embedded());
    assert_eq!(embedded_sources()[0].0, "org.yaml");
}

#[test]
fn organization_tree() {
    let model = embedded();
    let org = &model.organization;
    assert_eq!(org.id, "o-a1b2c3d4e5");
    assert_eq!(org.root_id, "r-a1b2");
    assert!(model.is_management(MANAGEMENT));
    assert!(!model.is_management(CLUSTER));
    let names: Vec<(&str, &str)> = model
        .accounts
        .values()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (CLUSTER, "cluster-prod"),
            (PAYROLL, "payroll-prod"),
            (NETWORK, "network"),
            (ANALYTICS, "analytics-prod"),
            (MANAGEMENT, "management"),
        ]
    );
    let parent = |id: &str| model.account(id).unwrap().parent.clone();
    let ou = |name: &str| Parent::OrganizationalUnit(name.to_string());
    assert_eq!(parent(MANAGEMENT), Parent::Root);
    assert_eq!(parent(CLUSTER), ou("Infrastructure"));
    assert_eq!(parent(NETWORK), ou("Infrastructure"));
    assert_eq!(parent(PAYROLL), ou("Workloads"));
    assert_eq!(parent(ANALYTICS), ou("Workloads"));
    for unit in &org.organizational_units {
        assert!(unit.id.starts_with("ou-a1b2-"), "{}", unit.id);
        assert_eq!(unit.id.len(), "ou-a1b2-".len() + 8);
    }
    assert_eq!(model.account_by_name("payroll-prod").unwrap().id, PAYROLL);
}

#[test]
fn scp_and_rcp_levels_run_from_the_root_to_the_account() {
    let model = embedded();
    let summary = |levels: Vec<orgtwin_policy::OrgLevel>| -> Vec<(String, Vec<String>)> {
        levels
            .into_iter()
            .map(|l| {
                let names = l.policies.iter().map(|p| p.name.to_string()).collect();
                (l.name.to_string(), names)
            })
            .collect()
    };
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        summary(model.scp_levels(PAYROLL)),
        [
            (
                "root".to_string(),
                names(&["FullAWSAccess", "ProtectEksSessionTags"])
            ),
            ("OU Workloads".to_string(), names(&["FullAWSAccess"])),
            (
                "account 444455556666".to_string(),
                names(&["FullAWSAccess"])
            ),
        ]
    );
    assert_eq!(
        summary(model.rcp_levels(PAYROLL)),
        [
            ("root".to_string(), vec![]),
            (
                "OU Workloads".to_string(),
                names(&["WorkloadsDataPerimeter"])
            ),
            ("account 444455556666".to_string(), vec![]),
        ]
    );
    assert_eq!(summary(model.scp_levels(MANAGEMENT)).len(), 2);
    assert!(model.scp_levels("000000000000").is_empty());
    let full = &model.scps[0];
    assert_eq!(full.id, "p-FullAWSAccess");
    assert_eq!(full.targets.len(), 8);
    assert!(full.targets.contains(&Target::Account(CLUSTER.to_string())));
}

#[test]
fn iam_entities_have_arns_and_derived_unique_ids() {
    let model = embedded();
    let role = model.role(CLUSTER, "account-a-role").unwrap();
    assert_eq!(role.arn, "arn:aws:iam::111122223333:role/account-a-role");
    assert_eq!(
        role.id,
        orgtwin_policy::principal::stable_id("AROA", &role.arn)
    );
    assert_eq!(role.max_session_duration, 3600);
    let deploy = model.role(PAYROLL, "deploy-role").unwrap();
    assert_eq!(deploy.max_session_duration, 7200);
    assert_eq!(
        deploy.permissions_boundary.as_deref(),
        Some("arn:aws:iam::444455556666:policy/DeployBoundary")
    );
    let user = model.user(CLUSTER, "ci-deployer").unwrap();
    assert!(user.id.starts_with("AIDA") && user.id.len() == 21);
    let (account, owner, key) = model.user_by_access_key("AKIAIOSFODNN7EXAMPLE").unwrap();
    assert_eq!(
        (account.id.as_str(), owner.name.as_str()),
        (CLUSTER, "ci-deployer")
    );
    assert_eq!(key.secret.expose().len(), 40);
    assert_eq!(key.status, KeyStatus::Active);
    assert!(model.user_by_access_key("AKIAAAAAAAAAAAAAAAAA").is_none());
    let boundary = model
        .managed_policy("arn:aws:iam::444455556666:policy/DeployBoundary")
        .unwrap();
    assert!(boundary.id.starts_with("ANPA"));
    assert!(
        model
            .managed_policy("arn:aws:iam::aws:policy/AdministratorAccess")
            .is_some()
    );
    let provider = model.oidc_provider(PAYROLL, PROVIDER).unwrap();
    assert_eq!(provider.client_ids, ["sts.amazonaws.com"]);
    assert!(model.oidc_provider(CLUSTER, PROVIDER).is_none());
    for id in [CLUSTER, PAYROLL, NETWORK, ANALYTICS] {
        let admin = model.role(id, "platform-admin").unwrap();
        assert_eq!(
            admin.managed_policies,
            ["arn:aws:iam::aws:policy/AdministratorAccess"]
        );
    }
    assert!(model.role(MANAGEMENT, "platform-admin").is_none());
}

#[test]
fn identity_policies_gather_inline_managed_and_group_policies() {
    let model = embedded();
    let names = |policies: Vec<NamedPolicy>| -> Vec<String> {
        policies.iter().map(|p| p.name.to_string()).collect()
    };
    assert_eq!(
        names(model.identity_policies_of_role(CLUSTER, "account-a-role")),
        ["AssumeAccountBRole"]
    );
    assert_eq!(
        names(model.identity_policies_of_user(CLUSTER, "ci-deployer")),
        ["arn:aws:iam::111122223333:policy/AssumeDeployRole"]
    );
    assert_eq!(
        names(model.identity_policies_of_role(PAYROLL, "deploy-role")),
        ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]
    );
    assert!(
        model
            .identity_policies_of_role(PAYROLL, "nobody")
            .is_empty()
    );
    assert!(model.boundary_of_role(PAYROLL, "deploy-role").is_some());
    assert!(model.boundary_of_role(PAYROLL, "account-b-role").is_none());
}

#[test]
fn secrets_never_reach_debug_output() {
    let model = embedded();
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    assert!(!format!("{model:?}").contains(secret));
    let (_, _, key) = model.user_by_access_key("AKIAIOSFODNN7EXAMPLE").unwrap();
    assert_eq!(format!("{key:?}").matches("** redacted **").count(), 1);
    assert_eq!(key.secret.to_string(), "** redacted **");
}

/// Evaluates `action` on `resource` by `caller`, with the model's policies.
struct Ask<'m> {
    model: &'m Model,
    caller: Principal,
    context: Context,
}

impl Ask<'_> {
    fn assume(&self, account: &str, role: &str, action: &str) -> Verdict {
        let model = self.model;
        let target = model.role(account, role).unwrap();
        let trust = model.trust_policy_of_role(account, role).unwrap();
        let (identity, boundary, scps) = match &self.caller {
            Principal::AssumedRole {
                account, role_name, ..
            } => (
                model.identity_policies_of_role(account, role_name),
                model.boundary_of_role(account, role_name),
                Some(model.scp_levels(account)),
            ),
            Principal::User { account, name, .. } => (
                model.identity_policies_of_user(account, name),
                model.boundary_of_user(account, name),
                Some(model.scp_levels(account)),
            ),
            _ => (Vec::new(), None, None),
        };
        let rcps = model.rcp_levels(account);
        let request = Request {
            principal: &self.caller,
            action,
            resource: &target.arn,
            resource_account: None,
            context: &self.context,
        };
        let policies = Policies {
            identity: &identity,
            resource: Some(&trust),
            resource_kind: ResourcePolicyKind::Trust,
            boundary: boundary.as_ref(),
            session: None,
            scps: scps.as_deref(),
            rcps: Some(&rcps),
            management_account: Some(&model.organization.management_account),
        };
        evaluate(&request, &policies).decision
    }
}

fn context(caller: &Principal, pairs: &[(&str, &str)]) -> Context {
    let mut context = Context::default();
    for (key, value) in pairs {
        context.insert(key, *value);
    }
    context.derive_from_principal(caller, Timestamp::from_unix_seconds(1_780_000_000));
    context
}

#[test]
fn the_guide_s_chain_is_decided_as_the_guide_says() {
    let model = embedded();
    let pods = Principal::Service("pods.eks.amazonaws.com".into());
    let ask = Ask {
        model: &model,
        context: context(&pods, &[]),
        caller: pods,
    };
    assert_eq!(
        ask.assume(CLUSTER, "account-a-role", "sts:AssumeRole"),
        Verdict::Allow
    );
    assert_eq!(
        ask.assume(CLUSTER, "account-a-role", "sts:TagSession"),
        Verdict::Allow
    );

    let session = Principal::from_arn(
        "arn:aws:sts::111122223333:assumed-role/account-a-role/eks-ProductionC-pod",
    )
    .unwrap();
    let tags = [
        (
            "aws:PrincipalTag/kubernetes-service-account",
            "PayrollApplication",
        ),
        (
            "aws:PrincipalTag/eks-cluster-arn",
            "arn:aws:eks:us-east-1:111122223333:cluster/ProductionCluster",
        ),
        ("aws:PrincipalTag/kubernetes-namespace", "PayrollNamespace"),
        ("aws:PrincipalOrgID", "o-a1b2c3d4e5"),
    ];
    let ask = Ask {
        model: &model,
        context: context(&session, &tags),
        caller: session.clone(),
    };
    assert_eq!(
        ask.assume(PAYROLL, "account-b-role", "sts:AssumeRole"),
        Verdict::Allow
    );
    // account-a-role may assume nothing but account-b-role.
    assert_eq!(
        ask.assume(PAYROLL, "deploy-role", "sts:AssumeRole"),
        Verdict::ImplicitDeny
    );
    let mut wrong_namespace = tags;
    wrong_namespace[2].1 = "BillingNamespace";
    let ask = Ask {
        model: &model,
        context: context(&session, &wrong_namespace),
        caller: session,
    };
    assert_eq!(
        ask.assume(PAYROLL, "account-b-role", "sts:AssumeRole"),
        Verdict::ImplicitDeny
    );
}

#[test]
fn deploy_role_needs_the_external_id_and_the_rcp_keeps_outsiders_out() {
    let model = embedded();
    let user = Principal::from_arn("arn:aws:iam::111122223333:user/ci-deployer").unwrap();
    let with = |pairs: &[(&str, &str)]| Ask {
        model: &model,
        context: context(&user, pairs),
        caller: user.clone(),
    };
    let org = ("aws:PrincipalOrgID", "o-a1b2c3d4e5");
    let good = with(&[("sts:ExternalId", "payroll-deploy-EXAMPLE"), org]);
    assert_eq!(
        good.assume(PAYROLL, "deploy-role", "sts:AssumeRole"),
        Verdict::Allow
    );
    let wrong = with(&[("sts:ExternalId", "guess"), org]);
    assert_eq!(
        wrong.assume(PAYROLL, "deploy-role", "sts:AssumeRole"),
        Verdict::ImplicitDeny
    );
    // The same user seen from outside the organization: the Workloads RCP denies.
    let outside = with(&[("sts:ExternalId", "payroll-deploy-EXAMPLE")]);
    assert_eq!(
        outside.assume(PAYROLL, "deploy-role", "sts:AssumeRole"),
        Verdict::ExplicitDeny
    );
}

#[test]
fn irsa_web_identity_is_trusted_and_not_blocked_by_the_rcp() {
    let model = embedded();
    let provider = Principal::Federated(PROVIDER.to_string());
    let issuer = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    let sub = format!("{issuer}:sub");
    let aud = format!("{issuer}:aud");
    let ask = |service_account: &str| Ask {
        model: &model,
        context: context(
            &provider,
            &[
                (sub.as_str(), service_account),
                (aud.as_str(), "sts.amazonaws.com"),
            ],
        ),
        caller: provider.clone(),
    };
    let payroll = ask("system:serviceaccount:PayrollNamespace:payroll-irsa");
    assert_eq!(
        payroll.assume(
            PAYROLL,
            "payroll-irsa-role",
            "sts:AssumeRoleWithWebIdentity"
        ),
        Verdict::Allow
    );
    let other = ask("system:serviceaccount:default:default");
    assert_eq!(
        other.assume(
            PAYROLL,
            "payroll-irsa-role",
            "sts:AssumeRoleWithWebIdentity"
        ),
        Verdict::ImplicitDeny
    );
}

#[test]
fn organization_paths_and_cached_levels() {
    let model = orgtwin_model::embedded();
    let workloads = model.organizational_unit("Workloads").unwrap();
    let expected = format!(
        "{}/{}/{}/444455556666/",
        model.organization.id, model.organization.root_id, workloads.id
    );
    assert_eq!(model.org_path("444455556666"), expected);
    let cached = model.org_levels("444455556666");
    assert_eq!(cached.org_path, expected);
    let names: Vec<&str> = cached.scps.iter().map(|l| &*l.name).collect();
    assert_eq!(names, ["root", "OU Workloads", "account 444455556666"]);
    assert_eq!(
        model.org_path("999988887777"),
        format!(
            "{}/{}/999988887777/",
            model.organization.id, model.organization.root_id
        )
    );
    assert!(
        model.org_levels("123456789012").scps.is_empty(),
        "an account outside the model has no levels"
    );
    let copy = model.clone();
    assert_eq!(
        copy, model,
        "a copy starts with an empty cache and still compares equal"
    );
}

#[test]
fn the_example_shares_cluster_subnets_with_their_workload_accounts_only() {
    let model = orgtwin_model::embedded();
    let ids = |account: &str| -> Vec<(String, String)> {
        model
            .visible_subnets(account)
            .into_iter()
            .map(|(owner, _, s)| (owner.to_string(), s.id.clone()))
            .collect()
    };
    let payroll = ids("444455556666");
    assert_eq!(payroll.len(), 3, "{payroll:?}");
    assert!(payroll.iter().all(|(owner, _)| owner == "111122223333"));
    let analytics = ids("777788889999");
    assert_eq!(
        analytics,
        [
            (
                "555566667777".to_string(),
                "subnet-0b2c3d4e5f6a70011".to_string()
            ),
            (
                "555566667777".to_string(),
                "subnet-0b2c3d4e5f6a70012".to_string()
            ),
        ],
        "the inspection subnet is not shared"
    );
    assert!(ids("999988887777").is_empty());
    assert!(ids("210987654321").is_empty(), "outside the organization");
    assert_eq!(ids("555566667777").len(), 3, "the owner sees its own");
    let (owner, bucket) = model.bucket("payroll-data-444455556666").unwrap();
    assert_eq!(owner, "444455556666");
    assert_eq!(bucket.objects.len(), 2);
    assert!(bucket.policy.is_some());
    assert!(model.knows_account("210987654321") && !model.in_organization("210987654321"));
}

#[test]
fn the_example_has_the_guide_s_clusters_service_accounts_and_associations() {
    let model = embedded();
    let (account, production) = model.cluster("ProductionCluster").unwrap();
    assert_eq!(account, CLUSTER);
    assert_eq!(
        production.arn(account),
        "arn:aws:eks:us-east-1:111122223333:cluster/ProductionCluster"
    );
    assert_eq!(
        production.issuer(),
        "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    );
    // The payroll account registers this issuer: cross-account IRSA.
    assert!(model.oidc_provider(PAYROLL, PROVIDER).is_some());
    // Service accounts come from the manifest file; the Deployment in it is
    // passed over.
    let names: Vec<String> = production
        .service_accounts
        .iter()
        .map(|s| format!("{}/{}", s.namespace, s.name))
        .collect();
    assert_eq!(
        names,
        [
            "PayrollNamespace/PayrollApplication",
            "PayrollNamespace/payroll-reports",
            "PayrollNamespace/payroll-irsa",
            "OtherNamespace/PayrollApplication"
        ]
    );
    let irsa = production
        .service_account("PayrollNamespace", "payroll-irsa")
        .unwrap()
        .irsa()
        .unwrap();
    assert_eq!(
        irsa.role_arn,
        "arn:aws:iam::444455556666:role/payroll-irsa-role"
    );
    assert_eq!(irsa.audience, "sts.amazonaws.com");
    assert_eq!(irsa.token_expiration, 86_400);

    let chain = production
        .association_for("PayrollNamespace", "PayrollApplication")
        .unwrap();
    assert_eq!(
        chain.role_arn,
        "arn:aws:iam::111122223333:role/account-a-role"
    );
    assert_eq!(chain.target_role_arn, None);
    let native = production
        .association_for("PayrollNamespace", "payroll-reports")
        .unwrap();
    assert_eq!(
        native.target_role_arn.as_deref(),
        Some("arn:aws:iam::444455556666:role/payroll-reports-role")
    );
    assert!(native.external_id(production, account).is_some());
    assert!(native.arn(production, account).starts_with(
        "arn:aws:eks:us-east-1:111122223333:podidentityassociation/ProductionCluster/a-"
    ));
    let trap = production
        .association_for("OtherNamespace", "PayrollApplication")
        .unwrap();
    assert_eq!(trap.role_arn, chain.role_arn);

    let (_, staging) = model.cluster("StagingCluster").unwrap();
    assert_eq!(
        staging
            .association_for("PayrollNamespace", "PayrollApplication")
            .unwrap()
            .role_arn,
        chain.role_arn
    );
    let (analytics_account, analytics) = model.cluster("AnalyticsCluster").unwrap();
    assert_eq!(analytics_account, ANALYTICS);
    assert_eq!(
        analytics
            .association_for("analytics", "analytics-jobs")
            .unwrap()
            .role_arn,
        "arn:aws:iam::777788889999:role/analytics-pod-role"
    );
    assert_eq!(model.clusters().count(), 3);
    assert!(model.cluster_by_issuer(&production.issuer()).is_some());
}

#[test]
fn policies_know_where_they_and_their_statements_were_written() {
    let model = load(example_dir().join("org.yaml")).unwrap();
    let role = model.role(PAYROLL, "account-b-role").unwrap();
    let places = role.trust_policy.places.as_deref().unwrap();
    assert!(
        places
            .document
            .file
            .ends_with("policies/payroll-prod/account-b-role-trust.json"),
        "{:?}",
        places.document
    );
    assert_eq!((places.document.line, places.document.column), (1, 1));
    let statement = role.trust_policy.place_of_statement(0).unwrap();
    assert_eq!(statement.file, places.document.file);
    assert!(statement.line > 1, "{statement}");
    // A policy written as YAML in the account file points into that file.
    let irsa = model.role(PAYROLL, "payroll-irsa-role").unwrap();
    let place = irsa.trust_policy.place_of_statement(0).unwrap();
    assert!(
        place.file.ends_with("accounts/payroll-prod.yaml"),
        "{place}"
    );
    let text = std::fs::read_to_string(example_dir().join("accounts/payroll-prod.yaml")).unwrap();
    let line = text.lines().nth(place.line - 1).unwrap();
    assert!(
        line.contains("Sid: PayrollServiceAccountOfProductionCluster"),
        "{line}"
    );
}
