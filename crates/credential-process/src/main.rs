//! The `eks-credential-process` binary: see the library's documentation.

use std::io::Write;
use std::process::ExitCode;

use eks_credential_process::{ERROR_PREFIX, ExitStatus, run};

fn main() -> ExitCode {
    let outcome = run(std::env::args_os().skip(1), |name| std::env::var_os(name));
    let (message, status) = match outcome {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
                Ok(()) => return ExitCode::SUCCESS,
                Err(err) => (
                    format!("cannot write to stdout: {err}"),
                    ExitStatus::NoCredentials,
                ),
            }
        }
        Err(failure) => (failure.to_string(), failure.exit_status()),
    };
    let line = message.replace(|c: char| c.is_control(), " ");
    // Nothing more can be done if stderr is gone too; the exit status still tells.
    let _ = writeln!(std::io::stderr(), "{ERROR_PREFIX}{line}");
    ExitCode::from(status as u8)
}
