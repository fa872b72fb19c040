//! `orgtwin import` as a user runs it, on the model crate's hand-written
//! exports: a model and its report written whole, a directory that is not
//! empty refused (or, with `--force`, written over), nothing written when
//! the exports do not make a model.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn orgtwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orgtwin"))
        .args(args)
        .output()
        .unwrap()
}

fn fixture(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../model/tests/fixtures/import")
        .join(relative)
        .display()
        .to_string()
}

/// The fixtures' flags, writing into `out`.
fn import_args(out: &Path) -> Vec<String> {
    let mut args = vec![
        "import".to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    args.extend(["--organizations".into(), fixture("organizations")]);
    for file in [
        "cluster-prod.json",
        "payroll-prod.json",
        "payroll-prod-roles.json",
    ] {
        args.extend(["--iam".into(), fixture(&format!("iam/{file}"))]);
    }
    args.extend([
        "--iam".into(),
        format!("444455556666={}", fixture("iam/payroll-prod-oidc.json")),
    ]);
    args.extend(["--iam".into(), fixture("iam/analytics-prod.json")]);
    for file in [
        "describe-cluster-ProductionCluster.json",
        "describe-pod-identity-association-a-payrollapp0000001.json",
        "describe-pod-identity-association-a-payrollrpt0000001.json",
    ] {
        args.extend(["--eks".into(), fixture(&format!("eks/{file}"))]);
    }
    args.extend([
        "--kubectl".into(),
        format!(
            "ProductionCluster={}",
            fixture("kubectl/ProductionCluster.json")
        ),
    ]);
    args.extend(["--eksctl".into(), fixture("eksctl/analytics-cluster.yaml")]);
    args
}

fn run(args: &[String]) -> Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    orgtwin(&refs)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    found.sort();
    found
}

#[test]
fn a_model_and_its_report_are_written_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    let done = run(&import_args(&out));
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    let stdout = text(&done.stdout);
    assert!(
        stdout.contains("imported 6 accounts, 10 roles, 2 clusters, 3 Pod Identity associations"),
        "{stdout}"
    );
    assert!(stdout.contains("item(s) not mapped (also in"), "{stdout}");
    assert!(
        stdout.contains("instance profile(s) `build-runner`"),
        "{stdout}"
    );
    let report = std::fs::read_to_string(out.join("IMPORT-REPORT.md")).unwrap();
    assert!(report.contains("## Not in the model"), "{report}");
    assert!(
        out.join("accounts/444455556666/roles/deploy-role/trust.json")
            .is_file()
    );
    // No staging directory is left beside it.
    assert_eq!(entries(dir.path()), [out.as_path()]);
    let check = orgtwin(&["check", out.join("org.yaml").to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
}

#[test]
fn a_directory_that_is_not_empty_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("README.md"), "our notes\n").unwrap();
    let refused = run(&import_args(&out));
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("is not empty"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(entries(&out), [out.join("README.md")]);

    let mut forced = import_args(&out);
    forced.push("--force".into());
    let done = run(&forced);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    assert_eq!(
        std::fs::read_to_string(out.join("README.md")).unwrap(),
        "our notes\n"
    );
    assert!(out.join("org.yaml").is_file());
    assert!(out.join("IMPORT-REPORT.md").is_file());
    let leftovers: Vec<PathBuf> = entries(&out)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("orgtwin-import"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Every file under `dir`, folders included, with its content.
fn tree(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path.clone());
                found.push((path, None));
            } else {
                let bytes = std::fs::read(&path).unwrap();
                found.push((path, Some(bytes)));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_forced_import_that_cannot_write_every_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    let mut forced = import_args(&out);
    forced.push("--force".into());
    let first = run(&forced);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    // Our own edit, and a folder where the report file goes: the second
    // import stages every model file before it meets the folder.
    let org = out.join("org.yaml");
    let mut edited = std::fs::read_to_string(&org).unwrap();
    edited.push_str("# reviewed\n");
    std::fs::write(&org, &edited).unwrap();
    std::fs::remove_file(out.join("IMPORT-REPORT.md")).unwrap();
    std::fs::create_dir(out.join("IMPORT-REPORT.md")).unwrap();
    std::fs::write(out.join("IMPORT-REPORT.md/ours.txt"), "ours\n").unwrap();
    let before = tree(&out);

    let second = run(&forced);
    assert_eq!(second.status.code(), Some(2), "{}", text(&second.stdout));
    let stderr = text(&second.stderr);
    assert!(
        stderr.contains("IMPORT-REPORT.md` is in the way"),
        "{stderr}"
    );
    assert_eq!(tree(&out), before, "the directory changed");
}

#[test]
fn an_empty_current_directory_is_written_into() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = import_args(Path::new("."));
    args.remove(0);
    let done = Command::new(env!("CARGO_BIN_EXE_orgtwin"))
        .arg("import")
        .args(&args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    assert!(dir.path().join("org.yaml").is_file());
    let leftovers: Vec<PathBuf> = entries(dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("orgtwin-import"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn nothing_is_written_when_the_exports_do_not_make_a_model() {
    let dir = tempfile::tempdir().unwrap();
    // A trust policy IAM's grammar refuses (no principal).
    let iam = dir.path().join("iam.json");
    std::fs::write(
        &iam,
        r#"{"RoleDetailList": [{"RoleName": "pod-role", "Path": "/",
            "Arn": "arn:aws:iam::111122223333:role/pod-role",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}}]}"#,
    )
    .unwrap();
    let out = dir.path().join("model");
    let iam_arg = iam.display().to_string();
    let out_arg = out.display().to_string();
    let refused = orgtwin(&[
        "import",
        "--out",
        &out_arg,
        "--iam",
        &iam_arg,
        "--management-account",
        "999988887777",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("does not load"), "{stderr}");
    assert!(
        stderr.contains("RoleDetailList[0].AssumeRolePolicyDocument"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!out.exists());

    // An empty directory stays empty.
    std::fs::create_dir(&out).unwrap();
    let again = orgtwin(&[
        "import",
        "--out",
        &out_arg,
        "--iam",
        &iam_arg,
        "--management-account",
        "999988887777",
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(entries(&out).is_empty());
    assert_eq!(entries(dir.path()).len(), 2, "no staging directory is left");

    // Not JSON: the file and line are named.
    std::fs::write(&iam, "{\n  \"RoleDetailList\": [\n").unwrap();
    let broken = orgtwin(&[
        "import",
        "--out",
        &out_arg,
        "--iam",
        &iam_arg,
        "--management-account",
        "999988887777",
    ]);
    assert_eq!(broken.status.code(), Some(2));
    assert!(
        text(&broken.stderr).contains("is not JSON, at line 3"),
        "{}",
        text(&broken.stderr)
    );

    // Without an organization listing, the management account is required.
    let missing = orgtwin(&["import", "--out", &out_arg, "--iam", &iam_arg]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("--management-account"),
        "{}",
        text(&missing.stderr)
    );

    // A kubectl listing must name its cluster.
    let unnamed = orgtwin(&[
        "import",
        "--out",
        &out_arg,
        "--kubectl",
        &iam_arg,
        "--management-account",
        "999988887777",
    ]);
    assert_eq!(unnamed.status.code(), Some(2));
    assert!(text(&unnamed.stderr).contains("is not `CLUSTER=FILE`"));
    assert!(entries(&out).is_empty());
}
