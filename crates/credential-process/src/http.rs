//! A minimal HTTP/1.1 client for one `GET` to the agent.
//!
//! The request is `GET <target> HTTP/1.1` with `Host`, `Authorization` (the
//! token as given), `Accept: application/json`, a `User-Agent` and
//! `Connection: close`. The response is read up to [`MAX_RESPONSE_BYTES`]
//! (status line, headers and body together) and its body is delimited as RFC
//! 9112 says: `Transfer-Encoding: chunked` first, then `Content-Length`, then
//! the end of the connection. Interim `1xx` responses are skipped. Both the
//! Go `net/http` server of the real agent and the twin's hyper server are
//! read this way; nothing else of HTTP (redirects, compression, keep-alive)
//! is implemented, because the agent uses none of it.
//!
//! Each attempt has a connect timeout and a read budget: the whole response
//! must arrive within the budget, so a server that sends a byte at a time
//! cannot hold the process forever.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::token::Token;
use crate::uri::{AgentHost, AgentUri};

/// The most a response may hold, headers included.
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// How long one attempt may take to connect, and then to get the whole response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub response: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(2),
            response: Duration::from_secs(5),
        }
    }
}

/// What the agent answered: a status and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why one `GET` got no complete response.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot resolve `{host}`: {source}")]
    Resolve { host: String, source: io::Error },
    #[error("`{host}` resolves to no address")]
    NoAddress { host: String },
    #[error("cannot connect: {0}")]
    Connect(io::Error),
    #[error("no complete response within {0:?}")]
    TimedOut(Duration),
    #[error("the connection failed: {0}")]
    Io(io::Error),
    #[error("the connection closed before the response was complete")]
    Truncated,
    #[error("the response is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("the response is not HTTP/1.x: {0}")]
    Malformed(&'static str),
    #[error("the response uses transfer coding `{0}`, which is not supported")]
    UnsupportedCoding(String),
}

impl HttpError {
    /// Whether another attempt may fare better: the network failed, not the protocol.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            HttpError::Resolve { .. }
                | HttpError::Connect(_)
                | HttpError::TimedOut(_)
                | HttpError::Io(_)
                | HttpError::Truncated
        )
    }
}

/// Sends one `GET` to the agent and reads its response.
pub fn get(uri: &AgentUri, token: &Token, timeouts: Timeouts) -> Result<AgentResponse, HttpError> {
    let stream = connect(uri, timeouts.connect)?;
    let deadline = Instant::now() + timeouts.response;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nAccept: application/json\r\n\
         User-Agent: eks-credential-process/{}\r\nConnection: close\r\n\r\n",
        uri.target,
        uri.host_header(),
        token.header_value(),
        env!("CARGO_PKG_VERSION"),
    );
    let timed_out = |err: io::Error| match err.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            HttpError::TimedOut(timeouts.response)
        }
        _ => HttpError::Io(err),
    };
    stream
        .set_write_timeout(Some(timeouts.response))
        .map_err(HttpError::Io)?;
    (&stream).write_all(request.as_bytes()).map_err(timed_out)?;
    read_response(DeadlineReader { stream, deadline }).map_err(|err| match err {
        HttpError::Io(io) => timed_out(io),
        other => other,
    })
}

fn connect(uri: &AgentUri, timeout: Duration) -> Result<TcpStream, HttpError> {
    let addresses: Vec<SocketAddr> = match &uri.host {
        AgentHost::Ip(ip) => vec![SocketAddr::new(*ip, uri.port())],
        AgentHost::Name(name) => (name.as_str(), uri.port())
            .to_socket_addrs()
            .map_err(|source| HttpError::Resolve {
                host: name.clone(),
                source,
            })?
            .collect(),
    };
    let mut last_error = None;
    for address in &addresses {
        match TcpStream::connect_timeout(address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(err) => last_error = Some(err),
        }
    }
    Err(match last_error {
        Some(err) => HttpError::Connect(err),
        None => HttpError::NoAddress {
            host: uri.host.to_string(),
        },
    })
}

/// Reads from a socket until a fixed instant, then fails with `TimedOut`.
struct DeadlineReader {
    stream: TcpStream,
    deadline: Instant,
}

impl Read for DeadlineReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(remaining))?;
        self.stream.read(buf)
    }
}

/// Reads one HTTP/1.x response from `source`, which holds nothing else.
pub fn read_response(source: impl Read) -> Result<AgentResponse, HttpError> {
    let mut reader = LimitedReader::new(source);
    loop {
        let status = read_status_line(&mut reader)?;
        let head = read_headers(&mut reader)?;
        if (100..200).contains(&status) {
            continue;
        }
        let body = match head.framing()? {
            Framing::Chunked => read_chunked(&mut reader)?,
            Framing::Length(length) => reader.read_exact_vec(length)?,
            Framing::UntilClose => reader.read_to_close()?,
        };
        return Ok(AgentResponse { status, body });
    }
}

/// A buffered reader that refuses to read past [`MAX_RESPONSE_BYTES`].
struct LimitedReader<R> {
    inner: BufReader<io::Take<R>>,
}

impl<R: Read> LimitedReader<R> {
    fn new(source: R) -> Self {
        // One byte over the limit tells "exactly at the limit" from "over it".
        LimitedReader {
            inner: BufReader::new(source.take(MAX_RESPONSE_BYTES + 1)),
        }
    }

    /// Whether more than the limit came in: the byte past it was read.
    fn over_limit(&self) -> bool {
        self.inner.get_ref().limit() == 0
    }

    /// The end of input: the peer closed, or the limit was reached.
    fn end_error(&self) -> HttpError {
        if self.over_limit() {
            HttpError::TooLarge
        } else {
            HttpError::Truncated
        }
    }

    /// One line without its `\r\n` (or bare `\n`).
    fn read_line(&mut self) -> Result<Vec<u8>, HttpError> {
        let mut line = Vec::new();
        self.inner
            .read_until(b'\n', &mut line)
            .map_err(HttpError::Io)?;
        if line.last() != Some(&b'\n') {
            return Err(self.end_error());
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(line)
    }

    fn read_exact_vec(&mut self, length: u64) -> Result<Vec<u8>, HttpError> {
        if length > MAX_RESPONSE_BYTES {
            return Err(HttpError::TooLarge);
        }
        let mut body = Vec::new();
        (&mut self.inner)
            .take(length)
            .read_to_end(&mut body)
            .map_err(HttpError::Io)?;
        if (body.len() as u64) < length {
            return Err(self.end_error());
        }
        Ok(body)
    }

    fn read_to_close(&mut self) -> Result<Vec<u8>, HttpError> {
        let mut body = Vec::new();
        self.inner.read_to_end(&mut body).map_err(HttpError::Io)?;
        if self.over_limit() {
            return Err(HttpError::TooLarge);
        }
        Ok(body)
    }
}

fn read_status_line<R: Read>(reader: &mut LimitedReader<R>) -> Result<u16, HttpError> {
    let line = reader.read_line()?;
    let line = std::str::from_utf8(&line).map_err(|_| HttpError::Malformed("status line"))?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Err(HttpError::Malformed("status line"));
    }
    let code = parts.next().unwrap_or_default();
    if code.len() != 3 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(HttpError::Malformed("status code"));
    }
    code.parse()
        .map_err(|_| HttpError::Malformed("status code"))
}

/// The headers that decide where the body ends.
#[derive(Debug, Default)]
struct Head {
    transfer_encoding: Vec<String>,
    content_length: Option<u64>,
}

enum Framing {
    Chunked,
    Length(u64),
    UntilClose,
}

impl Head {
    fn framing(&self) -> Result<Framing, HttpError> {
        match self.transfer_encoding.last().map(String::as_str) {
            Some("chunked") => Ok(Framing::Chunked),
            Some(other) => Err(HttpError::UnsupportedCoding(other.to_owned())),
            None => Ok(self
                .content_length
                .map_or(Framing::UntilClose, Framing::Length)),
        }
    }
}

fn read_headers<R: Read>(reader: &mut LimitedReader<R>) -> Result<Head, HttpError> {
    let mut head = Head::default();
    loop {
        let line = reader.read_line()?;
        if line.is_empty() {
            return Ok(head);
        }
        let line = String::from_utf8_lossy(&line);
        let (name, value) = line
            .split_once(':')
            .ok_or(HttpError::Malformed("header line"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            let codings = value.split(',').map(|c| c.trim().to_ascii_lowercase());
            head.transfer_encoding
                .extend(codings.filter(|c| !c.is_empty()));
        } else if name.eq_ignore_ascii_case("content-length") {
            let length = parse_decimal(value).ok_or(HttpError::Malformed("Content-Length"))?;
            if head.content_length.is_some_and(|earlier| earlier != length) {
                return Err(HttpError::Malformed("Content-Length given twice"));
            }
            head.content_length = Some(length);
        }
    }
}

fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn read_chunked<R: Read>(reader: &mut LimitedReader<R>) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    loop {
        let line = reader.read_line()?;
        let line = String::from_utf8_lossy(&line);
        let size = line.split(';').next().unwrap_or_default().trim();
        if size.is_empty() || !size.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(HttpError::Malformed("chunk size"));
        }
        let size = u64::from_str_radix(size, 16).map_err(|_| HttpError::TooLarge)?;
        if size == 0 {
            // Trailer fields, up to the empty line that ends the message.
            while !reader.read_line()?.is_empty() {}
            return Ok(body);
        }
        if size > MAX_RESPONSE_BYTES.saturating_sub(body.len() as u64) {
            return Err(HttpError::TooLarge);
        }
        body.extend(reader.read_exact_vec(size)?);
        if !reader.read_line()?.is_empty() {
            return Err(HttpError::Malformed("chunk not followed by CRLF"));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn read(raw: &[u8]) -> Result<AgentResponse, HttpError> {
        read_response(raw)
    }

    #[test]
    fn content_length_delimits_the_body() {
        let reply = read(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello and more").unwrap();
        assert_eq!(
            reply,
            AgentResponse {
                status: 200,
                body: b"hello".to_vec()
            }
        );
    }

    #[test]
    fn chunked_bodies_are_joined_with_extensions_and_trailers_skipped() {
        let raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n\
                    3;name=value\r\n{\"a\r\nB\r\n\":\"bcdefg\"}\r\n0\r\nX-Trailer: 1\r\n\r\n";
        let reply = read(raw).unwrap();
        assert_eq!(reply.body, b"{\"a\":\"bcdefg\"}");
    }

    #[test]
    fn chunked_wins_over_content_length() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n\
                    2\r\nok\r\n0\r\n\r\n";
        assert_eq!(read(raw).unwrap().body, b"ok");
    }

    #[test]
    fn without_framing_the_body_runs_to_the_close() {
        let reply = read(b"HTTP/1.0 500 Internal Server Error\nServer: x\n\nboom\n").unwrap();
        assert_eq!(
            reply,
            AgentResponse {
                status: 500,
                body: b"boom\n".to_vec()
            }
        );
    }

    #[test]
    fn interim_responses_are_skipped() {
        let raw =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            read(raw).unwrap(),
            AgentResponse {
                status: 204,
                body: Vec::new()
            }
        );
    }

    #[test]
    fn a_short_body_is_truncated_and_transient() {
        let err = read(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").unwrap_err();
        assert!(matches!(err, HttpError::Truncated), "{err}");
        assert!(err.is_transient());
        let err =
            read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab").unwrap_err();
        assert!(matches!(err, HttpError::Truncated), "{err}");
        assert!(matches!(read(b"").unwrap_err(), HttpError::Truncated));
        assert!(matches!(
            read(b"HTTP/1.1 200 OK\r\n").unwrap_err(),
            HttpError::Truncated
        ));
    }

    #[test]
    fn responses_over_the_limit_are_refused() {
        let big = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_RESPONSE_BYTES + 1
        );
        assert!(matches!(
            read(big.as_bytes()).unwrap_err(),
            HttpError::TooLarge
        ));

        let mut until_close = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        until_close.resize(until_close.len() + MAX_RESPONSE_BYTES as usize, b'x');
        assert!(matches!(
            read(&until_close).unwrap_err(),
            HttpError::TooLarge
        ));

        let mut endless_header = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        endless_header.resize(endless_header.len() + MAX_RESPONSE_BYTES as usize, b'x');
        assert!(matches!(
            read(&endless_header).unwrap_err(),
            HttpError::TooLarge
        ));

        let huge_chunk =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n";
        assert!(matches!(read(huge_chunk).unwrap_err(), HttpError::TooLarge));
        // A size that would overflow the running total.
        let wrapping =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\nffffffffffffffff\r\n";
        assert!(matches!(read(wrapping).unwrap_err(), HttpError::TooLarge));
        let over = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n";
        assert!(matches!(read(over).unwrap_err(), HttpError::TooLarge));
        assert!(!HttpError::TooLarge.is_transient());
    }

    #[test]
    fn a_response_just_under_the_limit_is_read() {
        let head = b"HTTP/1.1 200 OK\r\n\r\n";
        let mut raw = head.to_vec();
        raw.resize(MAX_RESPONSE_BYTES as usize, b'x');
        assert_eq!(
            read(&raw).unwrap().body.len(),
            MAX_RESPONSE_BYTES as usize - head.len()
        );
    }

    #[test]
    fn malformed_responses_are_not_transient() {
        let cases: [&[u8]; 8] = [
            b"SSH-2.0-OpenSSH\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n",
        ];
        for raw in cases {
            let err = read(raw).unwrap_err();
            assert!(
                matches!(err, HttpError::Malformed(_)),
                "{}: {err}",
                raw.escape_ascii()
            );
            assert!(!err.is_transient());
        }
        let gzip = read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").unwrap_err();
        assert!(matches!(gzip, HttpError::UnsupportedCoding(ref c) if c == "gzip"));
    }
}
