//! The binary without a usable configuration: it fails before asking any
//! agent, with exit status 2 and one line on stderr. Also `--help` and
//! `--version`.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;

const TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
const URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";

/// An agent that must not be asked: any request it gets fails the test.
fn untouched_agent() -> FakeAgent {
    FakeAgent::start(vec![Act::Reply(ok_json(&agent_body()))])
}

fn assert_untouched(agent: &FakeAgent) {
    assert!(agent.requests().is_empty(), "{:?}", agent.requests());
}

#[test]
fn an_unset_token_file_variable_is_a_configuration_error() {
    let agent = untouched_agent();
    for env in [
        vec![(URI, agent.uri())],
        vec![(URI, agent.uri()), (TOKEN_FILE, String::new())],
    ] {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let ran = run(&[], &env);
        let line = ran.failure_line(2);
        assert!(
            line.starts_with("`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` is not set"),
            "{line}"
        );
    }
    assert_untouched(&agent);
}

#[test]
fn a_missing_token_file_is_named() {
    let agent = untouched_agent();
    let path = scratch("missing_token").join("absent");
    let ran = run(
        &[],
        &[(URI, &agent.uri()), (TOKEN_FILE, path.to_str().unwrap())],
    );
    let line = ran.failure_line(2);
    let expected = format!("cannot read the token file `{}`: ", path.display());
    assert!(line.starts_with(&expected), "{line}");
    assert_untouched(&agent);
}

#[test]
fn an_empty_token_file_is_refused() {
    let agent = untouched_agent();
    for (name, content) in [("empty_token", ""), ("blank_token", " \n\n")] {
        let path = token_file(name, content);
        let ran = run(
            &[],
            &[(URI, &agent.uri()), (TOKEN_FILE, path.to_str().unwrap())],
        );
        let expected = format!("the token file `{}` is empty", path.display());
        assert_eq!(ran.failure_line(2), expected);
    }
    assert_untouched(&agent);
}

#[test]
fn https_is_refused_with_the_reason() {
    let token = token_file("https", TOKEN);
    let ran = run(
        &[],
        &[
            (URI, "https://169.254.170.23/v1/credentials"),
            (TOKEN_FILE, token.to_str().unwrap()),
        ],
    );
    assert_eq!(
        ran.failure_line(2),
        "the agent URI `https://169.254.170.23/v1/credentials` uses https, but only http is \
         supported: the EKS Pod Identity agent speaks plain http"
    );
}

#[test]
fn a_malformed_uri_is_refused() {
    let token = token_file("malformed_uri", TOKEN);
    for (uri, expected) in [
        ("169.254.170.23/v1/credentials", "is not an http URI"),
        (
            "http://[fd00:ec2::23/v1/credentials",
            "is not an IPv6 address",
        ),
        ("http://127.0.0.1:99999/v1/credentials", "port"),
    ] {
        let ran = run(&[], &[(URI, uri), (TOKEN_FILE, token.to_str().unwrap())]);
        let line = ran.failure_line(2);
        assert!(
            line.starts_with(&format!("the agent URI `{uri}`")),
            "{line}"
        );
        assert!(line.contains(expected), "{line}");
    }
}

#[test]
fn an_unknown_argument_is_a_usage_error() {
    let ran = run(&["--region", "eu-west-1"], &[]);
    assert_eq!(
        ran.failure_line(2),
        "unknown argument `--region` (see --help)"
    );
}

#[test]
fn help_and_version_print_on_stdout() {
    let help = run(&["--help"], &[]);
    assert_eq!((help.code, help.stderr.as_str()), (Some(0), ""));
    assert!(
        help.stdout
            .starts_with("eks-credential-process: print AWS credentials")
    );
    assert!(
        help.stdout
            .contains("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    );

    let version = run(&["--version"], &[]);
    assert_eq!((version.code, version.stderr.as_str()), (Some(0), ""));
    assert_eq!(
        version.stdout,
        format!("eks-credential-process {}\n", env!("CARGO_PKG_VERSION"))
    );
}
