//! Problems found in a policy document, with IAM's error code and message and
//! the place in the source they refer to.

use crate::json::Span;

/// The error code IAM (or Organizations) answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ErrorCode {
    MalformedPolicyDocument,
    LimitExceeded,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedPolicyDocument => "MalformedPolicyDocument",
            ErrorCode::LimitExceeded => "LimitExceeded",
        }
    }
}

/// One problem in a policy document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic, serde::Serialize)]
#[error("{message}")]
pub struct PolicyError {
    pub code: ErrorCode,
    /// The message IAM gives, where IAM has one for this mistake.
    pub message: String,
    /// What to do about it, and the detail IAM's terse message leaves out.
    #[help]
    pub help: Option<String>,
    #[label("here")]
    #[serde(skip)]
    pub label: Option<miette::SourceSpan>,
    pub span: Option<Span>,
}

impl PolicyError {
    pub fn malformed(message: impl Into<String>, span: Span) -> Self {
        PolicyError {
            code: ErrorCode::MalformedPolicyDocument,
            message: message.into(),
            help: None,
            label: Some(span.into()),
            span: Some(span),
        }
    }

    pub fn limit(message: impl Into<String>, span: Span) -> Self {
        PolicyError {
            code: ErrorCode::LimitExceeded,
            ..Self::malformed(message, span)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// IAM's message for a document that is not JSON or not shaped like a policy.
pub const SYNTAX_ERRORS: &str = "Syntax errors in policy.";
