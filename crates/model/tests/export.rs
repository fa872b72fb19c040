//! Export writes a model back in the model format: loading the export gives
//! the same checked model, and exporting twice gives the same bytes.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use orgtwin_model::{embedded, export, export_files, load, load_from_memory};

#[test]
fn loading_the_export_of_the_example_gives_the_example() {
    let model = embedded();
    let dir = tempfile::tempdir().unwrap();
    export(&model, dir.path()).unwrap();
    let reloaded = match load(dir.path().join("org.yaml")) {
        Ok(model) => model,
        Err(errors) => panic!("{}", errors.brief()),
    };
    assert_eq!(reloaded, model);
    // Exporting the reloaded model writes the very same files.
    assert_eq!(export_files(&reloaded), export_files(&model));
}

#[test]
fn the_export_is_deterministic_and_lays_out_one_file_per_account_and_policy() {
    let model = embedded();
    let files = export_files(&model);
    assert_eq!(files, export_files(&model));
    let paths: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    assert_eq!(paths[0], "org.yaml");
    for expected in [
        "accounts/444455556666.yaml",
        "accounts/444455556666/roles/account-b-role/trust.json",
        "accounts/444455556666/roles/account-b-role/inline/ReadPayrollData.json",
        "accounts/444455556666/policies/DeployBoundary.json",
        "policies/scps/ProtectEksSessionTags.json",
        "policies/rcps/WorkloadsDataPerimeter.json",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} not in {paths:?}"
        );
    }
    let root = &files[0].1;
    assert!(root.contains("include:\n- accounts/111122223333.yaml\n"));
    assert!(root.contains("management_account: \"999988887777\"\n"));
    let trust = files
        .iter()
        .find(|(p, _)| p.ends_with("account-a-role/trust.json"))
        .unwrap();
    assert!(trust.1.starts_with("{\n  \"Version\": \"2012-10-17\",\n"));
}

#[test]
fn an_exported_model_loads_from_memory_too() {
    let model = embedded();
    let files = export_files(&model);
    let texts: Vec<(String, &str)> = files
        .iter()
        .map(|(p, t)| (p.display().to_string(), t.as_str()))
        .collect();
    let borrowed: Vec<(&str, &str)> = texts.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    let reloaded = load_from_memory("org.yaml", &borrowed).unwrap();
    assert_eq!(reloaded, model);
}

#[test]
fn odd_names_and_values_survive_the_round_trip() {
    let root = r#"organization: {management_account: "999988887777"}
accounts:
  - id: "999988887777"
    name: "management: main"
    iam:
      users:
        - name: ".."
          path: /a/b/
          tags: {"": x, "yes": "", note: "two\nlines"}
      roles:
        - name: r
          description: "123"
          trust_policy: '{"Statement": {"Effect": "Allow", "Principal": {"AWS": "999988887777"}, "Action": "sts:AssumeRole", "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}}}'
scps:
  - name: "a/b"
    document: '{"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}'
  - name: "a_b"
    document: '{"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}}'
"#;
    // The empty tag key is refused; the rest is fine.
    let errors = load_from_memory("org.yaml", &[("org.yaml", root)]).unwrap_err();
    assert_eq!(errors.len(), 2, "{}", errors.brief());
    let root = root
        .replace("\"\": x, ", "")
        .replace("\"two\\nlines\"", "two lines");
    let model = load_from_memory("org.yaml", &[("org.yaml", &root)]).unwrap();
    let files = export_files(&model);
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| (p.display().to_string(), t.clone()))
        .collect();
    let borrowed: Vec<(&str, &str)> = texts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let reloaded = match load_from_memory("org.yaml", &borrowed) {
        Ok(model) => model,
        Err(errors) => panic!("{}\n{texts:#?}", errors.brief()),
    };
    assert_eq!(reloaded, model);
    assert!(texts.iter().any(|(p, _)| p == "policies/scps/a_b.json"));
    assert!(texts.iter().any(|(p, _)| p == "policies/scps/a_b-2.json"));
    let account = &texts
        .iter()
        .find(|(p, _)| p == "accounts/999988887777.yaml")
        .unwrap()
        .1;
    assert!(account.contains("name: \"management: main\"\n"));
    assert!(account.contains("\"yes\": \"\"\n"));
}

#[test]
fn a_share_arn_that_is_not_derived_is_kept_and_checked() {
    let mut model = embedded();
    let network = model.accounts.get_mut("555566667777").unwrap();
    let arn =
        "arn:aws:ram:us-east-1:555566667777:resource-share/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    network.resource_shares[0].arn = arn.to_string();
    network.resource_shares[0].name = "renamed".to_string();
    let files = export_files(&model);
    let text = |files: &[(std::path::PathBuf, String)]| -> Vec<(String, String)> {
        files
            .iter()
            .map(|(p, t)| (p.display().to_string(), t.clone()))
            .collect()
    };
    let files = text(&files);
    let network_file = &files
        .iter()
        .find(|(p, _)| p == "accounts/555566667777.yaml")
        .unwrap()
        .1;
    assert!(
        network_file.contains(&format!("arn: {arn}")),
        "{network_file}"
    );
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let reloaded = load_from_memory("org.yaml", &borrowed).unwrap();
    assert_eq!(reloaded, model);
    // Derived ARNs are not written: the example's own files have none.
    assert!(
        !text(&export_files(&embedded()))
            .iter()
            .any(|(_, t)| t.contains("resource-share/"))
    );
    // An ARN of another account is refused.
    let wrong = network_file.replace("555566667777:resource-share", "111122223333:resource-share");
    let files: Vec<(&str, &str)> = borrowed
        .iter()
        .map(|(p, t)| {
            (
                *p,
                if *p == "accounts/555566667777.yaml" {
                    wrong.as_str()
                } else {
                    *t
                },
            )
        })
        .collect();
    let errors = load_from_memory("org.yaml", &files).unwrap_err();
    assert!(
        errors.brief().contains("resource share ARN"),
        "{}",
        errors.brief()
    );
}
