//! `orgtwin import`: hand-written exports in the AWS CLI's shapes
//! (`tests/fixtures/import/`) become a checked model, with what cannot be
//! mapped reported at its export; exports rendered from the example
//! organization give back its IAM, account by account; bad exports stop
//! the import at their file, line and JSON path.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use orgtwin_model::import::{AccountFile, ClusterFile, Imported, Inputs, Kind, import};
use orgtwin_model::{Document, Model, Parent, Target, embedded};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

fn fixture_inputs() -> Inputs {
    let f = fixtures();
    Inputs {
        organizations: Some(f.join("organizations")),
        iam: [
            "iam/cluster-prod.json",
            "iam/payroll-prod.json",
            "iam/payroll-prod-roles.json",
            "444455556666=iam/payroll-prod-oidc.json",
            "iam/analytics-prod.json",
            "iam/outside.json",
        ]
        .iter()
        .map(|arg| {
            let given = AccountFile::parse(arg);
            AccountFile {
                path: f.join(given.path),
                ..given
            }
        })
        .collect(),
        eks: [
            "describe-cluster-ProductionCluster.json",
            "describe-cluster-VendorCluster.json",
            "list-clusters.json",
            "list-pod-identity-associations-ProductionCluster.json",
            "describe-pod-identity-association-a-payrollapp0000001.json",
            "describe-pod-identity-association-a-payrollrpt0000001.json",
            "describe-pod-identity-association-a-malformedrole0001.json",
        ]
        .iter()
        .map(|name| f.join("eks").join(name))
        .collect(),
        kubectl: vec![ClusterFile {
            cluster: "ProductionCluster".into(),
            path: f.join("kubectl/ProductionCluster.json"),
        }],
        eksctl: vec![AccountFile {
            account: None,
            path: f.join("eksctl/analytics-cluster.yaml"),
        }],
        management_account: None,
    }
}

fn import_quietly(inputs: &Inputs) -> Imported {
    import(inputs, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"))
}

fn doc(value: Value) -> Document {
    Document::parse(&value.to_string()).unwrap()
}

/// The report's lines of one kind.
fn reported(imported: &Imported, kind: Kind) -> Vec<String> {
    imported
        .report
        .items
        .iter()
        .filter(|i| i.kind == kind)
        .map(ToString::to_string)
        .collect()
}

fn has(lines: &[String], parts: &[&str]) -> bool {
    lines.iter().any(|l| parts.iter().all(|p| l.contains(p)))
}

#[test]
fn the_fixtures_become_a_checked_model() {
    let mut steps = Vec::new();
    let inputs = fixture_inputs();
    let imported = import(&inputs, &mut |s| steps.push((s.done, s.total))).unwrap();
    let total = 1 + inputs.iam.len() + inputs.eks.len() + 2 + 2;
    assert_eq!(steps.len(), total);
    assert_eq!(steps.last(), Some(&(total, total)));
    let model = &imported.model;

    // The organization: ids as listed, OUs nested, names made unique.
    assert_eq!(model.organization.id, "o-a1b2c3d4e5");
    assert_eq!(model.organization.root_id, "r-a1b2");
    assert_eq!(model.organization.management_account, "999988887777");
    let sandbox = model.organizational_unit("Sandbox").unwrap();
    assert_eq!(sandbox.id, "ou-a1b2-sandbox1");
    assert_eq!(
        sandbox.parent,
        Parent::OrganizationalUnit("Workloads".into())
    );
    assert_eq!(
        model.accounts.keys().collect::<Vec<_>>(),
        [
            "111122223333",
            "222233334444",
            "444455556666",
            "555566667777",
            "777788889999",
            "999988887777"
        ]
    );
    assert_eq!(model.accounts["444455556666"].name, "payroll-prod");
    assert_eq!(
        model.accounts["222233334444"].name,
        "payroll-prod (222233334444)"
    );
    assert_eq!(
        model.accounts["222233334444"].parent,
        Parent::OrganizationalUnit("Sandbox".into())
    );
    assert_eq!(
        model.accounts["111122223333"].email.as_deref(),
        Some("aws+cluster-prod@example.com")
    );
    assert!(model.external_accounts.contains_key("123456789012"));

    // Roles: trust policies from the CLI's objects and from the API's
    // URL-encoded strings; list-roles' durations and descriptions.
    let a = model.role("111122223333", "account-a-role").unwrap();
    assert_eq!(a.id, "AROAPVROY7BHMM2YMIMHP");
    assert_eq!(
        a.trust_policy,
        doc(json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "AllowEksAuthToAssumeRoleForPodIdentity", "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"]}]}))
    );
    assert_eq!(a.inline_policies[0].name, "AssumeAccountBRole");
    assert_eq!(a.tags[0].key, "purpose");
    let example = embedded();
    for name in ["account-b-role", "payroll-irsa-role", "deploy-role"] {
        let got = model.role("444455556666", name).unwrap();
        let want = example.role("444455556666", name).unwrap();
        assert_eq!(got.trust_policy, want.trust_policy, "{name}");
    }
    let deploy = model.role("444455556666", "deploy-role").unwrap();
    assert_eq!(deploy.max_session_duration, 7200);
    assert_eq!(
        deploy.description.as_deref(),
        Some("Deployments by the CI system of cluster-prod")
    );
    assert_eq!(
        deploy.permissions_boundary.as_deref(),
        Some("arn:aws:iam::444455556666:policy/DeployBoundary")
    );
    assert_eq!(
        deploy.managed_policies,
        ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]
    );
    let reports = model.role("444455556666", "payroll-reports-role").unwrap();
    assert_eq!(reports.max_session_duration, 3600);
    assert_eq!(reports.description, None);
    // A built-in AWS managed policy stays a reference; one outside the set
    // is left out.
    let runner = model.role("111122223333", "build-runner").unwrap();
    assert_eq!(
        runner.managed_policies,
        ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    );
    // Customer managed policies: the default version, not the first.
    let cluster_iam = &model.accounts["111122223333"].iam;
    assert_eq!(cluster_iam.policies.len(), 1);
    assert!(
        cluster_iam.policies[0]
            .document
            .text
            .contains("deploy-role")
    );
    assert_eq!(cluster_iam.users[0].groups, ["deployers"]);
    assert!(cluster_iam.users[0].access_keys.is_empty());
    let provider = &model.accounts["444455556666"].iam.oidc_providers[0];
    assert_eq!(
        provider.url,
        "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    );
    assert_eq!(provider.client_ids, ["sts.amazonaws.com"]);

    // SCPs and RCPs with their targets.
    let names =
        |p: &[orgtwin_model::OrgPolicy]| p.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&model.scps),
        ["FullAWSAccess", "ProtectEksSessionTags"]
    );
    assert_eq!(names(&model.rcps), ["WorkloadsDataPerimeter"]);
    assert_eq!(model.scps[0].targets.len(), 10);
    assert_eq!(model.scps[1].id, "p-protect01");
    assert_eq!(model.scps[1].targets, [Target::Root]);
    assert_eq!(
        model.rcps[0].targets,
        [Target::OrganizationalUnit("Workloads".into())]
    );
    assert_eq!(
        model
            .scp_levels("444455556666")
            .iter()
            .map(|l| l.policies.len())
            .collect::<Vec<_>>(),
        [2, 1, 1]
    );

    // Clusters, associations and service accounts.
    let (account, production) = model.cluster("ProductionCluster").unwrap();
    assert_eq!(account, "111122223333");
    assert_eq!(
        production.oidc_issuer_id,
        "EXAMPLED539D4633E53DE1B71EXAMPLE"
    );
    assert_eq!(production.version, "1.31");
    assert_eq!(production.tags.len(), 1, "{:?}", production.tags);
    let ids: Vec<&str> = production
        .pod_identity_associations
        .iter()
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(ids, ["a-payrollapp0000001", "a-payrollrpt0000001"]);
    let chained = production.association("a-payrollrpt0000001").unwrap();
    assert_eq!(
        chained.target_role_arn.as_deref(),
        Some("arn:aws:iam::444455556666:role/payroll-reports-role")
    );
    assert_eq!(production.service_accounts.len(), 8);
    let irsa = production
        .service_account("PayrollNamespace", "payroll-irsa")
        .unwrap()
        .irsa()
        .unwrap();
    assert_eq!(
        irsa.role_arn,
        "arn:aws:iam::444455556666:role/payroll-irsa-role"
    );
    let with_irsa = production
        .service_account("PayrollNamespace", "payroll-irsa")
        .unwrap();
    assert_eq!(
        with_irsa.annotations.len(),
        4,
        "{:?}",
        with_irsa.annotations
    );
    let aws_node = production
        .service_account("kube-system", "aws-node")
        .unwrap();
    assert!(aws_node.annotations.is_empty());
    let (account, analytics) = model.cluster("AnalyticsCluster").unwrap();
    assert_eq!(account, "777788889999");
    assert_eq!(analytics.pod_identity_associations.len(), 1);
    assert!(
        analytics
            .service_account("analytics", "analytics-jobs")
            .is_some()
    );
    assert!(model.cluster("VendorCluster").is_none());

    // The files are `orgtwin export`'s, and load back into the model.
    assert_eq!(imported.files[0].0, PathBuf::from("org.yaml"));
    assert!(
        imported
            .files
            .iter()
            .any(|(p, _)| p == Path::new("accounts/444455556666/roles/deploy-role/trust.json"))
    );
    let texts: Vec<(String, &str)> = imported
        .files
        .iter()
        .map(|(p, t)| (p.display().to_string(), t.as_str()))
        .collect();
    let refs: Vec<(&str, &str)> = texts.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    assert_eq!(
        &orgtwin_model::load_from_memory("org.yaml", &refs).unwrap(),
        model
    );
}

#[test]
fn what_cannot_be_mapped_is_reported_at_its_export() {
    let imported = import_quietly(&fixture_inputs());
    let not_modelled = reported(&imported, Kind::NotModelled);
    assert!(
        has(
            &not_modelled,
            &[
                "cluster-prod.json:",
                "RoleDetailList[3]",
                "`build-runner`",
                "instance profile"
            ]
        ),
        "{not_modelled:#?}"
    );
    assert!(has(
        &not_modelled,
        &[
            "RoleDetailList[3].AttachedManagedPolicies[0]",
            "AmazonSSMManagedInstanceCore"
        ]
    ));
    assert!(has(&not_modelled, &["TAG_POLICY `CostCenterTags`"]));
    assert!(has(
        &not_modelled,
        &["list-delegated-administrators.json", "not read"]
    ));
    assert!(has(&not_modelled, &["access keys of 1 user(s)"]));

    let outside = reported(&imported, Kind::OutsideOrganization);
    assert!(
        has(&outside, &["outside.json", "IAM of account `123456789012`"]),
        "{outside:#?}"
    );
    assert!(has(
        &outside,
        &[
            "describe-cluster-VendorCluster.json",
            "cluster `VendorCluster`"
        ]
    ));
    assert!(has(
        &outside,
        &[
            "list-targets-for-policy-p-protect01.json",
            "Targets[1]",
            "ou-a1b2-retired1"
        ]
    ));

    let refused = reported(&imported, Kind::Refused);
    assert!(
        has(
            &refused,
            &[
                "a-malformedrole0001.json:",
                "`batch/nightly-export`",
                "is not a role ARN"
            ]
        ),
        "{refused:#?}"
    );
    assert!(has(
        &refused,
        &[
            "tags[\"aws:cloudformation:stack-name\"]",
            "reserved for AWS"
        ]
    ));
    assert!(has(
        &refused,
        &[
            "kube-system/aws-node",
            "eks.amazonaws.com/role-arn",
            "not in account 111122223333's IAM export"
        ]
    ));

    let incomplete = reported(&imported, Kind::Incomplete);
    assert!(
        has(
            &incomplete,
            &[
                "list-organizational-units-for-parent-ou-a1b2-sandbox1.json",
                "missing"
            ]
        ),
        "{incomplete:#?}"
    );
    assert!(has(&incomplete, &["GroupList[1]", "former-admins"]));
    assert!(has(
        &incomplete,
        &[
            "`legacy/report-mailer`",
            "is listed, but no `describe-pod-identity-association`"
        ]
    ));
    // Described and left out: reported once, as refused.
    assert!(!has(&incomplete, &["`batch/nightly-export`"]));
    assert!(has(&incomplete, &["cluster `StagingCluster` is listed"]));
    assert!(has(&incomplete, &["retired-role", "list-roles"]));
    assert!(has(
        &incomplete,
        &["account `111122223333`: no `list-roles` output"]
    ));

    let assumed = reported(&imported, Kind::Assumed);
    assert!(
        has(&assumed, &["account `222233334444` renamed"]),
        "{assumed:#?}"
    );
    assert!(has(&assumed, &["`222233334444` is `SUSPENDED`"]));
    assert!(
        has(
            &assumed,
            &[
                "analytics-cluster.yaml:6:9",
                "known from its eksctl file only"
            ]
        ),
        "{assumed:#?}"
    );

    // eksctl's own roles and an add-on's associations: reported where the
    // eksctl file declares them.
    let not_modelled = reported(&imported, Kind::NotModelled);
    for parts in [
        &[
            "analytics-cluster.yaml:21:5",
            "add-on `vpc-cni`: 1 Pod Identity",
        ][..],
        &[
            "analytics-cluster.yaml:29:7",
            "service account `analytics/s3-reader`: eksctl creates its IRSA role (`attachPolicyARNs`)",
        ],
        &[
            "analytics-cluster.yaml:36:7",
            "association of `analytics/exporter`: eksctl creates its role (`wellKnownPolicies`)",
        ],
    ] {
        assert!(has(&not_modelled, parts), "{parts:?} in {not_modelled:#?}");
    }

    let markdown = imported.report.markdown();
    assert!(markdown.starts_with("# What `orgtwin import` could not map"));
    for heading in [
        "## Not in the model",
        "## Outside the organization listing",
        "## Refused by the model's checks",
        "## Missing from the exports",
        "## Kept, but changed or assumed",
    ] {
        assert!(markdown.contains(heading), "{heading}\n{markdown}");
    }
}

#[test]
fn without_an_organization_listing_the_management_account_is_required() {
    let f = fixtures();
    let mut inputs = Inputs {
        iam: vec![
            AccountFile::parse(&f.join("iam/cluster-prod.json").display().to_string()),
            AccountFile::parse(&f.join("iam/payroll-prod.json").display().to_string()),
        ],
        ..Inputs::default()
    };
    let err = import(&inputs, &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("the management account is unknown"), "{err}");

    inputs.management_account = Some("999988887777".into());
    let imported = import_quietly(&inputs);
    let model = &imported.model;
    assert_eq!(
        model.accounts.keys().collect::<Vec<_>>(),
        ["111122223333", "444455556666", "999988887777"]
    );
    assert!(model.accounts.values().all(|a| a.parent == Parent::Root));
    assert_eq!(model.accounts["111122223333"].name, "111122223333");
    assert_eq!(model.scps.len(), 1);
    assert_eq!(model.scps[0].name, "FullAWSAccess");
    assert_eq!(model.scps[0].targets.len(), 4);
    let assumed = reported(&imported, Kind::Assumed);
    assert!(
        has(&assumed, &["no organization listing", "FullAWSAccess"]),
        "{assumed:#?}"
    );
    assert!(model.role("444455556666", "deploy-role").is_some());

    // A `list-roles` of an account no other export has is reported, with
    // a listing (outside it) and without (nothing to add it to).
    let dir = tempfile::tempdir().unwrap();
    let roles = dir.path().join("roles.json");
    std::fs::write(
        &roles,
        r#"{"Roles": [{"Arn": "arn:aws:iam::262626262626:role/r", "RoleName": "r"}]}"#,
    )
    .unwrap();
    inputs
        .iam
        .push(AccountFile::parse(&roles.display().to_string()));
    let imported = import_quietly(&inputs);
    let incomplete = reported(&imported, Kind::Incomplete);
    assert!(
        has(
            &incomplete,
            &["roles.json", "`list-roles` of account `262626262626`"]
        ),
        "{incomplete:#?}"
    );
    let mut listed = fixture_inputs();
    listed
        .iam
        .push(AccountFile::parse(&roles.display().to_string()));
    let imported = import_quietly(&listed);
    let outside = reported(&imported, Kind::OutsideOrganization);
    assert!(
        has(
            &outside,
            &["roles.json", "`list-roles` of account `262626262626`"]
        ),
        "{outside:#?}"
    );
}

#[test]
fn bad_exports_stop_the_import_at_their_file_and_json_path() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let with_iam = |path: PathBuf| Inputs {
        iam: vec![AccountFile {
            account: None,
            path,
        }],
        management_account: Some("999988887777".into()),
        ..Inputs::default()
    };
    // The message, and the help below it.
    let err = |inputs: &Inputs| {
        let e = import(inputs, &mut |_| {}).unwrap_err();
        let help = miette::Diagnostic::help(&e).map(|h| h.to_string());
        format!("{e}\nhelp: {}", help.unwrap_or_default())
    };

    let broken = write(
        "broken.json",
        "{\n  \"RoleDetailList\": [\n    {\"RoleName\": \n",
    );
    let message = err(&with_iam(broken));
    assert!(
        message.contains("broken.json` is not JSON, at line 4"),
        "{message}"
    );

    let wrong = write(
        "wrong.json",
        r#"{"RoleDetailList": [{"RoleName": "r", "Arn": "arn:aws:iam::111122223333:role/r",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
            "Tags": [{"Key": 5}]}]}"#,
    );
    let message = err(&with_iam(wrong));
    assert!(
        message.contains("wrong.json:3:30, at `RoleDetailList[0].Tags[0].Key`: expected a string"),
        "{message}"
    );

    let mixed = write(
        "mixed.json",
        r#"{"UserDetailList": [{"UserName": "u", "Arn": "arn:aws:iam::111122223333:user/u"}],
            "RoleDetailList": [{"RoleName": "r", "Arn": "arn:aws:iam::444455556666:role/r",
            "AssumeRolePolicyDocument": {}}]}"#,
    );
    let message = err(&with_iam(mixed));
    assert!(message.contains("give one export per account"), "{message}");

    let truncated = write(
        "truncated.json",
        r#"{"RoleDetailList": [], "IsTruncated": true, "Marker": "x"}"#,
    );
    assert!(err(&with_iam(truncated)).contains("`--max-items`"));
    // `--max-items` leaves `NextToken` and no `IsTruncated` in the CLI's
    // output; EKS spells it `nextToken`.
    let page = write(
        "page.json",
        r#"{"RoleDetailList": [], "NextToken": "eyJNYXJrZXIiOiBudWxsfQ=="}"#,
    );
    let message = err(&with_iam(page));
    assert!(
        message.contains("page.json:1:37, at `NextToken`: this is one page of a listing"),
        "{message}"
    );
    let eks_page = write(
        "associations-page.json",
        r#"{"associations": [], "nextToken": "abc"}"#,
    );
    let inputs = Inputs {
        eks: vec![eks_page],
        management_account: Some("999988887777".into()),
        ..Inputs::default()
    };
    assert!(err(&inputs).contains("at `nextToken`: this is one page"));
    let listing = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixtures().join("organizations")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), listing.path().join(entry.file_name())).unwrap();
    }
    std::fs::write(
        listing.path().join("list-roots.json"),
        r#"{"Roots": [], "NextToken": "abc"}"#,
    )
    .unwrap();
    let mut inputs = fixture_inputs();
    inputs.organizations = Some(listing.path().to_path_buf());
    let message = err(&inputs);
    assert!(
        message.contains("list-roots.json:1:28, at `NextToken`"),
        "{message}"
    );

    let unknown = write("unknown.json", r#"{"Buckets": []}"#);
    assert!(err(&with_iam(unknown)).contains("is not an `aws iam` output orgtwin reads"));

    // A trust policy IAM's grammar refuses: explained at the export.
    let invalid = write(
        "invalid.json",
        r#"{"RoleDetailList": [{"RoleName": "r", "Arn": "arn:aws:iam::111122223333:role/r",
            "AssumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D"}]}"#,
    );
    let message = err(&with_iam(invalid));
    assert!(
        message.contains("does not load")
            && message.contains(
                "invalid.json:2:41, at `RoleDetailList[0].AssumeRolePolicyDocument`: trust policy"
            ),
        "{message}"
    );

    // An eksctl file whose account nothing tells.
    let eksctl = write(
        "staging.yaml",
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\n\
         metadata:\n  name: StagingCluster\n  region: us-east-1\n",
    );
    let inputs = Inputs {
        eksctl: vec![AccountFile {
            account: None,
            path: eksctl.clone(),
        }],
        management_account: Some("999988887777".into()),
        ..Inputs::default()
    };
    let message = err(&inputs);
    assert!(message.contains("`--eksctl ACCOUNT=FILE`"), "{message}");
    let not_eksctl = write("not-eksctl.yaml", "kind: Deployment\n");
    let inputs = Inputs {
        eksctl: vec![AccountFile {
            account: Some("111122223333".into()),
            path: not_eksctl,
        }],
        management_account: Some("999988887777".into()),
        ..Inputs::default()
    };
    let message = err(&inputs);
    assert!(message.contains("not-eksctl.yaml:1:7"), "{message}");

    // The listing's management account wins; a different flag is an error.
    let mut inputs = fixture_inputs();
    inputs.management_account = Some("111122223333".into());
    assert!(err(&inputs).contains("differs from the organization listing"));
    let mut inputs = fixture_inputs();
    inputs.iam.push(inputs.iam[0].clone());
    assert!(
        err(&inputs)
            .contains("are both `get-account-authorization-details` of account 111122223333")
    );
}

// ---------------------------------------------------------------------
// Exports rendered from a model, in the AWS CLI's output shapes.

fn value(d: &Document) -> Value {
    serde_json::from_str(&d.text).unwrap()
}

/// IAM's raw API encoding of a document (`%7B%22Version...`).
fn url_encoded(d: &Document) -> Value {
    let text = value(d).to_string();
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Value::String(out)
}

fn tag_list(tags: &[orgtwin_model::Tag]) -> Value {
    tags.iter()
        .map(|t| json!({"Key": t.key, "Value": t.value}))
        .collect()
}

fn inline(policies: &[orgtwin_model::InlinePolicy], encode: bool) -> Value {
    policies
        .iter()
        .map(|p| {
            let document = if encode {
                url_encoded(&p.document)
            } else {
                value(&p.document)
            };
            json!({"PolicyName": p.name, "PolicyDocument": document})
        })
        .collect()
}

fn attached(arns: &[String]) -> Value {
    arns.iter()
        .map(|a| json!({"PolicyName": a.rsplit('/').next(), "PolicyArn": a}))
        .collect()
}

fn boundary(arn: Option<&String>) -> Value {
    arn.map_or(
        Value::Null,
        |b| json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": b}),
    )
}

/// `aws iam get-account-authorization-details` of one account; documents
/// URL-encoded (the raw API) for odd accounts, objects (the CLI) otherwise.
fn authorization_details(model: &Model, id: &str, encode: bool) -> Value {
    let iam = &model.account(id).unwrap().iam;
    let doc = |d: &Document| if encode { url_encoded(d) } else { value(d) };
    let roles: Vec<Value> = iam
        .roles
        .iter()
        .map(|r| {
            let mut role = json!({
                "Path": r.path, "RoleName": r.name, "RoleId": r.id, "Arn": r.arn,
                "CreateDate": "2025-04-02T08:15:42+00:00",
                "AssumeRolePolicyDocument": doc(&r.trust_policy), "InstanceProfileList": [],
                "RolePolicyList": inline(&r.inline_policies, encode),
                "AttachedManagedPolicies": attached(&r.managed_policies),
                "Tags": tag_list(&r.tags), "RoleLastUsed": {},
            });
            if r.permissions_boundary.is_some() {
                role["PermissionsBoundary"] = boundary(r.permissions_boundary.as_ref());
            }
            role
        })
        .collect();
    let users: Vec<Value> = iam
        .users
        .iter()
        .map(|u| {
            let mut user = json!({
                "Path": u.path, "UserName": u.name, "UserId": u.id, "Arn": u.arn,
                "UserPolicyList": inline(&u.inline_policies, encode), "GroupList": u.groups,
                "AttachedManagedPolicies": attached(&u.managed_policies), "Tags": tag_list(&u.tags),
            });
            if u.permissions_boundary.is_some() {
                user["PermissionsBoundary"] = boundary(u.permissions_boundary.as_ref());
            }
            user
        })
        .collect();
    let groups: Vec<Value> = iam
        .groups
        .iter()
        .map(|g| {
            json!({
                "Path": g.path, "GroupName": g.name, "GroupId": g.id, "Arn": g.arn,
                "GroupPolicyList": inline(&g.inline_policies, encode),
                "AttachedManagedPolicies": attached(&g.managed_policies),
            })
        })
        .collect();
    let policies: Vec<Value> = iam
        .policies
        .iter()
        .map(|p| {
            json!({
                "PolicyName": p.name, "PolicyId": p.id, "Arn": p.arn, "Path": p.path,
                "DefaultVersionId": "v3", "Description": p.description, "IsAttachable": true,
                "PolicyVersionList": [
                    {"Document": {"Version": "2012-10-17", "Statement": []},
                     "VersionId": "v2", "IsDefaultVersion": false},
                    {"Document": doc(&p.document), "VersionId": "v3", "IsDefaultVersion": true},
                ],
            })
        })
        .collect();
    json!({"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles,
           "Policies": policies, "IsTruncated": false})
}

/// `aws iam list-roles` of one account: descriptions and durations.
fn list_roles(model: &Model, id: &str) -> Value {
    let roles: Vec<Value> = model
        .account(id)
        .unwrap()
        .iam
        .roles
        .iter()
        .map(|r| {
            json!({
                "Path": r.path, "RoleName": r.name, "RoleId": r.id, "Arn": r.arn,
                "AssumeRolePolicyDocument": value(&r.trust_policy),
                "Description": r.description, "MaxSessionDuration": r.max_session_duration,
            })
        })
        .collect();
    json!({"Roles": roles})
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path
}

/// The `aws organizations` directory of a model.
fn organizations(model: &Model, dir: &Path) {
    let org = &model.organization;
    write(
        dir,
        "describe-organization.json",
        &json!({"Organization": {
        "Id": org.id, "FeatureSet": "ALL", "MasterAccountId": org.management_account}}),
    );
    write(
        dir,
        "list-roots.json",
        &json!({"Roots": [{"Id": org.root_id, "Name": "Root",
        "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]}]}),
    );
    if org.ram_sharing_with_organization {
        write(
            dir,
            "list-aws-service-access-for-organization.json",
            &json!({
            "EnabledServicePrincipals": [{"ServicePrincipal": "ram.amazonaws.com"}]}),
        );
    }
    let mut parents = vec![(org.root_id.clone(), Parent::Root)];
    for ou in &org.organizational_units {
        parents.push((ou.id.clone(), Parent::OrganizationalUnit(ou.name.clone())));
    }
    for (id, parent) in &parents {
        let ous: Vec<Value> = org
            .organizational_units
            .iter()
            .filter(|ou| &ou.parent == parent)
            .map(|ou| json!({"Id": ou.id, "Name": ou.name}))
            .collect();
        write(
            dir,
            &format!("list-organizational-units-for-parent-{id}.json"),
            &json!({"OrganizationalUnits": ous}),
        );
        let accounts: Vec<Value> = model
            .accounts
            .values()
            .filter(|a| &a.parent == parent)
            .map(|a| json!({"Id": a.id, "Name": a.name, "Email": a.email, "Status": "ACTIVE"}))
            .collect();
        write(
            dir,
            &format!("list-accounts-for-parent-{id}.json"),
            &json!({"Accounts": accounts}),
        );
    }
    let ou_id = |name: &str| model.organizational_unit(name).unwrap().id.clone();
    for (filter, policies) in [
        ("SERVICE_CONTROL_POLICY", &model.scps),
        ("RESOURCE_CONTROL_POLICY", &model.rcps),
    ] {
        let listed: Vec<Value> = policies
            .iter()
            .map(|p| {
                json!({"Id": p.id, "Name": p.name,
            "Description": p.description, "Type": filter, "AwsManaged": p.name == "FullAWSAccess"})
            })
            .collect();
        write(
            dir,
            &format!("list-policies-{filter}.json"),
            &json!({"Policies": listed}),
        );
        for p in policies.iter() {
            write(
                dir,
                &format!("describe-policy-{}.json", p.id),
                &json!({"Policy": {"PolicySummary": {"Id": p.id, "Name": p.name},
                                   "Content": p.document.text.to_string()}}),
            );
            let targets: Vec<Value> = p
                .targets
                .iter()
                .map(|t| match t {
                    Target::Root => json!({"TargetId": org.root_id, "Type": "ROOT"}),
                    Target::OrganizationalUnit(name) => {
                        json!({"TargetId": ou_id(name), "Type": "ORGANIZATIONAL_UNIT"})
                    }
                    Target::Account(id) => json!({"TargetId": id, "Type": "ACCOUNT"}),
                })
                .collect();
            write(
                dir,
                &format!("list-targets-for-policy-{}.json", p.id),
                &json!({"Targets": targets}),
            );
        }
    }
}

/// Every export of a model that the AWS CLI and kubectl can give.
fn exports(model: &Model, dir: &Path) -> Inputs {
    let org_dir = dir.join("organizations");
    std::fs::create_dir_all(&org_dir).unwrap();
    organizations(model, &org_dir);
    let mut iam = Vec::new();
    for (n, id) in model.accounts.keys().enumerate() {
        let details = authorization_details(model, id, n % 2 == 1);
        let path = write(dir, &format!("iam-{id}.json"), &details);
        // The management account's IAM is empty: no ARN names it.
        iam.push(AccountFile {
            account: Some(id.clone()),
            path,
        });
        iam.push(AccountFile {
            account: Some(id.clone()),
            path: write(dir, &format!("roles-{id}.json"), &list_roles(model, id)),
        });
        for (k, provider) in model.accounts[id].iam.oidc_providers.iter().enumerate() {
            let output = json!({"Url": provider.url.trim_start_matches("https://"),
                "ClientIDList": provider.client_ids, "ThumbprintList": provider.thumbprints,
                "Tags": tag_list(&provider.tags)});
            let path = write(dir, &format!("oidc-{id}-{k}.json"), &output);
            iam.push(AccountFile {
                account: Some(id.clone()),
                path,
            });
        }
    }
    let mut eks = Vec::new();
    let mut kubectl = Vec::new();
    for (account, cluster) in model.clusters() {
        let tags: serde_json::Map<String, Value> = cluster
            .tags
            .iter()
            .map(|t| (t.key.clone(), Value::String(t.value.clone())))
            .collect();
        eks.push(write(
            dir,
            &format!("cluster-{}.json", cluster.name),
            &json!({"cluster": {
            "name": cluster.name, "arn": cluster.arn(account), "version": cluster.version,
            "identity": {"oidc": {"issuer": cluster.issuer()}}, "status": "ACTIVE", "tags": tags}}),
        ));
        for a in &cluster.pod_identity_associations {
            let tags: serde_json::Map<String, Value> = a
                .tags
                .iter()
                .map(|t| (t.key.clone(), Value::String(t.value.clone())))
                .collect();
            eks.push(write(
                dir,
                &format!("association-{}.json", a.id),
                &json!({"association": {
                "clusterName": cluster.name, "namespace": a.namespace,
                "serviceAccount": a.service_account,
                "roleArn": a.role_arn, "targetRoleArn": a.target_role_arn, "associationId": a.id,
                "associationArn": a.arn(cluster, account),
                "disableSessionTags": a.disable_session_tags,
                "policy": a.policy.as_ref().map(|p| p.text.to_string()), "tags": tags,
                "externalId": a.external_id(cluster, account)}}),
            ));
        }
        let items: Vec<Value> = cluster
            .service_accounts
            .iter()
            .map(|sa| {
                json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": sa.name, "namespace": sa.namespace,
                         "annotations": sa.annotations}})
            })
            .collect();
        let path = write(
            dir,
            &format!("kubectl-{}.json", cluster.name),
            &json!({"apiVersion": "v1", "kind": "List", "items": items}),
        );
        kubectl.push(ClusterFile {
            cluster: cluster.name.clone(),
            path,
        });
    }
    Inputs {
        organizations: Some(org_dir),
        iam,
        eks,
        kubectl,
        ..Inputs::default()
    }
}

#[test]
fn the_example_s_exports_give_back_its_identity_plane() {
    let example = embedded();
    let dir = tempfile::tempdir().unwrap();
    let inputs = exports(&example, dir.path());
    let imported = import_quietly(&inputs);
    let model = &imported.model;
    assert_eq!(model.organization, example.organization);
    assert_eq!(model.scps, example.scps);
    assert_eq!(model.rcps, example.rcps);
    assert_eq!(
        model.accounts.keys().collect::<Vec<_>>(),
        example.accounts.keys().collect::<Vec<_>>()
    );
    for (id, account) in &example.accounts {
        let got = &model.accounts[id];
        assert_eq!(
            (&got.name, &got.email, &got.parent),
            (&account.name, &account.email, &account.parent)
        );
        // Access keys are never in an export; everything else of IAM is.
        let mut want = account.iam.clone();
        for user in &mut want.users {
            user.access_keys.clear();
        }
        assert_eq!(got.iam, want, "IAM of {id}");
        assert_eq!(got.clusters, account.clusters, "clusters of {id}");
    }
    // The one item reported: users' access keys, which no export has.
    let lines: Vec<String> = imported
        .report
        .items
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("access keys of 1 user(s)"));
}

#[test]
fn a_trust_that_pins_eks_s_external_id_is_reported() {
    let example = embedded();
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = exports(&example, dir.path());
    let association = inputs
        .eks
        .iter()
        .find(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("payroll-reports-role\"")
        })
        .unwrap()
        .clone();
    let mut described: Value =
        serde_json::from_str(&std::fs::read_to_string(&association).unwrap()).unwrap();
    described["association"]["externalId"] = json!("5e8f2b1c-7a4d-4c3e-9b6a-0d1e2f3a4b5c");
    write(
        dir.path(),
        association.file_name().unwrap().to_str().unwrap(),
        &described,
    );
    let mut details = authorization_details(&example, "444455556666", false);
    let roles = details["RoleDetailList"].as_array_mut().unwrap();
    let reports = roles
        .iter_mut()
        .find(|r| r["RoleName"] == "payroll-reports-role")
        .unwrap();
    let condition = &mut reports["AssumeRolePolicyDocument"]["Statement"][0]["Condition"];
    condition["StringEquals"]["sts:ExternalId"] = json!("5e8f2b1c-7a4d-4c3e-9b6a-0d1e2f3a4b5c");
    let path = write(dir.path(), "iam-444455556666.json", &details);
    inputs.iam.retain(|f| f.path != path);
    inputs.iam.push(AccountFile {
        account: None,
        path,
    });
    let imported = import_quietly(&inputs);
    let assumed = reported(&imported, Kind::Assumed);
    assert!(
        has(
            &assumed,
            &["pins this association's external id `5e8f2b1c-"]
        ),
        "{assumed:#?}"
    );
}

#[test]
fn a_kubectl_listing_is_what_the_cluster_has() {
    let dir = tempfile::tempdir().unwrap();
    // An eksctl file of ProductionCluster that annotates a service account
    // the listing has without a role, and declares one the listing lacks.
    let eksctl = dir.path().join("production.yaml");
    std::fs::write(
        &eksctl,
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\n\
         metadata: {name: ProductionCluster, region: us-east-1}\n\
         iam:\n  serviceAccounts:\n\
         \x20   - metadata: {name: PayrollApplication, namespace: OtherNamespace}\n\
         \x20     attachRoleARN: arn:aws:iam::111122223333:role/account-a-role\n\
         \x20   - metadata: {name: gone, namespace: PayrollNamespace}\n\
         \x20     attachRoleARN: arn:aws:iam::111122223333:role/account-a-role\n",
    )
    .unwrap();
    let mut inputs = fixture_inputs();
    inputs.eksctl.push(AccountFile {
        account: Some("111122223333".into()),
        path: eksctl.clone(),
    });
    let imported = import_quietly(&inputs);
    let (_, production) = imported.model.cluster("ProductionCluster").unwrap();
    let other = production
        .service_account("OtherNamespace", "PayrollApplication")
        .unwrap();
    assert!(other.irsa().is_none(), "{other:?}");
    assert!(
        production
            .service_account("PayrollNamespace", "gone")
            .is_none()
    );
    let assumed = reported(&imported, Kind::Assumed);
    assert!(
        has(
            &assumed,
            &[
                "production.yaml:6:",
                "`OtherNamespace/PayrollApplication`: annotation `eks.amazonaws.com/role-arn`",
                "is not on the service account in the kubectl listing; left out"
            ]
        ),
        "{assumed:#?}"
    );
    let incomplete = reported(&imported, Kind::Incomplete);
    assert!(
        has(
            &incomplete,
            &[
                "production.yaml:8:",
                "`PayrollNamespace/gone` is in the eksctl file but not in the cluster's kubectl listing"
            ]
        ),
        "{incomplete:#?}"
    );

    // Two listings of one cluster: which one is the cluster's?
    let mut twice = fixture_inputs();
    twice.kubectl.push(twice.kubectl[0].clone());
    let err = import(&twice, &mut |_| {}).unwrap_err().to_string();
    assert!(
        err.contains("lists the service accounts of cluster `ProductionCluster`, which an earlier"),
        "{err}"
    );
}

#[test]
fn a_role_whose_boundary_cannot_be_imported_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let trust = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]}"#;
    let iam = dir.path().join("iam.json");
    std::fs::write(
        &iam,
        format!(
            r#"{{"RoleDetailList": [
  {{"RoleName": "bounded", "Path": "/", "Arn": "arn:aws:iam::111122223333:role/bounded",
    "AssumeRolePolicyDocument": {trust},
    "AttachedManagedPolicies": [{{"PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}}],
    "PermissionsBoundary": {{"PermissionsBoundaryType": "Policy",
      "PermissionsBoundaryArn": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"}}}},
  {{"RoleName": "plain", "Path": "/", "Arn": "arn:aws:iam::111122223333:role/plain",
    "AssumeRolePolicyDocument": {trust}}}]}}"#
        ),
    )
    .unwrap();
    // `list-roles` names it too: reported once, not again as missing.
    let listed = dir.path().join("roles.json");
    std::fs::write(
        &listed,
        r#"{"Roles": [{"Arn": "arn:aws:iam::111122223333:role/bounded", "RoleName": "bounded"},
            {"Arn": "arn:aws:iam::111122223333:role/plain", "RoleName": "plain"}]}"#,
    )
    .unwrap();
    let inputs = Inputs {
        iam: vec![
            AccountFile {
                account: None,
                path: iam,
            },
            AccountFile {
                account: None,
                path: listed,
            },
        ],
        management_account: Some("999988887777".into()),
        ..Inputs::default()
    };
    let imported = import_quietly(&inputs);
    let incomplete = reported(&imported, Kind::Incomplete);
    assert!(!has(&incomplete, &["bounded"]), "{incomplete:#?}");
    // Administrator access without its boundary would be far more than AWS
    // allows: the role is not in the model at all.
    assert!(imported.model.role("111122223333", "bounded").is_none());
    assert!(imported.model.role("111122223333", "plain").is_some());
    let refused = reported(&imported, Kind::Refused);
    assert!(
        has(
            &refused,
            &[
                "iam.json:2:3",
                "role `bounded` is left out with its permissions boundary"
            ]
        ),
        "{refused:#?}"
    );
}
