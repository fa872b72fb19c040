//! `orgtwin check`, `env` and `export` as a user runs them.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::Command;

fn orgtwin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orgtwin"))
}

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn check_accepts_the_example_and_reports_every_problem_of_a_broken_model() {
    let ok = orgtwin().arg("check").output().unwrap();
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("5 accounts"));
    let ok = orgtwin()
        .arg("check")
        .arg(repo("examples/org/org.yaml"))
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let broken = orgtwin()
        .arg("check")
        .arg(repo("crates/model/tests/fixtures/broken/org.yaml"))
        .output()
        .unwrap();
    assert_eq!(broken.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&broken.stderr);
    let expected =
        std::fs::read_to_string(repo("crates/model/tests/fixtures/broken/expected.txt")).unwrap();
    let count = expected.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(stderr.contains(&format!("{count} problem(s)")), "{stderr}");
    assert!(stderr.contains("org.yaml:4:23"), "{stderr}");
}

#[test]
fn env_and_export_need_a_state() {
    let dir = tempfile::tempdir().unwrap();
    let missing = orgtwin()
        .args(["env", "--account", "111122223333", "--state"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no twin state"));
    let out = dir.path().join("out");
    let export = orgtwin()
        .args(["export", "--state"])
        .arg(dir.path())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(export.status.code(), Some(2));
}

#[test]
fn compare_prints_both_layouts_as_a_table_and_as_json() {
    let table = orgtwin().arg("compare").output().unwrap();
    assert!(
        table.status.success(),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.contains("centralized") && text.contains("decentralized"),
        "{text}"
    );
    assert!(
        text.contains("arn:aws:iam::444455556666:role/account-b-role"),
        "{text}"
    );
    assert!(
        text.contains("IAM roles per account (default 1000)"),
        "{text}"
    );

    let json = orgtwin()
        .args(["compare", "--format", "json"])
        .arg(repo("examples/org/org.yaml"))
        .output()
        .unwrap();
    assert!(json.status.success());
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["centralized"]["clusters"], 1);
    assert_eq!(value["decentralized"]["clusters"], 2);
    assert_eq!(value["workloads"].as_array().unwrap().len(), 4);

    let bad = orgtwin()
        .args(["compare", "--format", "yaml"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let broken = orgtwin()
        .args(["compare", "/nonexistent/org.yaml"])
        .output()
        .unwrap();
    assert_eq!(broken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("org.yaml"));
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    let mut child = orgtwin()
        .arg("check")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The pipe's only reader goes away before the first line is written.
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(141));
    assert_eq!(String::from_utf8_lossy(&done.stderr), "");
}
