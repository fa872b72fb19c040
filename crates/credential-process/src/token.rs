//! The pod's service account token, read from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
//!
//! The EKS Pod Identity webhook mounts the projected token at
//! `/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token`
//! and the kubelet rewrites it as it rotates, so the file is read afresh on
//! every run. The agent takes the file's content, unchanged, as the
//! `Authorization` header; surrounding whitespace (a trailing newline left by
//! an editor or `echo`) is trimmed, since a header value cannot carry it.
//!
//! The token is a secret: it never appears in `Debug` output nor in an error,
//! and [`Token::redact`] removes it from text that came back from the agent.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Stands in for a secret in anything printed.
pub const REDACTED: &str = "** redacted **";

/// A token file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the token file `{}`: {source}", path.display())]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("the token file `{}` is empty", path.display())]
    Empty { path: PathBuf },
    #[error(
        "the token file `{}` holds characters that cannot be sent in an HTTP header \
         (control characters or non-ASCII bytes inside the token)",
        path.display()
    )]
    NotAHeaderValue { path: PathBuf },
    #[error("the token file `{}` is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error(
        "the token file `{}` is larger than {MAX_TOKEN_BYTES} bytes, more than a service \
         account token",
        path.display()
    )]
    TooLarge { path: PathBuf },
}

/// The most a token file may hold. A projected service account token is
/// about a kilobyte; EKS Auth refuses tokens over 64 KiB.
pub const MAX_TOKEN_BYTES: u64 = 65_536;

/// A checked token: non-empty, trimmed, printable ASCII.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Reads a regular file of at most [`MAX_TOKEN_BYTES`]: a device or a
    /// pipe named by mistake would never end, or never block.
    pub fn read(path: &Path) -> Result<Token, TokenError> {
        use std::io::Read;
        let unreadable = |source| TokenError::Unreadable {
            path: path.to_owned(),
            source,
        };
        // `metadata` follows links, as the kubelet's `..data` links need;
        // opening a FIFO would block before any check could run.
        if !std::fs::metadata(path).map_err(unreadable)?.is_file() {
            return Err(TokenError::NotAFile {
                path: path.to_owned(),
            });
        }
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_TOKEN_BYTES + 1).read_to_end(&mut bytes))
            .map_err(unreadable)?;
        if bytes.len() as u64 > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge {
                path: path.to_owned(),
            });
        }
        Token::from_file_content(&bytes, path)
    }

    pub fn from_file_content(bytes: &[u8], path: &Path) -> Result<Token, TokenError> {
        let trimmed = bytes.trim_ascii();
        if trimmed.is_empty() {
            return Err(TokenError::Empty {
                path: path.to_owned(),
            });
        }
        // Visible ASCII and inner spaces or tabs: what a header value may hold
        // without any chance of ending the header early.
        let allowed = |b: &u8| b.is_ascii_graphic() || *b == b' ' || *b == b'\t';
        if !trimmed.iter().all(allowed) {
            return Err(TokenError::NotAHeaderValue {
                path: path.to_owned(),
            });
        }
        match std::str::from_utf8(trimmed) {
            Ok(text) => Ok(Token(text.to_owned())),
            Err(_) => Err(TokenError::NotAHeaderValue {
                path: path.to_owned(),
            }),
        }
    }

    /// The token as the `Authorization` header's value.
    pub fn header_value(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the token replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.0, REDACTED)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn token(bytes: &[u8]) -> Result<Token, TokenError> {
        Token::from_file_content(bytes, Path::new("/token"))
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        assert_eq!(token(b"  eyJ.a.b\r\n\n").unwrap().header_value(), "eyJ.a.b");
    }

    #[test]
    fn empty_and_blank_files_are_refused() {
        assert!(matches!(token(b""), Err(TokenError::Empty { .. })));
        assert!(matches!(token(b" \n\t\r\n"), Err(TokenError::Empty { .. })));
    }

    #[test]
    fn a_token_that_would_break_the_header_is_refused() {
        for bad in [
            &b"abc\r\nX-Injected: 1"[..],
            b"abc\0def",
            b"caf\xc3\xa9",
            b"\xff\xfe",
        ] {
            let err = token(bad).unwrap_err();
            assert!(matches!(err, TokenError::NotAHeaderValue { .. }), "{err}");
        }
    }

    #[test]
    fn only_a_regular_file_of_token_size_is_read() {
        for not_a_file in ["/dev/zero", "/"] {
            let err = Token::read(Path::new(not_a_file)).unwrap_err();
            assert!(matches!(err, TokenError::NotAFile { .. }), "{err}");
        }
        let dir = std::env::temp_dir().join(format!("token-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let large = dir.join("large");
        std::fs::write(&large, vec![b'a'; 65_537]).unwrap();
        let err = Token::read(&large).unwrap_err();
        assert!(matches!(err, TokenError::TooLarge { .. }), "{err}");
        let fits = dir.join("fits");
        std::fs::write(&fits, vec![b'a'; 65_536]).unwrap();
        assert_eq!(Token::read(&fits).unwrap().header_value().len(), 65_536);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_token_never_shows_in_debug_or_errors() {
        let secret = token(b"s3cr3t-token").unwrap();
        assert_eq!(format!("{secret:?}"), REDACTED);
        assert_eq!(
            secret.redact("denied: s3cr3t-token!"),
            "denied: ** redacted **!"
        );
        let err = token(b"s3cr3t\x01").unwrap_err().to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
    }
}
