//! The agent's address: the `http://` URI in `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
//!
//! The EKS Pod Identity agent listens on `http://169.254.170.23/v1/credentials`
//! and `http://[fd00:ec2::23]/v1/credentials`, in plain http: `https` is refused
//! with its own error, so a user who tries it learns why. Accepted form:
//! `http://HOST[:PORT][/PATH][?QUERY]`, where HOST is a DNS name, an IPv4
//! address or a bracketed IPv6 address (no zone). A fragment is dropped, as a
//! browser would; user info (`user@host`) is refused, since this process sends
//! no credentials but the token.
//!
//! The token is a credential sent in clear: like the AWS SDKs' container
//! credential provider, only hosts on the machine or the link-local agent
//! addresses are accepted: a loopback address (`127.0.0.0/8`, `::1`),
//! `localhost`, the EKS agent's `169.254.170.23` and `fd00:ec2::23`, and
//! ECS's `169.254.170.2`. Any other host is refused before the token file
//! is read.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where the agent listens when `AWS_CONTAINER_CREDENTIALS_FULL_URI` is unset.
pub const DEFAULT_AGENT_URI: &str = "http://169.254.170.23/v1/credentials";

/// A URI that cannot address the agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error(
        "`{0}` uses https, but only http is supported: the EKS Pod Identity agent speaks plain http"
    )]
    Https(String),
    #[error("`{0}` is not an http URI (expected `http://HOST[:PORT]/PATH`)")]
    NotHttp(String),
    #[error("`{0}` has no host")]
    NoHost(String),
    /// Holds the URI without its user info, which may be a password.
    #[error("`{0}` has user info before the host, which is not supported")]
    UserInfo(String),
    #[error(
        "`{0}` is not on this machine nor an agent address: the token would travel in clear \
         to another host (allowed: loopback, `localhost`, 169.254.170.23, [fd00:ec2::23], \
         169.254.170.2)"
    )]
    NotLocal(String),
    #[error("`{0}` has a host that is neither a DNS name nor an IP address")]
    BadHost(String),
    #[error("`{0}` has a bracketed host that is not an IPv6 address")]
    BadIpv6(String),
    #[error("`{0}` has an IPv6 address without brackets (write `http://[ADDRESS]/PATH`)")]
    UnbracketedIpv6(String),
    #[error("`{0}` has a port that is not a number from 1 to 65535")]
    BadPort(String),
    #[error("`{0}` has spaces or control characters")]
    ControlCharacters(String),
}

/// The host part of the agent's URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentHost {
    Ip(IpAddr),
    Name(String),
}

impl fmt::Display for AgentHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentHost::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]"),
            AgentHost::Ip(IpAddr::V4(v4)) => write!(f, "{v4}"),
            AgentHost::Name(name) => f.write_str(name),
        }
    }
}

/// A checked `http://` URI for the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentUri {
    pub host: AgentHost,
    /// The port written in the URI, if any; the connection uses 80 otherwise.
    pub explicit_port: Option<u16>,
    /// The path and query, as sent in the request line; at least `/`.
    pub target: String,
}

impl AgentUri {
    pub fn parse(text: &str) -> Result<AgentUri, UriError> {
        let owned = || text.to_owned();
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UriError::ControlCharacters(owned()));
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| UriError::NotHttp(owned()))?;
        if scheme.eq_ignore_ascii_case("https") {
            return Err(UriError::Https(owned()));
        }
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(UriError::NotHttp(owned()));
        }
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(authority_end);
        if let Some((_, host)) = authority.rsplit_once('@') {
            return Err(UriError::UserInfo(format!("{scheme}://***@{host}{target}")));
        }
        let (host, port) = split_host_port(authority, text)?;
        if !is_local(&host) {
            return Err(UriError::NotLocal(owned()));
        }
        let target = match target {
            "" => "/".to_owned(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_owned(),
        };
        Ok(AgentUri {
            host,
            explicit_port: port,
            target,
        })
    }

    /// The port the connection goes to.
    pub fn port(&self) -> u16 {
        self.explicit_port.unwrap_or(80)
    }

    /// The `Host` header: the host as written, with the port only when it is not 80,
    /// which is what the agent expects on its own addresses.
    pub fn host_header(&self) -> String {
        match self.explicit_port {
            Some(port) if port != 80 => format!("{}:{port}", self.host),
            _ => self.host.to_string(),
        }
    }
}

impl fmt::Display for AgentUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.host_header(), self.target)
    }
}

/// Where the SDKs let container credentials go over plain http.
fn is_local(host: &AgentHost) -> bool {
    match host {
        AgentHost::Name(name) => name == "localhost",
        AgentHost::Ip(IpAddr::V4(v4)) => {
            v4.is_loopback()
                || *v4 == Ipv4Addr::new(169, 254, 170, 23)
                || *v4 == Ipv4Addr::new(169, 254, 170, 2)
        }
        AgentHost::Ip(IpAddr::V6(v6)) => {
            v6.is_loopback() || *v6 == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x23)
        }
    }
}

fn split_host_port(authority: &str, text: &str) -> Result<(AgentHost, Option<u16>), UriError> {
    let owned = || text.to_owned();
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (inside, after) = bracketed
            .split_once(']')
            .ok_or_else(|| UriError::BadIpv6(owned()))?;
        let v6: Ipv6Addr = inside.parse().map_err(|_| UriError::BadIpv6(owned()))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| UriError::BadHost(owned()))?,
            ),
        };
        (AgentHost::Ip(IpAddr::V6(v6)), port)
    } else if authority.matches(':').count() > 1 {
        return Err(UriError::UnbracketedIpv6(owned()));
    } else {
        let (name, port) = match authority.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (authority, None),
        };
        if name.is_empty() {
            return Err(UriError::NoHost(owned()));
        }
        (
            parse_name(name).ok_or_else(|| UriError::BadHost(owned()))?,
            port,
        )
    };
    let port = match port {
        None | Some("") => None,
        Some(digits) => Some(parse_port(digits).ok_or_else(|| UriError::BadPort(owned()))?),
    };
    Ok((host, port))
}

fn parse_name(name: &str) -> Option<AgentHost> {
    if let Ok(v4) = name.parse::<Ipv4Addr>() {
        return Some(AgentHost::Ip(IpAddr::V4(v4)));
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    (trimmed.len() <= 253 && trimmed.split('.').all(label_ok))
        .then(|| AgentHost::Name(name.to_ascii_lowercase()))
}

fn parse_port(digits: &str) -> Option<u16> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u16>().ok().filter(|port| *port != 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn ok(text: &str) -> AgentUri {
        AgentUri::parse(text).unwrap()
    }

    #[test]
    fn the_default_agent_address() {
        let uri = ok(DEFAULT_AGENT_URI);
        assert_eq!(
            uri.host,
            AgentHost::Ip(IpAddr::V4(Ipv4Addr::new(169, 254, 170, 23)))
        );
        assert_eq!(uri.port(), 80);
        assert_eq!(uri.host_header(), "169.254.170.23");
        assert_eq!(uri.target, "/v1/credentials");
        assert_eq!(uri.to_string(), DEFAULT_AGENT_URI);
    }

    #[test]
    fn the_ipv6_agent_address_keeps_its_brackets_in_the_host_header() {
        let uri = ok("http://[fd00:ec2::23]/v1/credentials");
        assert_eq!(uri.host, AgentHost::Ip("fd00:ec2::23".parse().unwrap()));
        assert_eq!(uri.host_header(), "[fd00:ec2::23]");
        let with_port = ok("http://[::1]:2703/v1/credentials");
        assert_eq!(with_port.port(), 2703);
        assert_eq!(with_port.host_header(), "[::1]:2703");
    }

    #[test]
    fn a_loopback_twin_with_a_port() {
        let uri = ok("HTTP://127.0.0.1:8080/v1/credentials?x=1#frag");
        assert_eq!(uri.port(), 8080);
        assert_eq!(uri.host_header(), "127.0.0.1:8080");
        assert_eq!(uri.target, "/v1/credentials?x=1");
    }

    #[test]
    fn port_80_is_left_out_of_the_host_header() {
        assert_eq!(
            ok("http://169.254.170.23:80/v1/credentials").host_header(),
            "169.254.170.23"
        );
    }

    #[test]
    fn names_are_lowercased_and_empty_paths_become_slash() {
        let uri = ok("http://LocalHost");
        assert_eq!(uri.host, AgentHost::Name("localhost".into()));
        assert_eq!(uri.target, "/");
        assert_eq!(ok("http://localhost:9?q").target, "/?q");
    }

    #[test]
    fn only_local_and_agent_hosts_get_the_token() {
        for local in [
            "http://127.0.0.1:4577/v1/credentials",
            "http://127.9.9.9/",
            "http://[::1]:80/",
            "http://169.254.170.2/v2/credentials/x",
            "http://[fd00:ec2::23]/v1/credentials",
        ] {
            ok(local);
        }
        for remote in [
            "http://collector.example.com/v1/credentials",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::24]/",
            "http://agent.local/",
        ] {
            let err = AgentUri::parse(remote).unwrap_err();
            assert!(matches!(err, UriError::NotLocal(_)), "{remote}: {err}");
        }
    }

    #[test]
    fn a_password_in_the_uri_is_not_repeated() {
        let err = AgentUri::parse("http://u:hunter2@127.0.0.1/x").unwrap_err();
        let message = err.to_string();
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("http://***@127.0.0.1/x"), "{message}");
    }

    #[test]
    fn https_has_its_own_error() {
        let err = AgentUri::parse("https://169.254.170.23/v1/credentials").unwrap_err();
        assert!(matches!(err, UriError::Https(_)));
        assert!(err.to_string().contains("only http is supported"));
    }

    #[test]
    fn malformed_uris_are_refused() {
        let cases = [
            ("169.254.170.23/v1/credentials", "not an http URI"),
            ("ftp://host/x", "not an http URI"),
            ("http:///v1/credentials", "no host"),
            ("http://:80/", "no host"),
            ("http://user:pw@host/", "user info"),
            ("http://[fd00:ec2::23/x", "not an IPv6"),
            ("http://[not-v6]/x", "not an IPv6"),
            ("http://[::1]x/", "neither"),
            ("http://localhost:0/", "port"),
            ("http://localhost:65536/", "port"),
            ("http://localhost:+80/", "port"),
            ("http://ho st/", "control"),
            ("http://host/\r\nX-Injected: 1", "control"),
            ("http://-bad-/", "neither"),
            ("http://a..b/", "neither"),
            ("http://fd00:ec2::23/x", "without brackets"),
        ];
        for (text, expected) in cases {
            match AgentUri::parse(text) {
                Ok(uri) => panic!("`{text}` parsed as {uri:?}"),
                Err(err) => {
                    let message = err.to_string();
                    assert!(message.contains(expected), "`{text}`: {message}");
                }
            }
        }
    }
}
