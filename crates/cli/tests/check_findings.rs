//! `orgtwin check`'s findings as a user (and a CI job) runs them: the
//! formats, and `--fail-on` deciding the exit code.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::{Command, Output};

fn orgtwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orgtwin"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const ORG: &str = r#"organization:
  management_account: "100000000000"
include: [accounts.yaml]
scps:
  - name: FullAWSAccess
    document: {file: full-aws-access.json}
    targets: [root, "100000000000", "100000000001"]
"#;

const ACCOUNTS: &str = r#"accounts:
  - id: "100000000000"
    name: management
  - id: "100000000001"
    name: workload
    iam:
      roles:
        - name: open-to-all
          trust_policy: {file: open-trust.json}
"#;

const OPEN_TRUST: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Anyone",
      "Effect": "Allow",
      "Principal": "*",
      "Action": "sts:AssumeRole"
    }
  ]
}
"#;

const FULL_ACCESS: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;

/// A model whose one role trusts `*`: a critical finding.
fn open_model(dir: &Path) -> String {
    for (name, text) in [
        ("org.yaml", ORG),
        ("accounts.yaml", ACCOUNTS),
        ("open-trust.json", OPEN_TRUST),
        ("full-aws-access.json", FULL_ACCESS),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir.join("org.yaml").display().to_string()
}

#[test]
fn the_example_reports_low_findings_and_passes_unless_asked_to_fail_on_them() {
    let table = orgtwin(&["check"]);
    assert_eq!(table.status.code(), Some(0));
    let text = stdout(&table);
    assert!(text.contains("5 accounts"), "{text}");
    assert!(
        text.contains("8 finding(s): 0 critical, 0 high, 0 medium, 8 low"),
        "{text}"
    );
    assert!(text.contains("tag-admin") && text.contains("why: ") && text.contains("fix: "));

    for threshold in ["medium", "high", "critical"] {
        let passes = orgtwin(&["check", "--fail-on", threshold]);
        assert_eq!(passes.status.code(), Some(0), "--fail-on {threshold}");
    }
    let fails = orgtwin(&["check", "--fail-on", "low"]);
    assert_eq!(fails.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&fails.stderr).contains("8 finding(s) at or above low"));
}

#[test]
fn json_and_sarif_point_at_the_statement() {
    let dir = tempfile::tempdir().unwrap();
    let root = open_model(dir.path());
    let trust_file = dir.path().join("open-trust.json").display().to_string();

    let json = orgtwin(&["check", &root, "--format", "json"]);
    assert_eq!(json.status.code(), Some(0), "findings alone do not fail");
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["id"], "trust-without-condition");
    assert_eq!(finding["severity"], "critical");
    assert_eq!(
        finding["subject"],
        "arn:aws:iam::100000000001:role/open-to-all"
    );
    assert_eq!(finding["place"]["file"], trust_file.as_str());
    assert_eq!(finding["place"]["line"], 4);
    assert_eq!(report["counts"]["critical"], 1);

    let sarif = orgtwin(&["check", &root, "--format", "sarif"]);
    assert_eq!(sarif.status.code(), Some(0));
    let log: serde_json::Value = serde_json::from_str(&stdout(&sarif)).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "orgtwin");
    assert!(
        run["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "trust-without-condition" && r["help"]["text"].is_string())
    );
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "trust-without-condition");
    assert_eq!(result["level"], "error");
    let location = &result["locations"][0]["physicalLocation"];
    let uri = location["artifactLocation"]["uri"].as_str().unwrap();
    assert!(uri.ends_with("open-trust.json"), "{uri}");
    assert_eq!(location["region"]["startLine"], 4);
    assert_eq!(location["region"]["startColumn"], 5);
}

#[test]
fn fail_on_decides_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let root = open_model(dir.path());
    let critical = orgtwin(&["check", &root, "--fail-on", "critical"]);
    assert_eq!(critical.status.code(), Some(1));
    let json = orgtwin(&["check", &root, "--format", "json", "--fail-on", "high"]);
    assert_eq!(json.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        1,
        "the report is still printed"
    );

    let bad_format = orgtwin(&["check", &root, "--format", "xml"]);
    assert_eq!(bad_format.status.code(), Some(2));
    let bad_severity = orgtwin(&["check", &root, "--fail-on", "severe"]);
    assert_eq!(bad_severity.status.code(), Some(2));

    // A model that does not load is still a failure, whatever the flags.
    std::fs::write(dir.path().join("open-trust.json"), "{").unwrap();
    let broken = orgtwin(&["check", &root, "--format", "json"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("problem(s)"));
}
