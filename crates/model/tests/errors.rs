//! A model with mistakes in several files reports every one, at its file,
//! line and column, rendered with the file's text; and the problems of a
//! file that cannot be read at all.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use miette::{GraphicalReportHandler, GraphicalTheme};
use orgtwin_model::{LoadErrors, Problem, load, load_from_memory};

fn broken_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken")
}

fn broken() -> LoadErrors {
    match load(broken_dir().join("org.yaml")) {
        Ok(_) => panic!("the broken model loaded"),
        Err(errors) => errors,
    }
}

fn render(errors: &LoadErrors) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(200)
        .render_report(&mut out, errors)
        .unwrap();
    out
}

#[test]
fn every_mistake_in_every_file_is_reported_at_its_place() {
    let errors = broken();
    let prefix = format!("{}/", broken_dir().display());
    let reported: Vec<String> = errors
        .iter()
        .map(|e| e.brief().replace(&prefix, ""))
        .collect();
    let expected: Vec<&str> = include_str!("fixtures/broken/expected.txt")
        .lines()
        .collect();
    assert_eq!(reported, expected);
}

#[test]
fn structured_locations_name_file_line_column_and_field() {
    let errors = broken();
    let cycle = errors
        .iter()
        .find(|e| matches!(e.problem, Problem::OuCycle { .. }))
        .unwrap();
    assert_eq!(cycle.file, broken_dir().join("org.yaml"));
    assert_eq!((cycle.line, cycle.column), (8, 15));
    assert_eq!(cycle.field, "organization.organizational_units[0].parent");
    let not_json = errors
        .iter()
        .find(|e| e.file.ends_with("policies/broken.json"))
        .unwrap();
    assert_eq!((not_json.line, not_json.column), (4, 55));
    assert_eq!(not_json.problem.code(), "MalformedPolicyDocument");
    assert_eq!(not_json.field, "scps[0].document");
}

#[test]
fn the_rendered_report_shows_each_problem_in_its_file() {
    let errors = broken();
    let text = render(&errors);
    assert!(text.contains(&format!("the model has {} problems", errors.len())));
    for (file, line, column) in [
        ("org.yaml", 8, 15),
        ("accounts/a.yaml", 13, 33),
        ("accounts/b.yaml", 2, 9),
        ("teams/t.yaml", 4, 1),
        ("policies/broken.json", 4, 55),
    ] {
        let place = format!("{}:{line}:{column}]", broken_dir().join(file).display());
        assert!(text.contains(&place), "{place} not in\n{text}");
    }
    // The source line and the help are shown.
    assert!(text.contains("max_session_duration: 50000"));
    assert!(text.contains("use a value from 3600 to 43200"));
    assert!(text.contains("orgtwin::model::unknown-field"));
    assert!(text.contains("the fields here are: id, name, email, parent, iam"));
    // The secret of a duplicate key is never shown.
    assert!(!text.contains("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE2"));
}

#[test]
fn a_missing_root_file_is_one_problem() {
    let errors = load(broken_dir().join("no-such-file.yaml")).unwrap_err();
    assert_eq!(errors.len(), 1);
    let error = &errors.errors[0];
    assert!(matches!(error.problem, Problem::Unreadable { .. }));
    assert_eq!(error.file, broken_dir().join("no-such-file.yaml"));
    assert!(render(&errors).contains("cannot read"));
}

#[test]
fn an_empty_root_file_lacks_the_organization() {
    let errors = load_from_memory("org.yaml", &[("org.yaml", "# nothing yet\n")]).unwrap_err();
    assert_eq!(
        errors.brief(),
        "org.yaml:1:1: missing field `organization`\n"
    );
}

#[test]
fn a_root_file_that_is_not_a_mapping() {
    let errors = load_from_memory("org.yaml", &[("org.yaml", "- a\n- b\n")]).unwrap_err();
    assert_eq!(
        errors.brief(),
        "org.yaml:1:1: expected a mapping, found a list\n"
    );
}

#[test]
fn policy_files_are_found_beside_the_file_that_names_them() {
    let root = "organization: {management_account: \"999988887777\"}\n\
                include: [team/accounts.yaml]\n";
    let accounts = "accounts:\n  - id: \"999988887777\"\n    name: m\n    iam:\n      roles:\n        - name: r\n          trust_policy: {file: ../policies/trust.json}\n";
    let trust = "{\"Version\": \"2012-10-17\",\n \"Statement\": {\"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"*\"}, \"Action\": \"s3:GetObject\"}}";
    let errors = load_from_memory(
        "org/main.yaml",
        &[
            ("org/main.yaml", root),
            ("org/team/accounts.yaml", accounts),
            ("org/policies/trust.json", trust),
        ],
    )
    .unwrap_err();
    assert_eq!(
        errors.brief(),
        "org/policies/trust.json:2:72: trust policy, at `Statement.Action`: AssumeRole policy may only specify STS AssumeRole actions. (in `accounts[0].iam.roles[0].trust_policy`)\n"
    );
}

#[test]
fn include_cycles_are_refused_and_nested_includes_work() {
    let root = "organization: {management_account: \"999988887777\"}\ninclude: [a.yaml]\n";
    let a = "include: [b/*.yaml]\n";
    let b = "include: [../a.yaml]\naccounts: [{id: \"999988887777\", name: m}]\n";
    let errors = load_from_memory(
        "org.yaml",
        &[("org.yaml", root), ("a.yaml", a), ("b/b.yaml", b)],
    )
    .unwrap_err();
    assert_eq!(
        errors.brief(),
        "b/b.yaml:1:11: `a.yaml` is included more than once (in `include[0]`)\n"
    );
    let b = "accounts: [{id: \"999988887777\", name: m}]\n";
    let model = load_from_memory(
        "org.yaml",
        &[("org.yaml", root), ("a.yaml", a), ("b/b.yaml", b)],
    )
    .unwrap();
    assert_eq!(model.accounts.len(), 1);
}

#[test]
fn ou_parents_may_come_in_any_order_and_by_id() {
    let root = r#"organization:
  root_id: r-abcd
  management_account: "999988887777"
  organizational_units:
    - {name: Team, parent: ou-abcd-prodprod}
    - {name: Prod, id: ou-abcd-prodprod, parent: Workloads}
    - {name: Workloads}
accounts:
  - {id: "999988887777", name: m}
  - {id: "111122223333", name: t, parent: Team}
"#;
    let model = load_from_memory("org.yaml", &[("org.yaml", root)]).unwrap();
    let names: Vec<String> = model
        .scp_levels("111122223333")
        .iter()
        .map(|l| l.name.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "root",
            "OU Workloads",
            "OU Prod",
            "OU Team",
            "account 111122223333"
        ]
    );
}

#[test]
fn a_long_ou_cycle_is_reported_once() {
    let root = r#"organization:
  management_account: "999988887777"
  organizational_units:
    - {name: A, parent: C}
    - {name: B, parent: A}
    - {name: C, parent: B}
    - {name: D, parent: C}
accounts:
  - {id: "999988887777", name: m}
  - {id: "111122223333", name: t, parent: D}
"#;
    let errors = load_from_memory("org.yaml", &[("org.yaml", root)]).unwrap_err();
    assert_eq!(
        errors.brief(),
        "org.yaml:4:25: organizational units form a cycle: `A` → `C` → `B` → `A` (in `organization.organizational_units[0].parent`)\n"
    );
}

#[test]
fn too_many_tags() {
    let tags: String = (0..51).map(|i| format!("      k{i}: v\n")).collect();
    let root = format!(
        "organization: {{management_account: \"999988887777\"}}\naccounts:\n  - id: \"999988887777\"\n    name: m\n    iam:\n      users:\n        - name: u\n          tags:\n{}",
        tags.replace("      k", "            k")
    );
    let errors = load_from_memory("org.yaml", &[("org.yaml", &root)]).unwrap_err();
    assert_eq!(
        errors.brief(),
        "org.yaml:9:13: 51 tags, more than the 50 IAM allows (in `accounts[0].iam.users[0].tags`)\n"
    );
}
