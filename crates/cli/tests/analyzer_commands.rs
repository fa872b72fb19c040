//! `orgtwin who-can`, `paths`, `can` and `diff` as a user and a CI job run
//! them, on the example organization and on a copy changed the way a pull
//! request would change it.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROSTER: &str = "arn:aws:s3:::payroll-data-444455556666/employees/roster.csv";
const ACCOUNT_B: &str = "arn:aws:iam::444455556666:role/account-b-role";

fn orgtwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orgtwin"))
        .args(args)
        .current_dir(repo(""))
        .output()
        .unwrap()
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A copy of the example whose account-b-role trust no longer pins the
/// namespace: the mistake the guide warns about.
fn loosened_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo("examples/org"), dir.path());
    let trust = dir
        .path()
        .join("policies/payroll-prod/account-b-role-trust.json");
    let text = std::fs::read_to_string(&trust).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let conditions = json["Statement"][0]["Condition"]["StringEquals"]
        .as_object_mut()
        .unwrap();
    assert!(
        conditions
            .remove("aws:PrincipalTag/kubernetes-namespace")
            .is_some()
    );
    std::fs::write(&trust, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn who_can_lists_each_way_in_with_its_hops_in_every_format() {
    let table = orgtwin(&["who-can", "s3:GetObject", ROSTER]);
    assert_eq!(table.status.code(), Some(0));
    let text = stdout(&table);
    assert!(text.contains("2 way(s) in"), "{text}");
    assert!(
        text.contains("ProductionCluster/PayrollNamespace/PayrollApplication"),
        "{text}"
    );
    assert!(
        text.contains(
            "allowed by trust policy account-b-role trust policy (PayrollPodsOfProductionCluster)"
        ),
        "{text}"
    );
    assert!(!text.contains("OtherNamespace"), "{text}");

    let json: serde_json::Value = serde_json::from_slice(
        &orgtwin(&["who-can", "s3:GetObject", ROSTER, "--format", "json"]).stdout,
    )
    .unwrap();
    assert_eq!(json["accesses"].as_array().unwrap().len(), 2);
    assert_eq!(
        json["accesses"][0]["path"][0]["action"],
        "eks-auth:AssumeRoleForPodIdentity"
    );
    let sarif: serde_json::Value = serde_json::from_slice(
        &orgtwin(&["who-can", "s3:GetObject", ROSTER, "--format", "sarif"]).stdout,
    )
    .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 2);
    let dot = stdout(&orgtwin(&[
        "who-can",
        "sts:AssumeRole",
        ACCOUNT_B,
        "--format",
        "dot",
    ]));
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("\"arn:aws:iam::111122223333:role/account-a-role\" -> \"arn:aws:iam::444455556666:role/account-b-role\""), "{dot}");
    let mermaid = stdout(&orgtwin(&[
        "who-can",
        "sts:AssumeRole",
        ACCOUNT_B,
        "--format",
        "mermaid",
    ]));
    assert!(mermaid.starts_with("flowchart LR"), "{mermaid}");
    let bad = orgtwin(&["who-can", "s3:GetObject", ROSTER, "--format", "xml"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn paths_and_can_explain_one_workload() {
    let paths = stdout(&orgtwin(&[
        "paths",
        "--from",
        "ProductionCluster/PayrollNamespace/payroll-reports",
    ]));
    assert!(
        paths.contains("arn:aws:iam::444455556666:role/payroll-reports-role"),
        "{paths}"
    );
    assert!(
        paths.contains(
            "s3:GetObject arn:aws:s3:::payroll-data-444455556666/reports/2026-11-summary.csv"
        ),
        "{paths}"
    );
    assert!(!paths.contains("employees/roster.csv"), "{paths}");
    let to = stdout(&orgtwin(&[
        "paths",
        "--from",
        "ProductionCluster/PayrollNamespace/PayrollApplication",
        "--to",
        ACCOUNT_B,
    ]));
    assert!(to.contains("1 way(s) in"), "{to}");
    let unknown = orgtwin(&["paths", "--from", "NoCluster/x/y"]);
    assert_eq!(unknown.status.code(), Some(2));

    let allowed = orgtwin(&[
        "can",
        "ProductionCluster/PayrollNamespace/PayrollApplication",
        "s3:GetObject",
        ROSTER,
    ]);
    assert_eq!(allowed.status.code(), Some(0), "{}", stdout(&allowed));
    let denied = orgtwin(&[
        "can",
        "StagingCluster/PayrollNamespace/PayrollApplication",
        "sts:AssumeRole",
        ACCOUNT_B,
    ]);
    assert_eq!(denied.status.code(), Some(1));
    let text = stdout(&denied);
    assert!(text.starts_with("DENIED"), "{text}");
    assert!(text.contains("account-b-role trust policy"), "{text}");
    let role = orgtwin(&[
        "can",
        "arn:aws:iam::444455556666:role/account-b-role",
        "s3:GetObject",
        ROSTER,
        "--format",
        "json",
    ]);
    assert_eq!(role.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&role.stdout).unwrap();
    assert_eq!(json["decision"]["decision"], "Allow");
}

#[test]
fn diff_fails_a_change_that_opens_access_and_names_the_new_path() {
    let copy = loosened_copy();
    let new = copy.path().join("org.yaml");
    let old = repo("examples/org/org.yaml");
    let gate = orgtwin(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(gate.status.code(), Some(1), "{}", stdout(&gate));
    let text = stdout(&gate);
    assert!(
        text.contains("+ ProductionCluster/OtherNamespace/PayrollApplication -> sts:AssumeRole -> arn:aws:iam::444455556666:role/account-b-role"),
        "{text}"
    );
    assert!(
        text.contains("+ ProductionCluster/OtherNamespace/PayrollApplication -> s3:GetObject -> arn:aws:s3:::payroll-data-444455556666/employees/roster.csv"),
        "{text}"
    );
    // StagingCluster stays out: its cluster ARN tag is still checked.
    assert!(!text.contains("+ StagingCluster"), "{text}");
    let allowed = orgtwin(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--allow-new",
    ]);
    assert_eq!(allowed.status.code(), Some(0));
    // The other way round, the change removes that access and adds none.
    let back = orgtwin(&[
        "diff",
        new.to_str().unwrap(),
        old.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(back.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&back.stdout).unwrap();
    assert!(json["added"].as_array().unwrap().is_empty());
    assert!(!json["removed"].as_array().unwrap().is_empty());
}

#[test]
fn diff_reads_a_model_at_a_git_revision() {
    let same = orgtwin(&[
        "diff",
        "HEAD:examples/org/org.yaml",
        "examples/org/org.yaml",
    ]);
    // The working tree may differ from HEAD while developing; a clean
    // checkout (CI) has no change at all. Either way git was read.
    assert!(
        matches!(same.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );
    assert!(stdout(&same).contains("access(es) added"));
    let missing = orgtwin(&[
        "diff",
        "no-such-rev:examples/org/org.yaml",
        "examples/org/org.yaml",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("git"));
}

#[test]
fn a_twin_s_state_is_a_model_too() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // `orgtwin export` needs a state: make one by starting from the example.
    let store_model = orgtwin(&[
        "export",
        "--state",
        state.to_str().unwrap(),
        "-o",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(store_model.status.code(), Some(2), "no state yet");
    let twin = orgtwin_twin::start::open(
        &state,
        &orgtwin_twin::start::ModelSource::Embedded,
        false,
        false,
    )
    .unwrap();
    drop(twin);
    let found = orgtwin(&[
        "who-can",
        "sts:AssumeRole",
        ACCOUNT_B,
        "--model",
        state.to_str().unwrap(),
    ]);
    assert_eq!(
        found.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
    assert!(stdout(&found).contains("1 way(s) in"));
}
