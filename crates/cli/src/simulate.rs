//! `orgtwin simulate --cases FILE`: runs policy unit tests.

use std::path::PathBuf;
use std::process::ExitCode;

use orgtwin_policy::Timestamp;
use orgtwin_policy::cases::run_case;

/// Exit 0 when every expectation holds, 1 when one does not, 2 when the input
/// is malformed (no result is printed for a malformed file).
pub fn run(path: &PathBuf) -> ExitCode {
    let reader = match crate::read_input(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let now = now();
    let mut results = Vec::new();
    for (index, line) in std::io::BufRead::lines(reader).enumerate() {
        let number = index + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!(
                    "error: {}:{number}: cannot read the line: {e}",
                    path.display()
                );
                return ExitCode::from(2);
            }
        };
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        match run_case(trimmed, &format!("line {number}"), now) {
            Ok(result) => results.push(result),
            Err(e) => {
                eprintln!("error: {}:{number}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let (mut passed, mut failed) = (0usize, 0usize);
    for result in &results {
        match result.ok {
            Some(true) => passed += 1,
            Some(false) => failed += 1,
            None => {}
        }
        let line =
            serde_json::to_string(result).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        if !crate::emit(&mut out, &line) {
            return ExitCode::from(1);
        }
    }
    crate::emit(&mut out, &format!("{passed} passed, {failed} failed"));
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The one place orgtwin reads the wall clock: the default request time of
/// cases that give no `now`.
#[allow(
    clippy::disallowed_methods,
    reason = "the CLI entry point owns the clock"
)]
fn now() -> Timestamp {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    Timestamp::from_unix_nanos(since.map(|d| d.as_nanos() as i128).unwrap_or(0))
}
