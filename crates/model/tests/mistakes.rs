//! The table of single mistakes in `cases/mistakes.txt`: each case's
//! `account.yaml` is loaded into a small model and the problems reported
//! must be exactly the expected ones, at the expected lines and columns.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use orgtwin_model::load_from_memory;

const ROOT: &str = r#"organization:
  id: o-a1b2c3d4e5
  root_id: r-a1b2
  management_account: "999988887777"
  organizational_units:
    - name: Workloads
include: [account.yaml]
accounts:
  - id: "999988887777"
    name: management
"#;

const POLICY: &str = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}"#;
const TRUST: &str = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}}"#;
const PRINCIPAL: &str = r#"{"Version": "2012-10-17", "Statement": {"Principal": "*", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#;

struct Case {
    name: String,
    account: String,
    expected: Vec<String>,
}

fn cases() -> Vec<Case> {
    let text = include_str!("cases/mistakes.txt");
    let mut cases = Vec::new();
    for block in text.split("\n## ").skip(1) {
        let (name, rest) = block.split_once('\n').unwrap();
        let (account, expected) = rest.split_once("\n--\n").unwrap();
        cases.push(Case {
            name: name.to_string(),
            account: format!("{account}\n"),
            expected: expected
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect(),
        });
    }
    cases
}

#[test]
fn every_mistake_is_reported_where_it_is() {
    let cases = cases();
    assert!(cases.len() >= 25, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let files = [
            ("org.yaml", ROOT),
            ("account.yaml", case.account.as_str()),
            ("policy.json", POLICY),
            ("trust.json", TRUST),
            ("principal.json", PRINCIPAL),
        ];
        let reported: Vec<String> = match load_from_memory("org.yaml", &files) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(|e| e.brief()).collect(),
        };
        if reported != case.expected {
            failures.push(format!(
                "## {}\nexpected:\n{}\nreported:\n{}\n",
                case.name,
                case.expected.join("\n"),
                reported.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
