//! `orgtwin import` as a user runs it: a model written from exports, a
//! directory that is not empty refused, nothing written when the exports do
//! not make a model.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;

fn orgtwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orgtwin"))
        .args(args)
        .output()
        .unwrap()
}

fn write(path: &Path, value: &serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#;

fn exports(dir: &Path, trust: &str) -> (String, String) {
    let iam = dir.join("iam.json");
    write(
        &iam,
        &json!({"RoleDetailList": [{
            "RoleName": "pod-role", "Path": "/", "Arn": "arn:aws:iam::111122223333:role/pod-role",
            "AssumeRolePolicyDocument": trust.replace('"', "%22"),
        }], "UserDetailList": [], "GroupDetailList": [], "Policies": []}),
    );
    let cluster = dir.join("cluster.json");
    write(
        &cluster,
        &json!({"cluster": {"name": "apps", "arn": "arn:aws:eks:eu-west-1:111122223333:cluster/apps", "version": "1.30",
            "identity": {"oidc": {"issuer": "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"}}}}),
    );
    (iam.display().to_string(), cluster.display().to_string())
}

#[test]
fn a_model_is_written_only_when_it_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (iam, cluster) = exports(dir.path(), TRUST);
    let out = dir.path().join("model");
    let done = orgtwin(&[
        "import",
        "--out",
        out.to_str().unwrap(),
        "--iam",
        &iam,
        "--eks",
        &cluster,
        "--management-account",
        "999988887777",
    ]);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        String::from_utf8_lossy(&done.stdout).contains("imported 2 accounts, 1 roles, 1 clusters")
    );
    assert!(out.join("IMPORT-REPORT.md").is_file());
    let check = orgtwin(&["check", out.join("org.yaml").to_str().unwrap()]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // Not empty: refused, untouched.
    let again = orgtwin(&[
        "import",
        "--out",
        out.to_str().unwrap(),
        "--iam",
        &iam,
        "--management-account",
        "999988887777",
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // A trust policy IAM would refuse: nothing is written.
    let bad_dir = tempfile::tempdir().unwrap();
    let (bad_iam, _) = exports(
        bad_dir.path(),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#,
    );
    let empty = bad_dir.path().join("model");
    let refused = orgtwin(&[
        "import",
        "--out",
        empty.to_str().unwrap(),
        "--iam",
        &bad_iam,
        "--management-account",
        "999988887777",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("does not load"));
    assert!(!empty.exists());

    let no_org = orgtwin(&[
        "import",
        "--out",
        dir.path().join("x").to_str().unwrap(),
        "--iam",
        &iam,
    ]);
    assert_eq!(no_org.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_org.stderr).contains("--management-account"));
}
