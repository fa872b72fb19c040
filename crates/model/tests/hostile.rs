//! Hostile input never panics the loader, nor the rendering of its
//! problems: arbitrary text as a model file or a policy file, mutated copies
//! of the example, bytes that are not UTF-8, deep nesting and alias bombs.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use miette::{GraphicalReportHandler, GraphicalTheme};
use orgtwin_model::{LoadErrors, embedded_sources, load, load_from_memory};
use proptest::prelude::*;

/// Loads the files and renders every problem, as `orgtwin check` would.
fn exercise(files: &[(&str, &str)]) {
    if let Err(errors) = load_from_memory("org.yaml", files) {
        render(&errors);
    }
}

fn render(errors: &LoadErrors) {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, errors)
        .unwrap();
    assert!(!errors.is_empty());
}

/// The example with `file` replaced by `text`.
fn with(file: &str, text: &str) -> Vec<(&'static str, String)> {
    embedded_sources()
        .iter()
        .map(|(path, original)| {
            let body = if *path == file {
                text.to_string()
            } else {
                original.to_string()
            };
            (*path, body)
        })
        .collect()
}

fn run(files: &[(&'static str, String)]) {
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    exercise(&borrowed);
}

/// An edit of a text: delete, insert or replace at a relative position.
fn mutate(text: &str, edits: &[(u8, f64, String)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (kind, at, insert) in edits {
        let len = chars.len();
        let i = ((len as f64) * at) as usize % (len + 1);
        match kind % 3 {
            0 if i < len => {
                let end = (i + insert.chars().count().max(1)).min(len);
                chars.drain(i..end);
            }
            1 => {
                for (k, c) in insert.chars().enumerate() {
                    chars.insert(i + k, c);
                }
            }
            _ if i < len => {
                if let Some(c) = insert.chars().next() {
                    chars[i] = c;
                }
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

const YAML_BITS: &str = "[:\\-{}\"',#&*!|> \n\t0-9a-zA-Zé~@%]{0,8}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_as_the_root_file(text in any::<String>()) {
        exercise(&[("org.yaml", &text)]);
    }

    #[test]
    fn yaml_like_text_as_the_root_file(text in "[a-z_:\\- \n\"'{}\\[\\],&*!|>#0-9]{0,300}") {
        exercise(&[("org.yaml", &text)]);
    }

    #[test]
    fn mutated_example_files(
        file in 0usize..13,
        edits in prop::collection::vec((any::<u8>(), 0.0f64..1.0, YAML_BITS), 1..6),
    ) {
        let (path, text) = embedded_sources()[file % embedded_sources().len()];
        run(&with(path, &mutate(text, &edits)));
    }

    #[test]
    fn arbitrary_text_as_a_policy_file(text in any::<String>()) {
        run(&with("policies/platform-admin-trust.json", &text));
    }
}

#[test]
fn bytes_that_are_not_utf8_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("org.yaml");
    std::fs::write(&root, [0x6f, 0x72, 0x67, 0xff, 0xfe, 0x0a, 0x80]).unwrap();
    let errors = load(&root).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors.brief().contains("not UTF-8"));
    render(&errors);
}

#[test]
fn deep_nesting_and_alias_bombs_are_refused() {
    let deep = format!(
        "organization: {{management_account: \"999988887777\"}}\nscps: {}\n",
        "[".repeat(5000)
    );
    exercise(&[("org.yaml", &deep)]);
    let block = format!("accounts:\n{}x\n", "- ".repeat(100_000));
    exercise(&[("org.yaml", &block)]);
    let mut bomb = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..20 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let errors = load_from_memory("org.yaml", &[("org.yaml", &bomb)]).unwrap_err();
    assert!(
        errors.brief().contains("more than 200000 YAML nodes"),
        "{}",
        errors.brief()
    );
    let deep_policy = format!(
        "organization: {{management_account: \"999988887777\"}}\nscps:\n  - name: s\n    document: '{}'\n",
        "[".repeat(10_000)
    );
    exercise(&[("org.yaml", &deep_policy)]);
}

#[test]
fn huge_numbers_and_odd_scalars() {
    let text = "organization: {management_account: 99999999999999999999999999999}\naccounts:\n  - {id: -1, name: .inf}\n  - {id: 0x1F, name: ~}\n";
    exercise(&[("org.yaml", text)]);
    let role = "organization: {management_account: \"999988887777\"}\naccounts:\n  - id: \"999988887777\"\n    name: m\n    iam:\n      roles:\n        - name: r\n          max_session_duration: 99999999999999999999999\n          trust_policy: {Statement: {Effect: Allow, Principal: {AWS: 1e999}, Action: sts:AssumeRole}}\n";
    exercise(&[("org.yaml", role)]);
}

#[test]
fn large_models_are_checked_without_quadratic_work() {
    // 5,000 OUs in a chain that closes into a cycle, 2,000 groups and a user
    // in each: every walk and lookup must stay near linear.
    let mut root = String::from(
        "organization:\n  management_account: \"999988887777\"\n  organizational_units:\n",
    );
    for i in 0..5_000 {
        root.push_str(&format!(
            "    - {{name: ou{i}, parent: ou{}}}\n",
            (i + 1) % 5_000
        ));
    }
    root.push_str("accounts:\n  - id: \"999988887777\"\n    name: m\n    iam:\n      groups:\n");
    for i in 0..2_000 {
        root.push_str(&format!("        - {{name: g{i}}}\n"));
    }
    root.push_str("      users:\n");
    for i in 0..2_000 {
        root.push_str(&format!(
            "        - {{name: u{i}, groups: [g{i}, missing]}}\n"
        ));
    }
    let errors = load_from_memory("org.yaml", &[("org.yaml", &root)]).unwrap_err();
    let cycles = errors
        .iter()
        .filter(|e| matches!(e.problem, orgtwin_model::Problem::OuCycle { .. }))
        .count();
    assert_eq!(cycles, 1);
    assert_eq!(errors.len(), 2_001);
}
