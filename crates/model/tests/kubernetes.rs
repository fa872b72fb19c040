//! Clusters and service accounts from the files other tools keep: Kubernetes
//! manifests (YAML streams, `List` objects, `kubectl ... -o json`) and
//! eksctl `ClusterConfig` files, with their problems reported in those files.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use orgtwin_model::load_from_memory;

const ROOT: &str = r#"
organization:
  management_account: "999988887777"
accounts:
  - id: "999988887777"
    name: management
  - id: "111122223333"
    name: clusters
    iam:
      roles:
        - name: pod-role
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {Service: pods.eks.amazonaws.com}
                Action: [sts:AssumeRole, sts:TagSession]
    eks:
      eksctl_configs: [eksctl.yaml]
      clusters:
        - name: from-manifests
          kubernetes_manifests: [sa.json, more.yaml]
          pod_identity_associations:
            - namespace: team-a
              service_account: app
              role_arn: arn:aws:iam::111122223333:role/pod-role
"#;

const KUBECTL_JSON: &str = r#"{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "ServiceAccount",
     "metadata": {"name": "app", "namespace": "team-a", "uid": "1b6c", "annotations": {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::444455556666:role/reader"}}},
    {"apiVersion": "v1", "kind": "ServiceAccount",
     "metadata": {"name": "default", "namespace": "team-a"}}
  ],
  "metadata": {"resourceVersion": ""}
}"#;

const MORE_YAML: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: builder\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {a: b}\n";

const EKSCTL: &str = r#"
apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: from-eksctl
  region: eu-west-1
  version: "1.30"
iam:
  withOIDC: true
  serviceAccounts:
    - metadata: {name: s3-reader, namespace: backend}
      attachRoleARN: arn:aws:iam::444455556666:role/reader
  podIdentityAssociations:
    - namespace: backend
      serviceAccountName: worker
      roleARN: arn:aws:iam::111122223333:role/pod-role
      createServiceAccount: true
managedNodeGroups:
  - name: ng-1
    instanceType: m5.large
"#;

#[test]
fn service_accounts_come_from_manifests_and_clusters_from_eksctl() {
    let model = load_from_memory(
        "org.yaml",
        &[
            ("org.yaml", ROOT),
            ("sa.json", KUBECTL_JSON),
            ("more.yaml", MORE_YAML),
            ("eksctl.yaml", EKSCTL),
        ],
    )
    .unwrap_or_else(|e| panic!("{}", e.brief()));
    let (_, cluster) = model.cluster("from-manifests").unwrap();
    let names: Vec<String> = cluster
        .service_accounts
        .iter()
        .map(|s| format!("{}/{}", s.namespace, s.name))
        .collect();
    assert_eq!(names, ["team-a/app", "team-a/default", "default/builder"]);
    assert_eq!(
        cluster
            .service_account("team-a", "app")
            .unwrap()
            .irsa()
            .unwrap()
            .role_arn,
        "arn:aws:iam::444455556666:role/reader"
    );
    assert!(cluster.association_for("team-a", "app").is_some());

    let (account, eksctl) = model.cluster("from-eksctl").unwrap();
    assert_eq!(account, "111122223333");
    assert_eq!(eksctl.region, "eu-west-1");
    assert_eq!(eksctl.version, "1.30");
    assert_eq!(
        eksctl
            .service_account("backend", "s3-reader")
            .unwrap()
            .irsa()
            .unwrap()
            .role_arn,
        "arn:aws:iam::444455556666:role/reader"
    );
    assert!(eksctl.service_account("backend", "worker").is_some());
    assert_eq!(
        eksctl
            .association_for("backend", "worker")
            .unwrap()
            .role_arn,
        "arn:aws:iam::111122223333:role/pod-role"
    );
}

#[test]
fn problems_in_other_tools_files_are_reported_there() {
    let broken_eksctl = "kind: ClusterConfig\nmetadata:\n  name: x\n  region: eu-west-1\niam:\n  serviceAccounts:\n    - metadata: {name: s, namespace: n}\n    - metadata: {name: made, namespace: n}\n      attachPolicyARNs: [arn:aws:iam::aws:policy/ReadOnlyAccess]\naddons:\n  - name: vpc-cni\n    podIdentityAssociations:\n      - {serviceAccountName: aws-node, permissionPolicyARNs: [arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy]}\n";
    let broken_manifest =
        "kind: ServiceAccount\nmetadata:\n  namespace: team-a\n---\nkind: ServiceAccount\n";
    let errors = load_from_memory(
        "org.yaml",
        &[
            ("org.yaml", ROOT),
            ("sa.json", broken_manifest),
            ("more.yaml", "a: [unclosed\n"),
            ("eksctl.yaml", broken_eksctl),
        ],
    )
    .unwrap_err();
    let brief = errors.brief();
    assert!(
        brief.contains("sa.json:3:3: missing field `name`"),
        "{brief}"
    );
    assert!(
        brief.contains("sa.json:5:1: missing field `metadata`"),
        "{brief}"
    );
    assert!(brief.contains("more.yaml:"), "{brief}");
    assert!(
        brief.contains("eksctl.yaml:7:7: missing field `attachRoleARN`"),
        "{brief}"
    );
    // A role eksctl would make is refused, not dropped; an add-on's
    // associations are passed over (docs/model.md).
    assert!(
        brief.contains(
            "eksctl.yaml:8:7: service account `n/made`: eksctl creates its IRSA role \
             (`attachPolicyARNs`)"
        ),
        "{brief}"
    );
    assert!(!brief.contains("vpc-cni"), "{brief}");

    let not_eksctl = load_from_memory(
        "org.yaml",
        &[
            ("org.yaml", ROOT),
            ("sa.json", KUBECTL_JSON),
            ("more.yaml", MORE_YAML),
            ("eksctl.yaml", "kind: Deployment\n"),
        ],
    )
    .unwrap_err()
    .brief();
    assert!(
        not_eksctl.contains("not a valid eksctl config kind"),
        "{not_eksctl}"
    );
}
