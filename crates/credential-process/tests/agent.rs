//! The binary against a fake EKS Pod Identity agent on loopback: what it
//! prints, what it sends, when it retries and how it fails.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;

#[test]
fn prints_the_credentials_from_a_content_length_reply() {
    let agent = FakeAgent::start(vec![Act::Reply(ok_json(&agent_body()))]);
    let ran = run_against("content_length", &agent, &[]);
    assert_eq!(
        (ran.code, ran.stdout.as_str(), ran.stderr.as_str()),
        (Some(0), &*expected_output(), "")
    );

    let requests = agent.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert!(
        request.starts_with("GET /v1/credentials HTTP/1.1\r\n"),
        "{request}"
    );
    assert_eq!(
        header(request, "Host"),
        Some(agent.address.to_string().as_str())
    );
    // The token file ends in a newline; the header carries the token alone.
    assert_eq!(header(request, "Authorization"), Some(TOKEN));
}

#[test]
fn reads_a_chunked_reply_as_go_and_hyper_send_it() {
    let agent = FakeAgent::start(vec![Act::Reply(chunked("200 OK", &agent_body(), 3))]);
    let ran = run_against("chunked", &agent, &[]);
    assert_eq!(
        (ran.code, ran.stdout, ran.stderr),
        (Some(0), expected_output(), String::new())
    );
}

#[test]
fn does_not_wait_for_the_agent_to_close_a_framed_reply() {
    // If the body were read to the close, the attempt would time out and the
    // retry would find no agent.
    for (name, reply) in [
        ("keep_open_length", ok_json(&agent_body())),
        ("keep_open_chunked", chunked("200 OK", &agent_body(), 2)),
    ] {
        let agent = FakeAgent::start(vec![Act::ReplyAndKeepOpen(reply)]);
        let ran = run_against(name, &agent, &["--timeout-ms", "10000"]);
        assert_eq!(
            (ran.code, ran.stdout, ran.stderr),
            (Some(0), expected_output(), String::new())
        );
        assert_eq!(agent.requests().len(), 1);
    }
}

#[test]
fn an_ipv6_agent_address_works() {
    let agent = FakeAgent::start_on("[::1]:0", vec![Act::Reply(ok_json(&agent_body()))]);
    let uri = format!("http://[::1]:{}/v1/credentials", agent.address.port());
    let token = token_file("ipv6", TOKEN);
    let ran = run(
        &["--uri", &uri],
        &[(
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            token.to_str().unwrap(),
        )],
    );
    assert_eq!(
        (ran.code, ran.stdout, ran.stderr),
        (Some(0), expected_output(), String::new())
    );
    let requests = agent.requests();
    let expected_host = format!("[::1]:{}", agent.address.port());
    assert_eq!(header(&requests[0], "Host"), Some(expected_host.as_str()));
}

#[test]
fn a_500_or_a_429_is_retried() {
    for (name, first) in [
        (
            "retry_500",
            plain("500 Internal Server Error", "internal error"),
        ),
        ("retry_429", plain("429 Too Many Requests", "rate exceeded")),
    ] {
        let agent = FakeAgent::start(vec![Act::Reply(first), Act::Reply(ok_json(&agent_body()))]);
        let ran = run_against(name, &agent, &[]);
        assert_eq!(
            (ran.code, ran.stdout, ran.stderr),
            (Some(0), expected_output(), String::new())
        );
        assert_eq!(agent.requests().len(), 2);
    }
}

#[test]
fn gives_up_after_three_server_errors() {
    let busy = || Act::Reply(plain("503 Service Unavailable", "EKS Auth unavailable"));
    // A fourth answer would succeed: the test fails if the binary tries again.
    let acts = vec![busy(), busy(), busy(), Act::Reply(ok_json(&agent_body()))];
    let agent = FakeAgent::start(acts);
    let ran = run_against("gives_up", &agent, &[]);
    let expected = format!(
        "the agent at `{}` answered HTTP 503 (3 attempts): EKS Auth unavailable",
        agent.uri()
    );
    assert_eq!(ran.failure_line(1), expected);
    assert_eq!(agent.requests().len(), 3);
}

#[test]
fn a_400_is_final_without_a_retry() {
    let acts = vec![
        Act::Reply(plain("400 Bad Request", "invalid token\n")),
        Act::Reply(ok_json(&agent_body())),
    ];
    let agent = FakeAgent::start(acts);
    let ran = run_against("no_retry_400", &agent, &[]);
    let expected = format!(
        "the agent at `{}` answered HTTP 400: invalid token",
        agent.uri()
    );
    assert_eq!(ran.failure_line(1), expected);
    assert_eq!(agent.requests().len(), 1);
}

#[test]
fn the_agent_message_is_one_short_line_without_the_token() {
    let message = format!(
        "bad token `{TOKEN}`\r\n\x1b[31mexpired\x1b[0m\t{}",
        "x".repeat(5000)
    );
    let agent = FakeAgent::start(vec![Act::Reply(plain("401 Unauthorized", &message))]);
    let ran = run_against("hostile_message", &agent, &[]);
    let line = ran.failure_line(1);
    assert!(
        line.contains("HTTP 401: bad token `** redacted **` [31mexpired [0m xxx"),
        "{line}"
    );
    assert!(line.ends_with('…') && line.chars().count() < 400, "{line}");
}

#[test]
fn a_reply_that_is_not_json_fails() {
    let agent = FakeAgent::start(vec![Act::Reply(ok_json("<html>agent</html>"))]);
    let ran = run_against("not_json", &agent, &[]);
    assert_eq!(
        ran.failure_line(1),
        "the agent's reply is not JSON (line 1, column 1)"
    );
}

#[test]
fn a_reply_without_a_session_token_fails_without_showing_the_secret_key() {
    let body = format!(
        r#"{{"AccessKeyId":"{ACCESS_KEY_ID}","SecretAccessKey":"{SECRET_ACCESS_KEY}","Expiration":"{EXPIRATION}"}}"#
    );
    let agent = FakeAgent::start(vec![Act::Reply(ok_json(&body))]);
    let ran = run_against("missing_field", &agent, &[]);
    assert_eq!(ran.failure_line(1), "the agent's reply has no `Token`");
}

#[test]
fn an_oversized_reply_is_refused() {
    let body = format!(r#"{{"AccessKeyId":"{}"}}"#, "A".repeat(70 * 1024));
    let agent = FakeAgent::start(vec![
        Act::Reply(ok_json(&body)),
        Act::Reply(ok_json(&agent_body())),
    ]);
    let ran = run_against("oversized", &agent, &[]);
    let line = ran.failure_line(1);
    assert!(
        line.ends_with("the response is larger than 65536 bytes"),
        "{line}"
    );
    assert_eq!(agent.requests().len(), 1);
}

#[test]
fn a_closed_port_is_unreachable_after_three_attempts() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let uri = format!("http://127.0.0.1:{port}/v1/credentials");
    let token = token_file("closed_port", TOKEN);
    let ran = run(
        &[],
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str()),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token.to_str().unwrap(),
            ),
        ],
    );
    let line = ran.failure_line(1);
    let expected = format!("the agent at `{uri}` did not answer (3 attempts): cannot connect: ");
    assert!(line.starts_with(&expected), "{line}");
}

#[test]
fn a_silent_agent_times_out_after_three_attempts() {
    let agent = FakeAgent::start(vec![Act::Hang, Act::Hang, Act::Hang]);
    let ran = run_against("hang", &agent, &["--timeout-ms", "200"]);
    let expected = format!(
        "the agent at `{}` did not answer (3 attempts): no complete response within 200ms",
        agent.uri()
    );
    assert_eq!(ran.failure_line(1), expected);
    // Only three connections are accepted: fewer requests means fewer attempts.
    assert_eq!(agent.wait_for_requests(3).len(), 3);
}
