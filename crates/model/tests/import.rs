//! `orgtwin import` from exports in the AWS CLI's output shapes, rendered
//! here from the example organization: importing them gives back the
//! example's IAM, organization, clusters and associations; bad input is
//! refused with the file named; what cannot be mapped is reported.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use orgtwin_model::import::{Inputs, import};
use orgtwin_model::{Model, Parent, Target, embedded};
use serde_json::{Value, json};

fn doc(d: &orgtwin_model::Document) -> Value {
    serde_json::from_str(&d.text).unwrap()
}

fn tags(tags: &[orgtwin_model::Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
    )
}

/// `aws iam get-account-authorization-details` for one account; the trust
/// policies URL-encoded, as the API (not the CLI) gives them, for one role.
fn authorization_details(model: &Model, id: &str) -> Value {
    let account = model.account(id).unwrap();
    let iam = &account.iam;
    let roles: Vec<Value> = iam
        .roles
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let trust = if n == 0 {
                Value::String(
                    doc(&r.trust_policy)
                        .to_string()
                        .replace('%', "%25")
                        .replace('"', "%22")
                        .replace(' ', "%20")
                        .replace(':', "%3A"),
                )
            } else {
                doc(&r.trust_policy)
            };
            json!({
                "Path": r.path, "RoleName": r.name, "RoleId": r.id, "Arn": r.arn,
                "AssumeRolePolicyDocument": trust,
                "InstanceProfileList": [],
                "RolePolicyList": r.inline_policies.iter().map(|p| json!({"PolicyName": p.name, "PolicyDocument": doc(&p.document)})).collect::<Vec<_>>(),
                "AttachedManagedPolicies": r.managed_policies.iter().map(|a| json!({"PolicyArn": a, "PolicyName": a.rsplit('/').next()})).collect::<Vec<_>>(),
                "PermissionsBoundary": r.permissions_boundary.as_ref().map(|b| json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": b})),
                "MaxSessionDuration": r.max_session_duration,
                "Tags": tags(&r.tags),
            })
        })
        .collect();
    let users: Vec<Value> = iam
        .users
        .iter()
        .map(|u| {
            json!({
                "Path": u.path, "UserName": u.name, "Arn": u.arn,
                "UserPolicyList": u.inline_policies.iter().map(|p| json!({"PolicyName": p.name, "PolicyDocument": doc(&p.document)})).collect::<Vec<_>>(),
                "GroupList": u.groups,
                "AttachedManagedPolicies": u.managed_policies.iter().map(|a| json!({"PolicyArn": a})).collect::<Vec<_>>(),
                "Tags": tags(&u.tags),
            })
        })
        .collect();
    let groups: Vec<Value> = iam
        .groups
        .iter()
        .map(|g| {
            json!({
                "Path": g.path, "GroupName": g.name, "Arn": g.arn,
                "GroupPolicyList": g.inline_policies.iter().map(|p| json!({"PolicyName": p.name, "PolicyDocument": doc(&p.document)})).collect::<Vec<_>>(),
                "AttachedManagedPolicies": g.managed_policies.iter().map(|a| json!({"PolicyArn": a})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let policies: Vec<Value> = iam
        .policies
        .iter()
        .map(|p| {
            json!({
                "PolicyName": p.name, "Path": p.path, "Arn": p.arn, "DefaultVersionId": "v1", "Description": p.description,
                "PolicyVersionList": [{"Document": doc(&p.document), "VersionId": "v1", "IsDefaultVersion": true}],
            })
        })
        .collect();
    json!({"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": policies})
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path
}

/// The `aws organizations` outputs of the example.
fn organizations(model: &Model, dir: &Path) {
    let org = &model.organization;
    write(
        dir,
        "describe-organization.json",
        &json!({"Organization": {"Id": org.id, "MasterAccountId": org.management_account, "FeatureSet": "ALL"}}),
    );
    write(
        dir,
        "list-roots.json",
        &json!({"Roots": [{"Id": org.root_id, "Name": "Root"}]}),
    );
    let ou_id = |name: &str| model.organizational_unit(name).unwrap().id.clone();
    let children = |parent: &Parent| -> Vec<Value> {
        org.organizational_units
            .iter()
            .filter(|ou| &ou.parent == parent)
            .map(|ou| json!({"Id": ou.id, "Name": ou.name}))
            .collect()
    };
    write(
        dir,
        &format!("list-organizational-units-for-parent-{}.json", org.root_id),
        &json!({"OrganizationalUnits": children(&Parent::Root)}),
    );
    for ou in &org.organizational_units {
        let parent = Parent::OrganizationalUnit(ou.name.clone());
        write(
            dir,
            &format!("list-organizational-units-for-parent-{}.json", ou.id),
            &json!({"OrganizationalUnits": children(&parent)}),
        );
        let accounts: Vec<Value> = model
            .accounts
            .values()
            .filter(|a| a.parent == parent)
            .map(|a| json!({"Id": a.id, "Name": a.name}))
            .collect();
        write(
            dir,
            &format!("list-accounts-for-parent-{}.json", ou.id),
            &json!({"Accounts": accounts}),
        );
    }
    let accounts: Vec<Value> = model
        .accounts
        .values()
        .map(|a| json!({"Id": a.id, "Name": a.name, "Email": a.email}))
        .collect();
    write(dir, "list-accounts.json", &json!({"Accounts": accounts}));
    for (kind, policies) in [
        ("SERVICE_CONTROL_POLICY", &model.scps),
        ("RESOURCE_CONTROL_POLICY", &model.rcps),
    ] {
        let listed: Vec<Value> = policies.iter().map(|p| json!({"Id": p.id, "Name": p.name, "Description": p.description, "AwsManaged": p.name == "FullAWSAccess"})).collect();
        write(
            dir,
            &format!("list-policies-{kind}.json"),
            &json!({"Policies": listed}),
        );
        for p in policies {
            write(
                dir,
                &format!("describe-policy-{}.json", p.id),
                &json!({"Policy": {"PolicySummary": {"Id": p.id, "Name": p.name}, "Content": p.document.text.to_string()}}),
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

fn exports(model: &Model, dir: &Path) -> Inputs {
    let org_dir = dir.join("organizations");
    std::fs::create_dir_all(&org_dir).unwrap();
    organizations(model, &org_dir);
    let iam = model
        .accounts
        .keys()
        .map(|id| {
            write(
                dir,
                &format!("iam-{id}.json"),
                &authorization_details(model, id),
            )
        })
        .collect();
    let mut eks = Vec::new();
    let mut kubectl = Vec::new();
    for (account, cluster) in model.clusters() {
        eks.push(write(
            dir,
            &format!("cluster-{}.json", cluster.name),
            &json!({"cluster": {
                "name": cluster.name, "arn": cluster.arn(account), "version": cluster.version,
                "identity": {"oidc": {"issuer": cluster.issuer()}}, "status": "ACTIVE",
            }}),
        ));
        for a in &cluster.pod_identity_associations {
            eks.push(write(dir, &format!("association-{}.json", a.id), &json!({"association": {
                "clusterName": cluster.name, "namespace": a.namespace, "serviceAccount": a.service_account,
                "roleArn": a.role_arn, "targetRoleArn": a.target_role_arn, "associationId": a.id,
                "associationArn": a.arn(cluster, account), "disableSessionTags": a.disable_session_tags,
            }})));
        }
        let items: Vec<Value> = cluster.service_accounts.iter().map(|sa| json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": sa.name, "namespace": sa.namespace, "annotations": sa.annotations},
        })).collect();
        let path = write(
            dir,
            &format!("kubectl-{}.json", cluster.name),
            &json!({"apiVersion": "v1", "kind": "List", "items": items}),
        );
        kubectl.push((cluster.name.clone(), path));
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
fn importing_the_example_s_exports_gives_back_its_identity_plane() {
    let example = embedded();
    let dir = tempfile::tempdir().unwrap();
    let inputs = exports(&example, dir.path());
    let mut seen = Vec::new();
    let imported = import(&inputs, &mut |what| seen.push(what.to_string())).unwrap();
    assert_eq!(
        seen.len(),
        1 + inputs.iam.len() + inputs.eks.len() + inputs.kubectl.len()
    );
    let model = &imported.model;
    assert_eq!(
        model.accounts.keys().collect::<Vec<_>>(),
        example.accounts.keys().collect::<Vec<_>>()
    );
    assert_eq!(model.organization.id, example.organization.id);
    for (id, account) in &example.accounts {
        let got = &model.accounts[id];
        assert_eq!(got.name, account.name);
        assert_eq!(got.parent, account.parent, "{id}");
        for role in &account.iam.roles {
            let other = model
                .role(id, &role.name)
                .unwrap_or_else(|| panic!("{id} {}", role.name));
            assert_eq!(other.trust_policy, role.trust_policy, "{}", role.arn);
            assert_eq!(other.inline_policies, role.inline_policies, "{}", role.arn);
            assert_eq!(
                other.managed_policies, role.managed_policies,
                "{}",
                role.arn
            );
            assert_eq!(other.permissions_boundary, role.permissions_boundary);
            assert_eq!(other.tags, role.tags);
        }
        assert_eq!(got.iam.users.len(), account.iam.users.len());
        assert_eq!(got.iam.policies, account.iam.policies, "{id}");
    }
    for (imported_scps, scps) in [(&model.scps, &example.scps), (&model.rcps, &example.rcps)] {
        assert_eq!(imported_scps.len(), scps.len());
        for (a, b) in imported_scps.iter().zip(scps.iter()) {
            assert_eq!(a.document, b.document, "{}", a.name);
            assert_eq!(a.targets, b.targets, "{}", a.name);
        }
    }
    for (_, cluster) in example.clusters() {
        let (_, got) = model.cluster(&cluster.name).unwrap();
        assert_eq!(got.oidc_issuer_id, cluster.oidc_issuer_id);
        assert_eq!(
            got.pod_identity_associations, cluster.pod_identity_associations,
            "{}",
            cluster.name
        );
        for sa in &cluster.service_accounts {
            let found = got.service_account(&sa.namespace, &sa.name).unwrap();
            assert_eq!(found.annotations, sa.annotations);
        }
    }
    // Buckets, VPCs and shares are not in these exports: the example's
    // accounts hold IAM and EKS only after the import.
    // The management account has no IAM of its own in the example: its
    // export names no account, and says so.
    assert_eq!(imported.unmapped.len(), 1, "{:?}", imported.unmapped);
    assert!(
        imported.unmapped[0].contains("iam-999988887777.json: no role"),
        "{:?}",
        imported.unmapped
    );
    assert!(
        imported
            .files
            .iter()
            .any(|(p, _)| p == Path::new("kubernetes/ProductionCluster-serviceaccounts.json"))
    );
}

#[test]
fn what_cannot_be_mapped_is_reported_and_bad_input_names_its_file() {
    let example = embedded();
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = exports(&example, dir.path());
    // A summary listing, an association of an unknown cluster, a role with
    // an instance profile.
    inputs
        .eks
        .push(write(dir.path(), "list.json", &json!({"associations": []})));
    inputs.eks.push(write(
        dir.path(),
        "stray.json",
        &json!({"association": {
        "clusterName": "Elsewhere", "namespace": "n", "serviceAccount": "s",
        "roleArn": "arn:aws:iam::111122223333:role/account-a-role"}}),
    ));
    let mut details = authorization_details(&example, "111122223333");
    details["RoleDetailList"][0]["InstanceProfileList"] = json!([{"InstanceProfileName": "ip"}]);
    let at = |inputs: &Inputs, id: &str| {
        inputs
            .iam
            .iter()
            .position(|p| p.ends_with(format!("iam-{id}.json")))
            .unwrap()
    };
    let cluster = at(&inputs, "111122223333");
    inputs.iam[cluster] = write(dir.path(), "iam-cluster.json", &details);
    let imported = import(&inputs, &mut |_| {}).unwrap();
    let report = imported.unmapped.join("\n");
    assert!(
        report.contains("list.json: a list of association summaries"),
        "{report}"
    );
    assert!(
        report.contains("association of cluster Elsewhere"),
        "{report}"
    );
    assert!(
        report.contains("instance profiles are not part of the model"),
        "{report}"
    );

    let mut broken = exports(&example, dir.path());
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    broken.iam.push(bad);
    let err = import(&broken, &mut |_| {}).unwrap_err().to_string();
    assert!(
        err.contains("bad.json") && err.contains("not JSON"),
        "{err}"
    );

    let none = Inputs::default();
    let err = import(&none, &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("--management-account"), "{err}");

    // A trust policy that is not valid: the model's own check refuses it,
    // and the import with it.
    let mut invalid = exports(&example, dir.path());
    let mut details = authorization_details(&example, "444455556666");
    details["RoleDetailList"][1]["AssumeRolePolicyDocument"] = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]});
    let payroll = at(&invalid, "444455556666");
    invalid.iam[payroll] = write(dir.path(), "iam-payroll.json", &details);
    let err = import(&invalid, &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("does not load"), "{err}");
}
