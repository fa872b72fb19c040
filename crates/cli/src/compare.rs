//! `orgtwin compare [MODEL] [--format table|json]`.

use std::path::Path;
use std::process::ExitCode;

/// Loads the model (the embedded example when none is given), compares the
/// two layouts and prints them. Exit 1 when the model has problems, 2 for a
/// bad `--format`.
pub fn run(model: Option<&Path>, format: &str) -> ExitCode {
    if format != "table" && format != "json" {
        eprintln!("error: --format is `table` or `json`, not `{format}`");
        return ExitCode::from(2);
    }
    let loaded = match model {
        Some(path) => orgtwin_model::load(path),
        None => Ok(orgtwin_model::embedded()),
    };
    let model = match loaded {
        Ok(m) => m,
        Err(errors) => {
            for error in errors.iter() {
                eprintln!("{:?}", miette::Report::new(error.clone()));
            }
            eprintln!("{} problem(s)", errors.len());
            return ExitCode::from(1);
        }
    };
    let comparison = orgtwin_analyze::compare(&model);
    if format == "json" {
        match serde_json::to_string_pretty(&comparison) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!("{}", comparison.table());
    }
    ExitCode::SUCCESS
}
