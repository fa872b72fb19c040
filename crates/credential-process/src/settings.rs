//! Where the agent is and where the token is, from the command line and the
//! environment.
//!
//! - `AWS_CONTAINER_CREDENTIALS_FULL_URI`: the agent's URI; unset or empty
//!   means [`DEFAULT_AGENT_URI`], as in the AWS SDKs.
//! - `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`: the token's path; required.
//!   The EKS Pod Identity webhook sets both in every container of a pod whose
//!   service account has an association.
//!
//! `--uri` and `--token-file` take precedence over the variables. The
//! environment is passed in as a lookup function, so tests need not touch the
//! process's own.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::args::Overrides;
use crate::fetch::RetryPolicy;
use crate::http::Timeouts;
use crate::uri::{AgentUri, DEFAULT_AGENT_URI, UriError};

pub const URI_VARIABLE: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const TOKEN_FILE_VARIABLE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "`{TOKEN_FILE_VARIABLE}` is not set: is the pod's service account associated with \
         a role through EKS Pod Identity?"
    )]
    TokenFileUnset,
    #[error("the agent URI is not UTF-8")]
    UriNotUtf8,
    #[error("the agent URI {0}")]
    Uri(#[from] UriError),
}

/// Everything one run needs, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub uri: AgentUri,
    pub token_file: PathBuf,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
}

impl Settings {
    pub fn resolve(
        overrides: Overrides,
        env: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Settings, SettingsError> {
        let set = |value: Option<OsString>| value.filter(|v| !v.is_empty());
        let uri = match set(overrides.uri).or_else(|| set(env(URI_VARIABLE))) {
            Some(text) => AgentUri::parse(text.to_str().ok_or(SettingsError::UriNotUtf8)?)?,
            None => AgentUri::parse(DEFAULT_AGENT_URI)?,
        };
        let token_file = overrides
            .token_file
            .filter(|path| !path.as_os_str().is_empty())
            .or_else(|| set(env(TOKEN_FILE_VARIABLE)).map(PathBuf::from))
            .ok_or(SettingsError::TokenFileUnset)?;
        let timeouts = overrides
            .timeout
            .map_or_else(Timeouts::default, same_timeouts);
        Ok(Settings {
            uri,
            token_file,
            timeouts,
            retry: RetryPolicy::default(),
        })
    }
}

fn same_timeouts(timeout: Duration) -> Timeouts {
    Timeouts {
        connect: timeout,
        response: timeout,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, OsString)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn the_agent_default_applies_when_the_uri_is_unset_or_empty() {
        for env in [vec![], vec![(URI_VARIABLE, "")]] {
            let mut env = env;
            env.push((TOKEN_FILE_VARIABLE, "/token"));
            let settings = Settings::resolve(Overrides::default(), env_of(&env)).unwrap();
            assert_eq!(settings.uri.to_string(), DEFAULT_AGENT_URI);
            assert_eq!(settings.token_file, PathBuf::from("/token"));
            assert_eq!(settings.timeouts, Timeouts::default());
        }
    }

    #[test]
    fn flags_win_over_the_environment() {
        let env = env_of(&[
            (URI_VARIABLE, "http://[fd00:ec2::23]/v1/credentials"),
            (TOKEN_FILE_VARIABLE, "/env"),
        ]);
        let overrides = Overrides {
            uri: Some("http://127.0.0.1:2703/v1/credentials".into()),
            token_file: Some("/flag".into()),
            timeout: Some(Duration::from_millis(300)),
        };
        let settings = Settings::resolve(overrides, &env).unwrap();
        assert_eq!(settings.uri.host_header(), "127.0.0.1:2703");
        assert_eq!(settings.token_file, PathBuf::from("/flag"));
        assert_eq!(settings.timeouts.connect, Duration::from_millis(300));
        assert_eq!(settings.timeouts.response, Duration::from_millis(300));
        let settings = Settings::resolve(Overrides::default(), &env).unwrap();
        assert_eq!(settings.uri.host_header(), "[fd00:ec2::23]");
    }

    #[test]
    fn a_missing_token_file_variable_is_an_error() {
        for env in [env_of(&[]), env_of(&[(TOKEN_FILE_VARIABLE, "")])] {
            let err = Settings::resolve(Overrides::default(), env).unwrap_err();
            assert_eq!(err, SettingsError::TokenFileUnset);
        }
    }

    #[test]
    fn a_bad_uri_is_an_error() {
        let env = env_of(&[
            (URI_VARIABLE, "https://169.254.170.23/"),
            (TOKEN_FILE_VARIABLE, "/t"),
        ]);
        let err = Settings::resolve(Overrides::default(), env).unwrap_err();
        assert!(matches!(err, SettingsError::Uri(UriError::Https(_))));
        assert!(
            err.to_string().starts_with("the agent URI `https://"),
            "{err}"
        );
    }
}
