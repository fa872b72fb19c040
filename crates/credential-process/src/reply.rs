//! The agent's answer, and the `credential_process` output made from it.
//!
//! On success the agent answers 200 with
//! `{"AccessKeyId","SecretAccessKey","Token","AccountId","Expiration"}`, the
//! expiration in RFC 3339 (with nanoseconds). The AWS config's
//! `credential_process` contract wants
//! `{"Version":1,"AccessKeyId","SecretAccessKey","SessionToken","Expiration"}`
//! on stdout; the expiration is passed through as the agent wrote it, once it
//! is checked to have RFC 3339's shape. `AccountId` is not required and not
//! passed on.
//!
//! On failure the agent answers with EKS Auth's status and a plain-text
//! message; [`agent_message`] makes that message fit on one line of stderr.
//!
//! Nothing the agent sent in a credential field reaches an error message:
//! errors name the field, never its value.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::token::{REDACTED, Token};

/// The longest agent message shown, in characters.
pub const MAX_MESSAGE_CHARS: usize = 200;

/// A 200 reply that does not hold usable credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("the agent's reply is not JSON (line {line}, column {column})")]
    NotJson { line: usize, column: usize },
    #[error("the agent's reply is not a JSON object")]
    NotAnObject,
    #[error("the agent's reply has no `{0}`")]
    Missing(&'static str),
    #[error("the agent's reply has a `{0}` that is not a string")]
    NotAString(&'static str),
    #[error("the agent's reply has an empty `{0}`")]
    Empty(&'static str),
    #[error("the agent's reply has an `Expiration` that is not an RFC 3339 time: `{0}`")]
    BadExpiration(String),
}

/// Temporary credentials from the agent. `Debug` hides the secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: String,
}

impl fmt::Debug for AgentCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &REDACTED)
            .field("session_token", &REDACTED)
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// What `credential_process` prints, in the order the AWS guide shows.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessOutput<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: &'a str,
}

impl AgentCredentials {
    /// Reads the body of the agent's 200 reply.
    pub fn from_reply(body: &[u8]) -> Result<AgentCredentials, ReplyError> {
        let value: Value = serde_json::from_slice(body).map_err(|err| ReplyError::NotJson {
            line: err.line(),
            column: err.column(),
        })?;
        let object = value.as_object().ok_or(ReplyError::NotAnObject)?;
        let field = |name: &'static str| -> Result<String, ReplyError> {
            match object.get(name) {
                None | Some(Value::Null) => Err(ReplyError::Missing(name)),
                Some(Value::String(text)) if text.trim().is_empty() => Err(ReplyError::Empty(name)),
                Some(Value::String(text)) => Ok(text.clone()),
                Some(_) => Err(ReplyError::NotAString(name)),
            }
        };
        let credentials = AgentCredentials {
            access_key_id: field("AccessKeyId")?,
            secret_access_key: field("SecretAccessKey")?,
            session_token: field("Token")?,
            expiration: field("Expiration")?,
        };
        if !is_rfc3339(&credentials.expiration) {
            let shown: String = credentials.expiration.chars().take(64).collect();
            return Err(ReplyError::BadExpiration(printable(&shown)));
        }
        Ok(credentials)
    }

    /// The `credential_process` JSON, on one line, without a line end.
    pub fn to_process_output(&self) -> Result<String, serde_json::Error> {
        let output = ProcessOutput {
            version: 1,
            access_key_id: &self.access_key_id,
            secret_access_key: &self.secret_access_key,
            session_token: &self.session_token,
            expiration: &self.expiration,
        };
        serde_json::to_string(&output)
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, by shape and ranges.
fn is_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>, min: u32, max: u32| -> bool {
        let Some(digits) = bytes.get(range) else {
            return false;
        };
        let value = digits.iter().try_fold(0_u32, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        });
        value.is_some_and(|n| (min..=max).contains(&n))
    };
    let at = |index: usize, allowed: &[u8]| bytes.get(index).is_some_and(|b| allowed.contains(b));
    let date_time = number(0..4, 0, 9999)
        && at(4, b"-")
        && number(5..7, 1, 12)
        && at(7, b"-")
        && number(8..10, 1, 31)
        && at(10, b"Tt ")
        && number(11..13, 0, 23)
        && at(13, b":")
        && number(14..16, 0, 59)
        && at(16, b":")
        && number(17..19, 0, 60);
    if !date_time {
        return false;
    }
    let mut rest = bytes.get(19..).unwrap_or_default();
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        rest = fraction.get(digits..).unwrap_or_default();
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) && *h1 <= b'2' && *m1 <= b'5'
        }
        _ => false,
    }
}

/// The agent's error text on one line: the token redacted, control characters
/// turned to spaces, runs of spaces joined, cut at [`MAX_MESSAGE_CHARS`].
pub fn agent_message(body: &[u8], token: &Token) -> String {
    let text = token.redact(&String::from_utf8_lossy(body));
    let text = printable(&text);
    let mut words = text.split_whitespace();
    let mut line = words.next().unwrap_or_default().to_owned();
    for word in words {
        line.push(' ');
        line.push_str(word);
    }
    if line.chars().count() > MAX_MESSAGE_CHARS {
        line = line.chars().take(MAX_MESSAGE_CHARS).collect();
        line.push('…');
    }
    line
}

fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::path::Path;

    const REPLY: &str = r#"{"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"secret/key+1",
        "Token":"session-token","AccountId":"111122223333",
        "Expiration":"2025-03-01T12:34:56.123456789Z"}"#;

    #[test]
    fn a_full_reply_becomes_the_process_output() {
        let credentials = AgentCredentials::from_reply(REPLY.as_bytes()).unwrap();
        assert_eq!(
            credentials.to_process_output().unwrap(),
            r#"{"Version":1,"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"secret/key+1","SessionToken":"session-token","Expiration":"2025-03-01T12:34:56.123456789Z"}"#
        );
    }

    #[test]
    fn account_id_and_unknown_fields_are_optional() {
        let reply = r#"{"AccessKeyId":"A","SecretAccessKey":"S","Token":"T",
                        "Expiration":"2025-03-01T12:34:56+02:00","Extra":[1]}"#;
        assert!(AgentCredentials::from_reply(reply.as_bytes()).is_ok());
    }

    #[test]
    fn missing_or_wrong_fields_are_named_without_their_values() {
        let cases = [
            (
                r#"{"SecretAccessKey":"hush","Token":"t","Expiration":"x"}"#,
                "no `AccessKeyId`",
            ),
            (
                r#"{"AccessKeyId":"A","SecretAccessKey":"hush","Expiration":"x"}"#,
                "no `Token`",
            ),
            (
                r#"{"AccessKeyId":"A","SecretAccessKey":9,"Token":"hush"}"#,
                "`SecretAccessKey`",
            ),
            (
                r#"{"AccessKeyId":"A","SecretAccessKey":" ","Token":"hush"}"#,
                "empty",
            ),
            (
                r#"{"AccessKeyId":"A","SecretAccessKey":"hush","Token":null}"#,
                "no `Token`",
            ),
            (r#"["hush"]"#, "not a JSON object"),
            (r#"{"AccessKeyId":"hush""#, "not JSON"),
            ("<html>hush</html>", "not JSON"),
        ];
        for (body, expected) in cases {
            let message = AgentCredentials::from_reply(body.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(message.contains(expected), "{body}: {message}");
            assert!(!message.contains("hush"), "{body}: {message}");
        }
    }

    #[test]
    fn expiration_must_look_like_rfc3339() {
        let good = [
            "2025-03-01T12:34:56Z",
            "2025-03-01t12:34:56.1z",
            "2025-12-31T23:59:60-08:00",
        ];
        for text in good {
            assert!(is_rfc3339(text), "{text}");
        }
        let bad = [
            "",
            "1740832496",
            "2025-03-01",
            "2025-03-01T12:34:56",
            "2025-13-01T12:34:56Z",
            "2025-00-01T12:34:56Z",
            "2025-03-01T24:00:00Z",
            "2025-03-01T12:34:56.Z",
            "2025-03-01T12:34:56+0200",
            "2025-03-01T12:34:56Z ",
            "２０２５-03-01T12:34:56Z",
        ];
        for text in bad {
            assert!(!is_rfc3339(text), "{text}");
        }
        let reply = r#"{"AccessKeyId":"A","SecretAccessKey":"S","Token":"T","Expiration":"soon"}"#;
        let err = AgentCredentials::from_reply(reply.as_bytes()).unwrap_err();
        assert_eq!(err, ReplyError::BadExpiration("soon".into()));
    }

    #[test]
    fn debug_hides_the_secrets() {
        let credentials = AgentCredentials::from_reply(REPLY.as_bytes()).unwrap();
        let debug = format!("{credentials:?}");
        assert!(
            !debug.contains("secret/key") && !debug.contains("session-token"),
            "{debug}"
        );
    }

    #[test]
    fn agent_messages_fit_one_line_without_the_token() {
        let token = Token::from_file_content(b"tok3n", Path::new("/t")).unwrap();
        let message = agent_message(b"  invalid\r\ntoken:\x1b[31m tok3n \t\n", &token);
        assert_eq!(message, "invalid token: [31m ** redacted **");
        let long = "x".repeat(1000);
        let cut = agent_message(long.as_bytes(), &token);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(agent_message(b"\xff\xfe", &token), "\u{fffd}\u{fffd}");
    }
}
