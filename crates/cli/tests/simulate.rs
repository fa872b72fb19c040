//! `orgtwin simulate` over the case corpus, and its handling of bad input.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn orgtwin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orgtwin"))
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn simulate_stdin(input: &str) -> Output {
    let mut child = orgtwin()
        .args(["simulate", "--cases", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn case_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["tests/corpus", "examples"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(repo_root().join(dir)).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

/// Every corpus file passes, every case states an expectation, and the corpus
/// holds at least 400 cases.
#[test]
fn corpus_passes() {
    let mut total = 0;
    let mut failures = Vec::new();
    for file in case_files() {
        let output = orgtwin()
            .args(["simulate", "--cases"])
            .arg(&file)
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        let summary = lines.last().copied().unwrap_or_default();
        for line in &lines[..lines.len().saturating_sub(1)] {
            let result: serde_json::Value = serde_json::from_str(line).unwrap();
            match result["ok"].as_bool() {
                Some(true) => {}
                Some(false) => failures.push(format!("{}: {line}", file.display())),
                None => failures.push(format!("{}: case without `expect`: {line}", file.display())),
            }
        }
        let passed: usize = summary.split(' ').next().unwrap().parse().unwrap();
        assert!(passed > 0, "{}: no cases", file.display());
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            failures.push(format!(
                "{}: exit {:?} {stderr} {summary}",
                file.display(),
                output.status.code()
            ));
        }
        total += passed;
    }
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
    assert!(
        total >= 400,
        "the corpus has {total} cases; it needs at least 400"
    );
}

const ALLOW_CASE: &str = r#"{"id": "a", "principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject", "resource": "arn:aws:s3:::b/k", "resource_account": "111122223333", "identity_policies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}], "expect": "Allow"}"#;

#[test]
fn a_failed_expectation_exits_1_and_is_reported() {
    let wrong = ALLOW_CASE.replace(r#""expect": "Allow""#, r#""expect": "ExplicitDeny""#);
    let output = simulate_stdin(&format!("{ALLOW_CASE}\n{wrong}\n"));
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");
    assert!(stdout.contains(r#""ok":false"#));
}

#[test]
fn malformed_input_exits_2_with_the_line_and_field() {
    let bad = ALLOW_CASE.replace(r#""action": "s3:GetObject", "#, "");
    let output = simulate_stdin(&format!("// a comment\n{ALLOW_CASE}\n\n{bad}\n"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("-:4:") && stderr.contains("`action`"),
        "{stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "no partial results on malformed input"
    );

    let output = simulate_stdin("{not json\n");
    assert_eq!(output.status.code(), Some(2));
    let output =
        simulate_stdin(&ALLOW_CASE.replace("arn:aws:iam::111122223333:user/alice", "alice"));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("`principal`")
    );
}

#[test]
fn explanation_names_statement_and_missing_policy_type() {
    let deny = ALLOW_CASE.replace(r#""expect": "Allow""#, r#""scps": [[{"name": "FullAWSAccess", "document": {"Version": "2012-10-17", "Statement": {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}}}], []], "expect": "ImplicitDeny""#);
    let output = simulate_stdin(&deny);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let result: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        result["explanation"]["missing_allow"][0],
        "SCP at account has no allow"
    );
    assert_eq!(
        result["explanation"]["allowed_by"][0]["policy"],
        "SCP FullAWSAccess at root"
    );
    assert_eq!(result["explanation"]["allowed_by"][0]["sid"], "All");
}

#[test]
fn validate_reports_line_and_column() {
    let dir = std::env::temp_dir().join(format!("orgtwin-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("trust.json");
    std::fs::write(
        &file,
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\"Effect\": \"Allow\",\n    \"Principal\": {\"Service\": \"pods.eks.amazonaws.com\"},\n    \"Action\": \"sts:AssumeRole\", \"Resource\": \"*\"}\n}\n",
    )
    .unwrap();
    let output = orgtwin()
        .args(["policy", "validate", "--type", "trust"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("Has prohibited field Resource."),
        "{stderr}"
    );
    assert!(stderr.contains("trust.json:5:33"), "{stderr}");

    let output = orgtwin()
        .args(["policy", "validate", "--type", "identity"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("Policy document should not specify a principal.")
    );
    let output = orgtwin()
        .args(["policy", "validate", "--type", "nonsense"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
