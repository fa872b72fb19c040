//! One credential fetch from the agent, with bounded retries.
//!
//! An attempt is retried when the network failed (no connection, a reset, a
//! timeout, a response cut short) or when the agent answered 429 (its rate
//! limit) or 5xx (EKS Auth or the agent itself failing). Any other status is
//! an answer about this pod (a bad or expired token, no association) and is
//! final at once, as is a response that is not HTTP or a 200 whose body holds
//! no credentials. By default there are 3 attempts, 100 ms apart and then
//! 200 ms apart; each waits at most the connect timeout plus the response
//! budget of [`Timeouts`], so the whole run is bounded.

use std::time::Duration;

use crate::http::{self, AgentResponse, HttpError, Timeouts};
use crate::reply::{AgentCredentials, ReplyError, agent_message};
use crate::token::Token;
use crate::uri::AgentUri;

/// How many attempts, and how long to wait between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    /// The wait after the first failed attempt; each later wait doubles.
    pub first_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(100),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (counted from 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(16);
        self.first_backoff.saturating_mul(1 << doublings)
    }
}

/// Why no credentials came from the agent.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the agent at `{uri}` did not answer ({attempts} attempts): {source}")]
    Unreachable {
        uri: String,
        attempts: u32,
        source: HttpError,
    },
    #[error("the agent at `{uri}` sent a response that cannot be read: {source}")]
    BadResponse { uri: String, source: HttpError },
    #[error("the agent at `{uri}` answered HTTP {status}{}: {}", attempts_note(*.attempts),
        if message.is_empty() { "(no message)" } else { message })]
    Refused {
        uri: String,
        status: u16,
        message: String,
        attempts: u32,
    },
    #[error(transparent)]
    Reply(#[from] ReplyError),
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" ({attempts} attempts)")
    } else {
        String::new()
    }
}

/// Fetches credentials over the network, sleeping the thread between attempts.
pub fn fetch(
    uri: &AgentUri,
    token: &Token,
    timeouts: Timeouts,
    policy: RetryPolicy,
) -> Result<AgentCredentials, FetchError> {
    fetch_with(
        uri,
        token,
        policy,
        || http::get(uri, token, timeouts),
        std::thread::sleep,
    )
}

/// The retry loop, with the request and the sleep given, so tests need no
/// network and no clock.
pub fn fetch_with(
    uri: &AgentUri,
    token: &Token,
    policy: RetryPolicy,
    mut get: impl FnMut() -> Result<AgentResponse, HttpError>,
    mut sleep: impl FnMut(Duration),
) -> Result<AgentCredentials, FetchError> {
    let attempts = policy.attempts.max(1);
    let mut attempt = 1;
    loop {
        let last = attempt >= attempts;
        match get() {
            Ok(AgentResponse { status: 200, body }) => {
                return Ok(AgentCredentials::from_reply(&body)?);
            }
            Ok(AgentResponse { status, body }) if last || !retryable_status(status) => {
                let message = agent_message(&body, token);
                return Err(FetchError::Refused {
                    uri: uri.to_string(),
                    status,
                    message,
                    attempts: attempt,
                });
            }
            Err(source) if !source.is_transient() => {
                return Err(FetchError::BadResponse {
                    uri: uri.to_string(),
                    source,
                });
            }
            Err(source) if last => {
                return Err(FetchError::Unreachable {
                    uri: uri.to_string(),
                    attempts: attempt,
                    source,
                });
            }
            Ok(_) | Err(_) => sleep(policy.backoff(attempt)),
        }
        attempt += 1;
    }
}

fn retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::collections::VecDeque;
    use std::io;
    use std::path::Path;

    use super::*;

    const GOOD: &[u8] = br#"{"AccessKeyId":"A","SecretAccessKey":"S","Token":"T",
        "Expiration":"2025-03-01T12:34:56Z"}"#;

    fn reply(status: u16, body: &[u8]) -> Result<AgentResponse, HttpError> {
        Ok(AgentResponse {
            status,
            body: body.to_vec(),
        })
    }

    fn refused() -> Result<AgentResponse, HttpError> {
        Err(HttpError::Connect(io::ErrorKind::ConnectionRefused.into()))
    }

    /// Runs the loop over scripted attempts; returns the result, the attempts
    /// made and the waits asked for.
    fn run(
        script: Vec<Result<AgentResponse, HttpError>>,
    ) -> (Result<AgentCredentials, FetchError>, usize, Vec<Duration>) {
        let uri = AgentUri::parse("http://127.0.0.1:9/v1/credentials").unwrap();
        let token = Token::from_file_content(b"the-token", Path::new("/t")).unwrap();
        let mut script = VecDeque::from(script);
        let mut calls = 0;
        let mut waits = Vec::new();
        let get = || {
            calls += 1;
            script
                .pop_front()
                .unwrap_or_else(|| panic!("more attempts than scripted"))
        };
        let result = fetch_with(&uri, &token, RetryPolicy::default(), get, |d| waits.push(d));
        (result, calls, waits)
    }

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().copied().map(Duration::from_millis).collect()
    }

    #[test]
    fn success_at_once_needs_no_wait() {
        let (result, calls, waits) = run(vec![reply(200, GOOD)]);
        assert_eq!(result.unwrap().access_key_id, "A");
        assert_eq!((calls, waits), (1, vec![]));
    }

    #[test]
    fn network_failures_429_and_5xx_are_retried_with_doubling_waits() {
        let (result, calls, waits) = run(vec![refused(), reply(503, b"busy"), reply(200, GOOD)]);
        assert!(result.is_ok());
        assert_eq!((calls, waits), (3, ms(&[100, 200])));
        let (result, calls, _) = run(vec![reply(429, b"slow down"), reply(200, GOOD)]);
        assert!(result.is_ok());
        assert_eq!(calls, 2);
        let (result, calls, _) = run(vec![Err(HttpError::Truncated), reply(200, GOOD)]);
        assert!(result.is_ok());
        assert_eq!(calls, 2);
    }

    #[test]
    fn the_last_failure_is_reported_after_three_attempts() {
        let (result, calls, waits) = run(vec![refused(), refused(), refused()]);
        let err = result.unwrap_err();
        assert!(
            matches!(err, FetchError::Unreachable { attempts: 3, .. }),
            "{err}"
        );
        assert!(err.to_string().starts_with(
            "the agent at `http://127.0.0.1:9/v1/credentials` did not answer (3 attempts)"
        ));
        assert_eq!((calls, waits), (3, ms(&[100, 200])));

        let (result, _, _) = run(vec![reply(500, b"a"), reply(502, b"b"), reply(503, b"c")]);
        assert_eq!(
            result.unwrap_err().to_string(),
            "the agent at `http://127.0.0.1:9/v1/credentials` answered HTTP 503 (3 attempts): c"
        );
    }

    #[test]
    fn client_errors_are_final_at_once() {
        for status in [400, 401, 403, 404] {
            let (result, calls, waits) =
                run(vec![reply(status, b"invalid token"), reply(200, GOOD)]);
            let err = result.unwrap_err();
            assert!(
                matches!(err, FetchError::Refused { status: s, attempts: 1, .. } if s == status)
            );
            assert!(
                err.to_string()
                    .ends_with(&format!("HTTP {status}: invalid token")),
                "{err}"
            );
            assert_eq!((calls, waits.len()), (1, 0));
        }
        let (result, _, _) = run(vec![reply(404, b"")]);
        assert!(
            result
                .unwrap_err()
                .to_string()
                .ends_with("HTTP 404: (no message)")
        );
    }

    #[test]
    fn bad_replies_and_bad_http_are_final_at_once() {
        let (result, calls, _) = run(vec![reply(200, b"{not json"), reply(200, GOOD)]);
        assert!(matches!(
            result.unwrap_err(),
            FetchError::Reply(ReplyError::NotJson { .. })
        ));
        assert_eq!(calls, 1);
        let (result, calls, _) = run(vec![Err(HttpError::TooLarge), reply(200, GOOD)]);
        assert!(matches!(
            result.unwrap_err(),
            FetchError::BadResponse { .. }
        ));
        assert_eq!(calls, 1);
    }

    #[test]
    fn the_token_is_redacted_from_agent_messages() {
        let (result, _, _) = run(vec![reply(401, b"token the-token is expired")]);
        let message = result.unwrap_err().to_string();
        assert!(
            message.ends_with("token ** redacted ** is expired"),
            "{message}"
        );
    }

    #[test]
    fn backoff_doubles_without_overflow() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(1), Duration::from_millis(100));
        assert_eq!(policy.backoff(3), Duration::from_millis(400));
        assert!(policy.backoff(u32::MAX) >= policy.backoff(17));
    }
}
