//! The layouts compared for the embedded example and for a model built to
//! make every count differ.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use orgtwin_analyze::{Mechanism, compare};

#[test]
fn the_example_has_the_guides_four_workloads() {
    let model = orgtwin_model::embedded();
    let c = compare(&model);
    let found: Vec<(&str, Mechanism, Option<&str>, Option<&str>)> = c
        .workloads
        .iter()
        .map(|w| {
            (
                w.role_arn.as_str(),
                w.mechanism,
                w.namespace.as_deref(),
                w.service_account.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "arn:aws:iam::444455556666:role/account-b-role",
                Mechanism::PodIdentityChain,
                Some("PayrollNamespace"),
                Some("PayrollApplication")
            ),
            (
                "arn:aws:iam::444455556666:role/payroll-reports-role",
                Mechanism::PodIdentityChain,
                Some("PayrollNamespace"),
                Some("payroll-reports")
            ),
            (
                "arn:aws:iam::444455556666:role/payroll-irsa-role",
                Mechanism::Irsa,
                Some("PayrollNamespace"),
                Some("payroll-irsa")
            ),
            (
                "arn:aws:iam::777788889999:role/analytics-pod-role",
                Mechanism::PodIdentity,
                None,
                None
            ),
        ]
    );
    assert_eq!(
        c.workloads[0].cluster.as_deref(),
        Some("arn:aws:eks:us-east-1:111122223333:cluster/ProductionCluster")
    );
    assert_eq!(
        c.cluster_account, "111122223333",
        "account-a-role, which only chains, is no workload"
    );
    let (central, decentral) = (&c.centralized, &c.decentralized);
    assert_eq!((central.clusters, decentral.clusters), (1, 2));
    assert_eq!((central.iam_roles, decentral.iam_roles), (7, 4));
    assert_eq!(
        (central.cross_account_trusts, decentral.cross_account_trusts),
        (4, 0)
    );
    assert_eq!(
        (
            central.workloads_per_cluster,
            decentral.workloads_per_cluster
        ),
        (4, 3)
    );
    assert_eq!((central.ram_shares, decentral.ram_shares), (1, 0));
    assert_eq!((central.oidc_providers, decentral.oidc_providers), (1, 1));
    assert_eq!(central.quotas[0].name, "IAM roles per account");
    assert_eq!(central.quotas[0].headroom, 1000 - 6);
}

const ROOT: &str = r#"organization:
  management_account: "100000000000"
include: [accounts.yaml]
"#;

fn workload_account(id: &str, name: &str, roles: usize) -> String {
    let mut out = format!("  - id: \"{id}\"\n    name: {name}\n    iam:\n      roles:\n");
    for n in 0..roles {
        out.push_str(&format!(
            r#"        - name: app-{n}
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {{AWS: "arn:aws:iam::100000000001:root"}}
                Action: [sts:AssumeRole, sts:TagSession]
                Condition:
                  StringEquals:
                    aws:PrincipalTag/eks-cluster-arn: arn:aws:eks:us-east-1:100000000001:cluster/shared
                    aws:PrincipalTag/kubernetes-namespace: ns-{n}
                    aws:PrincipalTag/kubernetes-service-account: app-{n}
"#
        ));
    }
    out
}

#[test]
fn counts_follow_the_workloads_per_account() {
    let accounts = format!(
        "accounts:\n  - id: \"100000000000\"\n    name: management\n  - id: \"100000000001\"\n    name: cluster\n{}{}{}",
        workload_account("100000000002", "team-a", 3),
        workload_account("100000000003", "team-b", 1),
        workload_account("100000000004", "team-c", 2),
    );
    let model = orgtwin_model::load_from_memory(
        "org.yaml",
        &[("org.yaml", ROOT), ("accounts.yaml", &accounts)],
    )
    .unwrap_or_else(|e| panic!("{:?}", e.iter().map(|x| x.brief()).collect::<Vec<_>>()));
    let c = compare(&model);
    assert_eq!(c.workloads.len(), 6);
    assert!(
        c.workloads
            .iter()
            .all(|w| w.mechanism == Mechanism::PodIdentityChain)
    );
    assert_eq!(c.cluster_account, "100000000001");
    let (central, decentral) = (&c.centralized, &c.decentralized);
    assert_eq!(central.iam_roles, 12, "a pod role and a workload role each");
    assert_eq!(central.cross_account_trusts, 6);
    assert_eq!(central.pod_identity_associations, 6);
    assert_eq!(central.workloads_per_cluster, 6);
    assert_eq!(central.quotas[0].at, "100000000001 (cluster)");
    assert_eq!(central.quotas[0].used, 6);
    assert_eq!(decentral.clusters, 3);
    assert_eq!(decentral.iam_roles, 6);
    assert_eq!(decentral.workloads_per_cluster, 3, "team-a's cluster");
    assert_eq!(decentral.vpc_peering_routes, 3);
    assert_eq!(decentral.transit_gateway_attachments, 3);
    assert_eq!(decentral.oidc_providers, 0);
    let table = c.table();
    assert!(table.contains("workloads one cluster failure reaches"));
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["decentralized"]["clusters"], 3);
    assert_eq!(json["workloads"][0]["mechanism"], "pod-identity-chain");
}
