//! The command line: `--help`, `--version`, and overrides of the environment.
//!
//! The environment is the interface (the AWS config runs the process with the
//! pod's environment); the flags exist for trying the process by hand and for
//! tests. Both `--flag value` and `--flag=value` are accepted.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
eks-credential-process: print AWS credentials from the EKS Pod Identity agent,
in the form an AWS config `credential_process` expects.

Usage: eks-credential-process [--uri URI] [--token-file PATH] [--timeout-ms MS]

Environment:
  AWS_CONTAINER_CREDENTIALS_FULL_URI      the agent's address
                                          (default http://169.254.170.23/v1/credentials)
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE  the pod's service account token (required)

Options:
  --uri URI          use URI instead of AWS_CONTAINER_CREDENTIALS_FULL_URI
  --token-file PATH  use PATH instead of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
  --timeout-ms MS    connect and response timeout of each attempt
                     (default 2000 to connect, 5000 for the response)
  -h, --help         print this help
  -V, --version      print the version

Exit status: 0 credentials printed, 1 the agent gave none, 2 bad configuration.
AWS config profile:
  [profile account_a_role]
  credential_process = /usr/local/bin/eks-credential-process";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Help,
    Version,
    Fetch(Overrides),
}

/// Values given on the command line instead of the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub uri: Option<OsString>,
    pub token_file: Option<PathBuf>,
    pub timeout: Option<Duration>,
}

/// A command line that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    #[error("unknown argument `{0}` (see --help)")]
    Unknown(String),
    #[error("`{0}` needs a value (see --help)")]
    MissingValue(&'static str),
    #[error("the value in `{0}=...` is not UTF-8; give it as a separate argument")]
    InlineNotUtf8(&'static str),
    #[error("`{0}` is given twice")]
    Repeated(&'static str),
    #[error("`--timeout-ms` wants a whole number of milliseconds from 1, not `{0}`")]
    BadTimeout(String),
}

/// Reads the arguments after the program name.
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Invocation, UsageError> {
    let mut overrides = Overrides::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
            _ => (text.as_ref(), None),
        };
        match flag {
            "-h" | "--help" => return Ok(Invocation::Help),
            "-V" | "--version" => return Ok(Invocation::Version),
            "--uri" => {
                let value = value_of("--uri", inline, &arg, &mut args)?;
                set_once(&mut overrides.uri, value, "--uri")?;
            }
            "--token-file" => {
                let value = value_of("--token-file", inline, &arg, &mut args)?;
                set_once(
                    &mut overrides.token_file,
                    PathBuf::from(value),
                    "--token-file",
                )?;
            }
            "--timeout-ms" => {
                let value = value_of("--timeout-ms", inline, &arg, &mut args)?;
                set_once(
                    &mut overrides.timeout,
                    parse_timeout(&value)?,
                    "--timeout-ms",
                )?;
            }
            _ => return Err(UsageError::Unknown(text.into_owned())),
        }
    }
    Ok(Invocation::Fetch(overrides))
}

/// The flag's value: after `=` in the same argument, or the next argument.
fn value_of(
    flag: &'static str,
    inline: Option<&str>,
    arg: &OsString,
    rest: &mut impl Iterator<Item = OsString>,
) -> Result<OsString, UsageError> {
    let value = match inline {
        // Keep non-UTF-8 bytes of a path intact: cut the flag off the original.
        Some(_) => arg
            .to_str()
            .and_then(|text| text.split_once('='))
            .map(|(_, value)| OsString::from(value))
            .ok_or(UsageError::InlineNotUtf8(flag))?,
        None => rest.next().ok_or(UsageError::MissingValue(flag))?,
    };
    if value.is_empty() {
        Err(UsageError::MissingValue(flag))
    } else {
        Ok(value)
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, flag: &'static str) -> Result<(), UsageError> {
    if slot.replace(value).is_some() {
        Err(UsageError::Repeated(flag))
    } else {
        Ok(())
    }
}

fn parse_timeout(value: &OsString) -> Result<Duration, UsageError> {
    let text = value.to_string_lossy();
    let millis = text
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms > 0 && text.chars().all(|c| c.is_ascii_digit()));
    millis
        .map(Duration::from_millis)
        .ok_or_else(|| UsageError::BadTimeout(text.into_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(args: &[&str]) -> Result<Invocation, UsageError> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn no_arguments_fetch_with_the_environment() {
        assert_eq!(parse(&[]).unwrap(), Invocation::Fetch(Overrides::default()));
    }

    #[test]
    fn help_and_version_win_wherever_they_are() {
        assert_eq!(
            parse(&["--uri", "http://x/", "-h"]).unwrap(),
            Invocation::Help
        );
        assert_eq!(
            parse(&["--version", "--bogus"]).unwrap(),
            Invocation::Version
        );
        assert_eq!(parse(&["-V"]).unwrap(), Invocation::Version);
    }

    #[test]
    fn overrides_take_separate_or_inline_values() {
        let parsed = parse(&[
            "--uri=http://[::1]:1/v1",
            "--token-file",
            "/t",
            "--timeout-ms=250",
        ]);
        let expected = Overrides {
            uri: Some("http://[::1]:1/v1".into()),
            token_file: Some("/t".into()),
            timeout: Some(Duration::from_millis(250)),
        };
        assert_eq!(parsed.unwrap(), Invocation::Fetch(expected));
    }

    #[test]
    fn bad_command_lines_are_refused() {
        assert_eq!(parse(&["extra"]), Err(UsageError::Unknown("extra".into())));
        assert_eq!(parse(&["--uri"]), Err(UsageError::MissingValue("--uri")));
        assert_eq!(parse(&["--uri="]), Err(UsageError::MissingValue("--uri")));
        assert_eq!(
            parse(&["--uri", "a", "--uri", "b"]),
            Err(UsageError::Repeated("--uri"))
        );
        for bad in ["0", "-1", "+5", "1.5", "soon", "99999999999999999999"] {
            assert_eq!(
                parse(&["--timeout-ms", bad]),
                Err(UsageError::BadTimeout(bad.into()))
            );
        }
    }
}
