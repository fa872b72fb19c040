//! Reachability and access on the example organization: the guide's paths
//! are found hop by hop, the traps are not, and every hop names the
//! statements that allowed it.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use orgtwin_analyze::access::{accesses_of, grants};
use orgtwin_analyze::{Start, analyze, who_can};
use orgtwin_policy::Timestamp;

const NOW: i64 = 1_796_317_704;
const REPORT: &str = "arn:aws:s3:::payroll-data-444455556666/reports/2026-11-summary.csv";
const ROSTER: &str = "arn:aws:s3:::payroll-data-444455556666/employees/roster.csv";

fn labels(accesses: &[orgtwin_analyze::Access]) -> Vec<String> {
    let mut out: Vec<String> = accesses.iter().map(|a| a.start.label()).collect();
    out.sort();
    out
}

#[test]
fn who_can_read_the_payroll_report() {
    let model = orgtwin_model::embedded();
    let analysis = analyze(&model, Timestamp::from_unix_seconds(NOW));
    let found = who_can(&model, &analysis, "s3:GetObject", REPORT);
    assert_eq!(
        labels(&found),
        [
            "AnalyticsCluster/analytics/analytics-jobs",
            "ProductionCluster/PayrollNamespace/PayrollApplication",
            "ProductionCluster/PayrollNamespace/payroll-irsa",
            "ProductionCluster/PayrollNamespace/payroll-reports",
        ]
    );
    let chain = found
        .iter()
        .find(|a| a.start.label().ends_with("/PayrollApplication"))
        .unwrap();
    let actions: Vec<&str> = chain.path.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "eks-auth:AssumeRoleForPodIdentity",
            "sts:AssumeRole",
            "s3:GetObject"
        ]
    );
    assert_eq!(
        chain.path[0].target,
        "arn:aws:iam::111122223333:role/account-a-role"
    );
    assert_eq!(
        chain.path[1].target,
        "arn:aws:iam::444455556666:role/account-b-role"
    );
    assert!(
        chain.path[1]
            .allowed_by
            .iter()
            .any(|s| s.contains("account-b-role trust policy")),
        "{:?}",
        chain.path[1].allowed_by
    );
    // The roster: the reports role and the analytics pods may not.
    let roster = who_can(&model, &analysis, "s3:GetObject", ROSTER);
    assert_eq!(
        labels(&roster),
        [
            "ProductionCluster/PayrollNamespace/PayrollApplication",
            "ProductionCluster/PayrollNamespace/payroll-irsa",
        ]
    );
}

#[test]
fn the_traps_get_account_a_role_and_nothing_more() {
    let model = orgtwin_model::embedded();
    let analysis = analyze(&model, Timestamp::from_unix_seconds(NOW));
    let found = who_can(
        &model,
        &analysis,
        "sts:AssumeRole",
        "arn:aws:iam::444455556666:role/account-b-role",
    );
    assert_eq!(
        labels(&found),
        ["ProductionCluster/PayrollNamespace/PayrollApplication"]
    );
    let a_role = who_can(
        &model,
        &analysis,
        "sts:AssumeRole",
        "arn:aws:iam::111122223333:role/account-a-role",
    );
    assert_eq!(
        labels(&a_role),
        [
            "ProductionCluster/OtherNamespace/PayrollApplication",
            "ProductionCluster/PayrollNamespace/PayrollApplication",
            "StagingCluster/PayrollNamespace/PayrollApplication",
        ]
    );
    let staging = analysis
        .starts
        .iter()
        .position(|s| s.label() == "StagingCluster/PayrollNamespace/PayrollApplication")
        .unwrap();
    let reached: Vec<String> = accesses_of(&model, &analysis, staging)
        .iter()
        .map(|a| a.path.last().unwrap().target.clone())
        .collect();
    assert_eq!(reached, ["arn:aws:iam::111122223333:role/account-a-role"]);
}

#[test]
fn users_and_the_grant_set() {
    let model = orgtwin_model::embedded();
    let analysis = analyze(&model, Timestamp::from_unix_seconds(NOW));
    assert!(analysis.starts.contains(&Start::User {
        arn: "arn:aws:iam::111122223333:user/ci-deployer".into()
    }));
    let all = grants(&model, &analysis);
    let of = |start: &str, action: &str, resource: &str| {
        all.iter()
            .any(|g| g.start == start && g.action == action && g.resource == resource)
    };
    // With the external id its trust asks for, which any caller may pass.
    assert!(of(
        "arn:aws:iam::111122223333:user/ci-deployer",
        "sts:AssumeRole",
        "arn:aws:iam::444455556666:role/deploy-role"
    ));
    // Its boundary keeps it off the payroll data.
    assert!(!of(
        "arn:aws:iam::111122223333:user/ci-deployer",
        "s3:GetObject",
        REPORT
    ));
    assert!(of(
        "ProductionCluster/PayrollNamespace/payroll-reports",
        "s3:GetObject",
        REPORT
    ));
    assert!(!of(
        "ProductionCluster/PayrollNamespace/payroll-reports",
        "s3:GetObject",
        ROSTER
    ));
    assert!(analysis.refusals.is_empty(), "{:?}", analysis.refusals);
}
