//! `orgtwin policy validate FILE [--type TYPE]`.

use std::path::Path;
use std::process::ExitCode;

use miette::{NamedSource, Report};
use orgtwin_policy::{PolicyType, validate_source};

/// Exit 0 when valid, 1 when IAM would refuse the document, 2 when it cannot
/// be read.
pub fn run(file: &Path, policy_type: &str) -> ExitCode {
    let policy_type: PolicyType = match policy_type.parse() {
        Ok(t) => t,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let source = match std::fs::read_to_string(file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let errors = validate_source(&source, policy_type);
    if errors.is_empty() {
        println!("{}: a valid {policy_type} policy", file.display());
        return ExitCode::SUCCESS;
    }
    let name = file.display().to_string();
    for error in &errors {
        let report =
            Report::new(error.clone()).with_source_code(NamedSource::new(&name, source.clone()));
        eprintln!("{}: {report:?}", error.code.as_str());
    }
    eprintln!(
        "{name}: {} problem(s) in this {policy_type} policy",
        errors.len()
    );
    ExitCode::from(1)
}
