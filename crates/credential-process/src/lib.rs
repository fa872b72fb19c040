//! `eks-credential-process`: an AWS config `credential_process` that reads the
//! pod's credentials from the EKS Pod Identity agent.
//!
//! One run reads `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, sends its content
//! as the `Authorization` header of `GET AWS_CONTAINER_CREDENTIALS_FULL_URI`
//! (default `http://169.254.170.23/v1/credentials`), and turns the agent's
//! `{"AccessKeyId","SecretAccessKey","Token","AccountId","Expiration"}` into
//! the `credential_process` output
//! `{"Version":1,"AccessKeyId","SecretAccessKey","SessionToken","Expiration"}`.
//!
//! It stands in for the `curl | jq` script of the AWS guide, in a profile that
//! another profile chains from with `source_profile`. A run either prints the
//! credentials on stdout and exits 0, or prints one line on stderr and
//! nothing on stdout, and exits 1 (the agent gave no credentials) or 2 (the
//! configuration or command line is wrong). No secret (the token, a secret
//! key, a session token) is ever part of that line.
//!
//! The pieces, each usable on its own: [`args`] (command line), [`settings`]
//! (environment), [`uri`], [`token`], [`http`] (one `GET`), [`reply`] (the
//! agent's JSON and the output), [`fetch`] (retries).

pub mod args;
pub mod fetch;
pub mod http;
pub mod reply;
pub mod settings;
pub mod token;
pub mod uri;

use std::ffi::OsString;

use args::{Invocation, USAGE, UsageError};
use fetch::FetchError;
use settings::{Settings, SettingsError};
use token::{Token, TokenError};

/// Prefix of every line this process writes to stderr.
pub const ERROR_PREFIX: &str = "eks-credential-process: ";

/// The exit status of a failed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The agent was asked and gave no credentials.
    NoCredentials = 1,
    /// Nothing was asked: the command line or the configuration is wrong.
    BadConfiguration = 2,
}

/// Why a run printed no credentials.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Usage(#[from] UsageError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("cannot write the credentials as JSON: {0}")]
    Output(#[from] serde_json::Error),
}

impl Failure {
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Failure::Usage(_) | Failure::Settings(_) | Failure::Token(_) => {
                ExitStatus::BadConfiguration
            }
            Failure::Fetch(_) | Failure::Output(_) => ExitStatus::NoCredentials,
        }
    }
}

/// Runs the process on its arguments (without the program name) and an
/// environment lookup; returns what to print on stdout, without a line end.
pub fn run(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<String, Failure> {
    let overrides = match args::parse_args(args)? {
        Invocation::Help => return Ok(USAGE.to_owned()),
        Invocation::Version => {
            return Ok(format!(
                "eks-credential-process {}",
                env!("CARGO_PKG_VERSION")
            ));
        }
        Invocation::Fetch(overrides) => overrides,
    };
    let settings = Settings::resolve(overrides, env)?;
    let token = Token::read(&settings.token_file)?;
    let credentials = fetch::fetch(&settings.uri, &token, settings.timeouts, settings.retry)?;
    Ok(credentials.to_process_output()?)
}
