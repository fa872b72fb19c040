//! Problems found while loading a model, each at its file, line, column and
//! field path, rendered by miette with the file's text.
//!
//! Loading never stops at the first problem: every check runs and
//! [`LoadErrors`] carries them all, sorted by file and position, so
//! `orgtwin check` can print them in one go. A policy document's problems
//! carry IAM's own code (`MalformedPolicyDocument`, `LimitExceeded`) and
//! message; the model's own problems have lowercase messages with the
//! user's values in backticks, and a `help` saying what to do.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use orgtwin_policy::{ErrorCode, PolicyType};

use crate::source::{FileId, Loc, Sources};

/// What is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("cannot read `{path}`: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("invalid YAML: {reason}")]
    YamlSyntax { reason: String },
    #[error("{reason}")]
    UnsupportedYaml { reason: String },
    #[error("unknown field `{field}`")]
    UnknownField {
        field: String,
        expected: &'static [&'static str],
    },
    #[error("missing field `{field}`")]
    MissingField { field: &'static str },
    #[error("expected {expected}, found {found}")]
    WrongType {
        expected: &'static str,
        found: &'static str,
    },
    #[error("`{value}` is not a valid {what}")]
    InvalidValue {
        what: &'static str,
        value: String,
        rule: String,
    },
    /// A secret that breaks the format; its value is never printed.
    #[error("the secret access key is not 40 characters of `A-Z a-z 0-9 / +`")]
    InvalidSecretAccessKey,
    #[error("{what} `{value}` is outside {min}..={max}")]
    OutOfRange {
        what: &'static str,
        value: String,
        min: u64,
        max: u64,
    },
    #[error("{count} {what}, more than the {max} IAM allows")]
    TooMany {
        what: &'static str,
        count: usize,
        max: usize,
    },
    #[error("duplicate {what} `{name}`")]
    Duplicate {
        what: &'static str,
        name: String,
        first: String,
    },
    #[error("no {what} `{name}` {scope}")]
    UnresolvedReference {
        what: &'static str,
        name: String,
        scope: String,
        hint: String,
    },
    #[error("the management account `{id}` is not among the accounts")]
    ManagementAccountMissing { id: String },
    #[error("the management account `{id}` sits under `{parent}`, not at the root")]
    ManagementAccountNotAtRoot { id: String, parent: String },
    #[error("organizational units form a cycle: {cycle}")]
    OuCycle { cycle: String },
    #[error("`{field}` belongs in the root model file, not in an included one")]
    OnlyInRootFile { field: &'static str },
    #[error("the include pattern `{pattern}` matches no file")]
    IncludeMatchesNothing { pattern: String },
    #[error("`{pattern}` is not a valid glob pattern: {reason}")]
    BadGlob { pattern: String, reason: String },
    #[error("`{path}` is included more than once")]
    AlreadyIncluded { path: String, first: String },
    /// A value each field allows alone, refused by a rule of the service.
    #[error("{message}")]
    Refused { message: String, help: String },
    #[error("{}, at `{json_path}`: {message}", policy_label(*policy_type))]
    Policy {
        policy_type: PolicyType,
        code: ErrorCode,
        message: String,
        json_path: String,
        detail: Option<String>,
    },
}

/// How messages name a policy type.
pub fn policy_label(policy_type: PolicyType) -> &'static str {
    match policy_type {
        PolicyType::Identity => "identity policy",
        PolicyType::Resource => "resource-based policy",
        PolicyType::Trust => "trust policy",
        PolicyType::Scp => "SCP",
        PolicyType::Rcp => "RCP",
        PolicyType::Session => "session policy",
        PolicyType::PermissionsBoundary => "permissions boundary",
    }
}

impl Problem {
    /// A short, stable name for the kind of problem.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Unreadable { .. } => "orgtwin::model::unreadable",
            Problem::YamlSyntax { .. } => "orgtwin::model::yaml-syntax",
            Problem::UnsupportedYaml { .. } => "orgtwin::model::unsupported-yaml",
            Problem::UnknownField { .. } => "orgtwin::model::unknown-field",
            Problem::MissingField { .. } => "orgtwin::model::missing-field",
            Problem::WrongType { .. } => "orgtwin::model::wrong-type",
            Problem::InvalidValue { .. } | Problem::InvalidSecretAccessKey => {
                "orgtwin::model::invalid-value"
            }
            Problem::OutOfRange { .. } => "orgtwin::model::out-of-range",
            Problem::Refused { .. } => "orgtwin::model::refused",
            Problem::TooMany { .. } => "orgtwin::model::too-many",
            Problem::Duplicate { .. } => "orgtwin::model::duplicate",
            Problem::UnresolvedReference { .. } => "orgtwin::model::unresolved-reference",
            Problem::ManagementAccountMissing { .. }
            | Problem::ManagementAccountNotAtRoot { .. } => "orgtwin::model::management-account",
            Problem::OuCycle { .. } => "orgtwin::model::ou-cycle",
            Problem::OnlyInRootFile { .. } => "orgtwin::model::only-in-root-file",
            Problem::IncludeMatchesNothing { .. }
            | Problem::BadGlob { .. }
            | Problem::AlreadyIncluded { .. } => "orgtwin::model::include",
            Problem::Policy { code, .. } => match code {
                ErrorCode::MalformedPolicyDocument => "MalformedPolicyDocument",
                ErrorCode::LimitExceeded => "LimitExceeded",
            },
        }
    }

    /// What to do about it.
    pub fn help(&self) -> Option<String> {
        Some(match self {
            Problem::Unreadable { .. } => {
                "check the path (relative to the file that names it) and that it is UTF-8 text"
                    .into()
            }
            Problem::YamlSyntax { .. } => "fix the YAML syntax at the marked place".into(),
            Problem::UnsupportedYaml { .. } => {
                "write plain YAML: one document, no tags, anchors only for small repeats".into()
            }
            Problem::UnknownField { expected, .. } => {
                format!("the fields here are: {}", expected.join(", "))
            }
            Problem::MissingField { field } => format!("add `{field}`"),
            Problem::WrongType { expected, .. } => format!("write {expected} here"),
            Problem::InvalidValue { rule, .. } => rule.clone(),
            Problem::InvalidSecretAccessKey => {
                "a secret access key is 40 characters of `A-Z a-z 0-9 / +`".into()
            }
            Problem::OutOfRange { min, max, .. } => format!("use a value from {min} to {max}"),
            Problem::TooMany { max, .. } => format!("keep at most {max}"),
            Problem::Duplicate { first, .. } => {
                format!("the first one is at {first}; rename or remove one of them")
            }
            Problem::UnresolvedReference { hint, .. } => hint.clone(),
            Problem::ManagementAccountMissing { .. } => {
                "add the management account to `accounts`, with `parent: root`".into()
            }
            Problem::ManagementAccountNotAtRoot { .. } => {
                "the management account cannot be moved into an OU; set `parent: root`".into()
            }
            Problem::OuCycle { .. } => {
                "make one of these OUs a child of `root` or of an OU outside the cycle".into()
            }
            Problem::OnlyInRootFile { .. } => "move it to the file given to `orgtwin`".into(),
            Problem::IncludeMatchesNothing { .. } => {
                "the pattern is relative to the file that includes it; fix it or remove it".into()
            }
            Problem::BadGlob { .. } => "use `*`, `?`, `**` and `[...]` as in shell patterns".into(),
            Problem::AlreadyIncluded { first, .. } => {
                format!("it is already included at {first}; include each file once")
            }
            Problem::Refused { help, .. } => help.clone(),
            Problem::Policy { detail, .. } => return detail.clone(),
        })
    }
}

/// One problem, where it is.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{problem}")]
pub struct LoadError {
    pub problem: Problem,
    /// The file, as it was named (the root path joined with relative paths).
    pub file: PathBuf,
    /// 1-based line and column (in characters).
    pub line: usize,
    pub column: usize,
    /// Where in the file's structure: `accounts[1].iam.roles[0].trust_policy`.
    pub field: String,
    source_code: NamedSource<Arc<str>>,
    span: SourceSpan,
}

impl LoadError {
    /// `file:line:column: message (field)`, on one line.
    pub fn brief(&self) -> String {
        let mut out = format!(
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.problem
        );
        if !self.field.is_empty() {
            out.push_str(&format!(" (in `{}`)", self.field));
        }
        out
    }
}

impl Diagnostic for LoadError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.problem.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem
            .help()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source_code)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = if self.field.is_empty() {
            "here".to_string()
        } else {
            self.field.clone()
        };
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(label),
            self.span,
        ))))
    }
}

/// Every problem found in a model, in file and position order.
#[derive(Clone, Debug, thiserror::Error)]
#[error("the model has {} problem{}", .errors.len(), if .errors.len() == 1 { "" } else { "s" })]
pub struct LoadErrors {
    pub errors: Vec<LoadError>,
}

impl LoadErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, LoadError> {
        self.errors.iter()
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// One [`LoadError::brief`] line per problem.
    pub fn brief(&self) -> String {
        self.errors
            .iter()
            .map(|e| e.brief() + "\n")
            .collect::<String>()
    }
}

impl Diagnostic for LoadErrors {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(
            "each problem below names its file, line and field; fix them and load again",
        ))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.errors.iter().map(|e| e as &dyn Diagnostic)))
    }
}

impl<'a> IntoIterator for &'a LoadErrors {
    type Item = &'a LoadError;
    type IntoIter = std::slice::Iter<'a, LoadError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

/// Problems collected while loading, placed in their files at the end.
#[derive(Debug, Default)]
pub struct Report {
    pending: Vec<(Loc, Problem)>,
    /// Secret access keys, masked in the file text that diagnostics show.
    secrets: Vec<Loc>,
}

impl Report {
    pub fn push(&mut self, loc: &Loc, problem: Problem) {
        self.pending.push((loc.clone(), problem));
    }

    /// Marks a secret, so that no rendered problem shows it.
    pub fn redact(&mut self, loc: &Loc) {
        self.secrets.push(loc.clone());
    }

    /// The file's text with every secret in it replaced by `*`s, byte for
    /// byte, so that spans still fit.
    fn masked(&self, file: FileId, text: &Arc<str>) -> Arc<str> {
        let mut bytes = text.as_bytes().to_vec();
        let mut changed = false;
        for loc in self.secrets.iter().filter(|l| l.file == file) {
            for byte in bytes.iter_mut().take(loc.span.end).skip(loc.span.start) {
                *byte = b'*';
                changed = true;
            }
        }
        if !changed {
            return text.clone();
        }
        String::from_utf8(bytes).map_or_else(|_| Arc::from(""), Arc::from)
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The problems with their files, lines and columns, sorted and without
    /// repeats (a policy file named by several fields is reported once).
    pub fn finish(self, sources: &Sources) -> LoadErrors {
        let mut errors: Vec<(usize, usize, LoadError)> = Vec::new();
        let mut seen: HashSet<(FileId, usize, String)> = HashSet::new();
        let mut texts: HashMap<FileId, Arc<str>> = HashMap::new();
        for (loc, problem) in &self.pending {
            let (loc, problem) = (loc.clone(), problem.clone());
            let Some(file) = sources.get(loc.file) else {
                continue;
            };
            let (line, column) = file.line_column(loc.span.start);
            let start = loc.span.start.min(file.text.len());
            let end = loc.span.end.clamp(start, file.text.len());
            let error = LoadError {
                problem,
                file: file.path.clone(),
                line,
                column,
                field: loc.field,
                source_code: NamedSource::new(
                    file.path.display().to_string(),
                    texts
                        .entry(loc.file)
                        .or_insert_with(|| self.masked(loc.file, &file.text))
                        .clone(),
                )
                .with_language(
                    if file.path.extension().is_some_and(|e| e == "json") {
                        "json"
                    } else {
                        "yaml"
                    },
                ),
                span: (start, end - start).into(),
            };
            if seen.insert((loc.file, start, format!("{:?}", error.problem))) {
                errors.push((loc.file, start, error));
            }
        }
        errors.sort_by_key(|(file, start, _)| (*file, *start));
        LoadErrors {
            errors: errors.into_iter().map(|(_, _, e)| e).collect(),
        }
    }
}
