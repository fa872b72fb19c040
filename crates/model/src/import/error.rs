//! Why an import stopped, and where in the exports.
//!
//! An import either writes a whole model or nothing: every variant here
//! means nothing was written. Each names the export at fault, and where the
//! export is JSON, the line, column and JSON path of the value
//! (`RoleDetailList[3].AssumeRolePolicyDocument`).

use std::fmt;

/// A place in an export: its file, and within it the line, column and JSON
/// path of a value (all empty for the file as a whole or a flag).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    pub file: String,
    /// 1-based; 0 when the origin is the whole file.
    pub line: usize,
    pub column: usize,
    /// `RoleDetailList[3].RoleName`; empty for the file as a whole.
    pub json_path: String,
}

impl Origin {
    /// The file as a whole.
    pub fn file(file: impl Into<String>) -> Self {
        Origin {
            file: file.into(),
            ..Origin::default()
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.json_path.is_empty() {
            write!(f, ", at `{}`", self.json_path)?;
        }
        Ok(())
    }
}

/// Why nothing was imported.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ImportError {
    #[error("cannot read `{path}`: {reason}")]
    #[diagnostic(
        code(orgtwin::import::unreadable),
        help(
            "check the path; exports are read as UTF-8 (PowerShell 5 writes UTF-16 with `>`: \
             use `Out-File -Encoding utf8`)"
        )
    )]
    Unreadable { path: String, reason: String },

    #[error("`{path}` is not JSON, at line {line}, column {column}: {reason}")]
    #[diagnostic(
        code(orgtwin::import::not_json),
        help("give the AWS CLI's output unchanged, with `--output json`")
    )]
    NotJson {
        path: String,
        line: usize,
        column: usize,
        reason: String,
    },

    #[error("{at}: {reason}")]
    #[diagnostic(
        code(orgtwin::import::malformed),
        help("docs/import.md shows the shape orgtwin reads for each export")
    )]
    Malformed { at: Origin, reason: String },

    #[error("`{path}` is not {expected}")]
    #[diagnostic(code(orgtwin::import::unknown_export), help("{help}"))]
    UnknownExport {
        path: String,
        expected: &'static str,
        help: &'static str,
    },

    /// Inputs that do not fit together (flags, two exports of one account).
    #[error("{message}")]
    #[diagnostic(code(orgtwin::import::inputs), help("{help}"))]
    Inputs { message: String, help: String },

    /// An eksctl file the model's own reader refuses.
    #[error("`{path}` cannot be read as an eksctl ClusterConfig:\n{problems}")]
    #[diagnostic(
        code(orgtwin::import::eksctl),
        help(
            "each problem names its line; docs/model.md lists what orgtwin reads from eksctl files"
        )
    )]
    Eksctl { path: String, problems: String },

    /// The model made from the exports breaks a rule of the model.
    #[error("the model made from the exports does not load:\n{}", bullets(.problems))]
    #[diagnostic(
        code(orgtwin::import::model),
        help(
            "each problem names the export and the JSON path it came from; fix the export or \
             leave it out"
        )
    )]
    Model { problems: Vec<String> },

    /// The written files do not load back into the model they came from.
    #[error("the model's files do not load back into the same model ({reason})")]
    #[diagnostic(
        code(orgtwin::import::round_trip),
        help("this is a bug in orgtwin; please report it with the exports")
    )]
    RoundTrip { reason: String },
}

fn bullets(lines: &[String]) -> String {
    lines
        .iter()
        .map(|line| format!("  - {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ImportError {
    pub(crate) fn inputs(message: impl Into<String>, help: impl Into<String>) -> Self {
        ImportError::Inputs {
            message: message.into(),
            help: help.into(),
        }
    }
}
