//! `orgtwin run` stopped by a signal: the command gets it, and the token
//! files and the in-process twin's state go with the run.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Polls for `path` to hold something, for at most a minute.
fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_reaches_the_command_and_the_tokens_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen");
    // The command stops by itself after a minute, so that a run that fails
    // to pass the signal on leaves no process behind for long.
    let script = format!(
        "trap 'echo terminated >> {seen}; exit 7' TERM; \
         echo \"$AWS_WEB_IDENTITY_TOKEN_FILE\" > {seen}.tmp; mv {seen}.tmp {seen}; \
         i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done",
        seen = seen.display()
    );
    let mut run = Command::new(env!("CARGO_BIN_EXE_orgtwin"))
        .args(["run", "--model"])
        .arg(repo("examples/org/org.yaml"))
        .args([
            "--pod",
            "ProductionCluster/PayrollNamespace/payroll-irsa",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .spawn()
        .unwrap();
    let token = PathBuf::from(wait_for(&seen).trim());
    assert!(token.is_file(), "{}", token.display());

    let sent = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = run.wait().unwrap();
    // The command's own exit code, from its TERM trap.
    assert_eq!(status.code(), Some(7));
    assert!(
        std::fs::read_to_string(&seen)
            .unwrap()
            .contains("terminated")
    );
    assert!(!token.exists(), "{} was left behind", token.display());
    assert!(!token.parent().unwrap().exists());
}
