//! Server-side verification of AWS Signature Version 4.
//!
//! A request is signed either in the `Authorization` header or in presigned
//! query parameters (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
//! `X-Amz-SignedHeaders`, `X-Amz-Signature`, `X-Amz-Expires`), never both.
//! Verification recomputes the canonical request (method, URI, sorted query,
//! signed headers with trimmed values, the list of signed headers, the
//! payload hash), the string to sign
//! `AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex sha256 of the canonical request>`,
//! and the HMAC-SHA256 key chain `AWS4<secret>` -> date -> region -> service
//! -> `aws4_request`, and compares signatures in constant time.
//!
//! The canonical URI is the path as sent for S3, and for every other service
//! the path with its dot segments removed, percent-encoded once more (AWS's
//! double encoding). Requests more than 15 minutes away from the server's
//! clock are refused with `SignatureDoesNotMatch`, as AWS does.
//!
//! This module is pure: the clock and the secret lookup are the caller's.

use hmac::{Hmac, Mac};
use orgtwin_policy::Timestamp;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Characters SigV4 leaves unencoded: `A-Z a-z 0-9 - _ . ~`.
const SIGV4_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
const SIGV4_PATH_SET: &AsciiSet = &SIGV4_SET.remove(b'/');

/// How far the request's clock may be from the server's.
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// The hash of an empty payload.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The parts of an HTTP request that the signature covers.
#[derive(Clone, Copy, Debug)]
pub struct HttpParts<'a> {
    pub method: &'a str,
    /// The path as received, still percent-encoded.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Header names (any case) and values, in order received.
    pub headers: &'a [(String, String)],
    /// SHA-256 of the body, lower-case hex.
    pub body_sha256: &'a str,
}

impl<'a> HttpParts<'a> {
    fn header_values<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &str) -> Option<&'a str> {
        self.header_values(name).next()
    }
}

/// `AKID/20261203/us-east-1/sts/aws4_request`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialScope {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
}

impl CredentialScope {
    /// `DATE/REGION/SERVICE/aws4_request`.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

/// Whether the signature came in the header or in the query string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureForm {
    Header,
    Presigned { expires_seconds: i64 },
}

/// A signature, read but not yet verified. `Debug` hides the signature
/// and the session token.
#[derive(Clone)]
pub struct Signature {
    pub credential: CredentialScope,
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// `X-Amz-Date` as sent (`20261203T170824Z`).
    pub amz_date: String,
    pub time: Timestamp,
    /// `X-Amz-Security-Token`, for temporary credentials.
    pub security_token: Option<String>,
    pub form: SignatureForm,
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signature")
            .field("credential", &self.credential)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &REDACTED)
            .field("amz_date", &self.amz_date)
            .field("time", &self.time)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| REDACTED),
            )
            .field("form", &self.form)
            .finish()
    }
}

/// What `Debug` shows in place of a secret.
pub const REDACTED: &str = "** redacted **";

/// Why a signature is refused, with AWS's error code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No signature at all.
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,
    #[error("{0}")]
    IncompleteSignature(String),
    #[error("{0}")]
    SignatureDoesNotMatch(String),
    #[error("{0}")]
    AuthFailure(String),
}

impl SigV4Error {
    /// AWS's error code.
    pub fn code(&self) -> &'static str {
        match self {
            SigV4Error::MissingAuthenticationToken => "MissingAuthenticationToken",
            SigV4Error::IncompleteSignature(_) => "IncompleteSignature",
            SigV4Error::SignatureDoesNotMatch(_) => "SignatureDoesNotMatch",
            SigV4Error::AuthFailure(_) => "AccessDenied",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            SigV4Error::IncompleteSignature(_) => 400,
            _ => 403,
        }
    }
}

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

fn incomplete(message: impl Into<String>) -> SigV4Error {
    SigV4Error::IncompleteSignature(message.into())
}

/// Query parameters, percent-decoded.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

fn decode_component(text: &str) -> String {
    let plus_as_space = text.replace('+', " ");
    percent_decode_str(&plus_as_space)
        .decode_utf8_lossy()
        .into_owned()
}

/// Reads the signature of a request without verifying it: the caller needs
/// the access key id to find the secret. `Ok(None)` means the request is not
/// signed at all.
pub fn read_signature(parts: &HttpParts<'_>) -> Result<Option<Signature>, SigV4Error> {
    let query = query_pairs(parts.query);
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let header_auth = parts.header("authorization");
    let presigned = q("X-Amz-Algorithm").is_some() || q("X-Amz-Signature").is_some();
    match (header_auth, presigned) {
        (Some(_), true) => Err(incomplete(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified",
        )),
        (Some(auth), false) => read_header_form(parts, auth).map(Some),
        (None, true) => read_presigned_form(parts, &q).map(Some),
        (None, false) => Ok(None),
    }
}

fn read_header_form(parts: &HttpParts<'_>, auth: &str) -> Result<Signature, SigV4Error> {
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256").ok_or_else(|| {
        incomplete(format!(
            "Authorization header algorithm is not AWS4-HMAC-SHA256: `{}`",
            auth.split(' ').next().unwrap_or_default()
        ))
    })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for field in rest.split(',') {
        let field = field.trim();
        if let Some(v) = field.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = field.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = field.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing: Vec<&str> = [
        ("Credential", credential),
        ("SignedHeaders", signed),
        ("Signature", signature),
    ]
    .iter()
    .filter(|(_, v)| v.is_none())
    .map(|(n, _)| *n)
    .collect();
    if !missing.is_empty() {
        let list = missing
            .iter()
            .map(|m| format!("'{m}'"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(incomplete(format!(
            "Authorization header requires {list} parameter. Authorization={auth}"
        )));
    }
    let amz_date = parts.header("x-amz-date").ok_or_else(|| {
        incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    })?;
    finish_signature(
        credential.unwrap_or_default(),
        signed.unwrap_or_default(),
        signature.unwrap_or_default(),
        amz_date,
        parts.header("x-amz-security-token").map(str::to_string),
        SignatureForm::Header,
    )
}

fn read_presigned_form<'q>(
    _parts: &HttpParts<'_>,
    q: &dyn Fn(&str) -> Option<&'q str>,
) -> Result<Signature, SigV4Error> {
    let required = |name: &str| {
        q(name).ok_or_else(|| {
            incomplete(format!(
                "Query-string authentication requires the {name} parameter"
            ))
        })
    };
    let algorithm = required("X-Amz-Algorithm")?;
    if algorithm != "AWS4-HMAC-SHA256" {
        return Err(incomplete(format!(
            "X-Amz-Algorithm `{algorithm}` is not AWS4-HMAC-SHA256"
        )));
    }
    let expires: i64 = required("X-Amz-Expires")?
        .parse()
        .ok()
        .filter(|e| (1..=604_800).contains(e))
        .ok_or_else(|| incomplete("X-Amz-Expires must be a number of seconds from 1 to 604800"))?;
    finish_signature(
        required("X-Amz-Credential")?,
        required("X-Amz-SignedHeaders")?,
        required("X-Amz-Signature")?,
        required("X-Amz-Date")?,
        q("X-Amz-Security-Token").map(str::to_string),
        SignatureForm::Presigned {
            expires_seconds: expires,
        },
    )
}

fn finish_signature(
    credential: &str,
    signed_headers: &str,
    signature: &str,
    amz_date: &str,
    security_token: Option<String>,
    form: SignatureForm,
) -> Result<Signature, SigV4Error> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [key, date, region, service, terminator] = parts.as_slice() else {
        return Err(incomplete(format!(
            "Credential should be scoped to a valid region, not '{credential}'. "
        )));
    };
    if *terminator != "aws4_request" {
        return Err(incomplete(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        )));
    }
    let time = parse_amz_date(amz_date).ok_or_else(|| {
        incomplete(format!(
            "X-Amz-Date `{amz_date}` is not in the form 20261203T170824Z"
        ))
    })?;
    if !amz_date.starts_with(date) || date.len() != 8 {
        return Err(SigV4Error::SignatureDoesNotMatch(format!(
            "Credential should be scoped to a valid date: '{}', not '{date}'.",
            amz_date.get(..8).unwrap_or_default()
        )));
    }
    let signed_headers: Vec<String> = signed_headers
        .split(';')
        .map(str::to_ascii_lowercase)
        .collect();
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(SigV4Error::SignatureDoesNotMatch(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    Ok(Signature {
        credential: CredentialScope {
            access_key_id: key.to_string(),
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
        },
        signed_headers,
        signature: signature.to_string(),
        amz_date: amz_date.to_string(),
        time,
        security_token,
        form,
    })
}

/// `20261203T170824Z` to a timestamp.
pub fn parse_amz_date(text: &str) -> Option<Timestamp> {
    if text.len() != 16 || !text.ends_with('Z') || text.as_bytes().get(8) != Some(&b'T') {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        text.get(0..4)?,
        text.get(4..6)?,
        text.get(6..8)?,
        text.get(9..11)?,
        text.get(11..13)?,
        text.get(13..15)?
    );
    Timestamp::parse(&iso)
}

/// Checks the signature against `secret` at time `now`.
pub fn verify(
    parts: &HttpParts<'_>,
    signature: &Signature,
    secret: &str,
    now: Timestamp,
) -> Result<(), SigV4Error> {
    let skew = now.seconds().saturating_sub(signature.time.seconds());
    match signature.form {
        SignatureForm::Header if skew > MAX_SKEW_SECONDS => {
            return Err(SigV4Error::SignatureDoesNotMatch(format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                signature.amz_date,
                amz_date(Timestamp::from_unix_seconds(
                    now.seconds().saturating_sub(MAX_SKEW_SECONDS)
                )),
                amz_date(now)
            )));
        }
        SignatureForm::Header | SignatureForm::Presigned { .. } if skew < -MAX_SKEW_SECONDS => {
            return Err(SigV4Error::SignatureDoesNotMatch(format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                signature.amz_date,
                amz_date(Timestamp::from_unix_seconds(
                    now.seconds().saturating_add(MAX_SKEW_SECONDS)
                )),
                amz_date(now)
            )));
        }
        SignatureForm::Presigned { expires_seconds } if skew > expires_seconds => {
            return Err(SigV4Error::AuthFailure("Request has expired".into()));
        }
        _ => {}
    }
    let canonical = canonical_request(parts, signature)?;
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{}\n{}",
        signature.amz_date,
        signature.credential.scope(),
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(secret, &signature.credential);
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if expected
        .as_bytes()
        .ct_eq(signature.signature.as_bytes())
        .into()
    {
        Ok(())
    } else {
        Err(SigV4Error::SignatureDoesNotMatch(MISMATCH.into()))
    }
}

/// `20261203T170824Z`.
pub fn amz_date(t: Timestamp) -> String {
    let iso = Timestamp::from_unix_seconds(t.seconds()).to_rfc3339();
    iso.replace(['-', ':'], "")
}

/// HMAC-SHA256 of `data` under `key`, lowercase hex.
pub fn hmac_hex(key: &[u8], data: &[u8]) -> String {
    hex::encode(hmac(key, data))
}

/// Compares two signatures in constant time.
pub fn equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; were that ever to fail, the empty
    // result makes every signature mismatch (fail closed).
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The key chain `AWS4<secret>` -> date -> region -> service -> `aws4_request`.
pub fn signing_key(secret: &str, scope: &CredentialScope) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
    let k_region = hmac(&k_date, scope.region.as_bytes());
    let k_service = hmac(&k_region, scope.service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn canonical_request(parts: &HttpParts<'_>, signature: &Signature) -> Result<String, SigV4Error> {
    let uri = canonical_uri(parts.path, &signature.credential.service);
    let mut query: Vec<(String, String)> = query_pairs(parts.query)
        .into_iter()
        .filter(|(k, _)| k != "X-Amz-Signature")
        .map(|(k, v)| (encode(&k), encode(&v)))
        .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = String::new();
    for name in &signature.signed_headers {
        let values: Vec<String> = parts.header_values(name).map(trim_header_value).collect();
        if values.is_empty() {
            return Err(SigV4Error::SignatureDoesNotMatch(format!(
                "The signed header `{name}` is not in the request"
            )));
        }
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&values.join(","));
        headers.push('\n');
    }
    // Only S3 takes the payload hash from `x-amz-content-sha256` (it streams
    // bodies and checks them against it as they arrive); every other
    // service hashes the body it got, so a signature never covers a body
    // it was not computed over.
    let payload = match signature.form {
        _ if signature.credential.service != "s3" => parts.body_sha256,
        SignatureForm::Presigned { .. } => "UNSIGNED-PAYLOAD",
        SignatureForm::Header => parts
            .header("x-amz-content-sha256")
            .unwrap_or(parts.body_sha256),
    };
    Ok(format!(
        "{}\n{uri}\n{query}\n{headers}\n{}\n{payload}",
        parts.method,
        signature.signed_headers.join(";")
    ))
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, SIGV4_SET).to_string()
}

fn canonical_uri(path: &str, service: &str) -> String {
    let path = if path.is_empty() { "/" } else { path };
    if service == "s3" {
        return path.to_string();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let normalized = format!("/{}", segments.join("/"));
    utf8_percent_encode(&normalized, SIGV4_PATH_SET).to_string()
}

fn trim_header_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a client signs with.
#[derive(Clone, Copy)]
pub struct SigningKey<'a> {
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
    pub service: &'a str,
}

/// Signs a request the way AWS's SDKs do (header form): adds `x-amz-date`,
/// `x-amz-security-token` when there is a token, and `authorization`,
/// signing every header present (which must include `host`). For the
/// twin's own benchmarks and tests; the twin itself only verifies.
pub fn sign(
    method: &str,
    path: &str,
    query: &str,
    headers: &mut Vec<(String, String)>,
    body: &[u8],
    key: &SigningKey<'_>,
    now: Timestamp,
) {
    let date = amz_date(now);
    headers.push(("x-amz-date".into(), date.clone()));
    if let Some(token) = key.session_token {
        headers.push(("x-amz-security-token".into(), token.into()));
    }
    let mut signed: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    signed.sort();
    signed.dedup();
    let credential = CredentialScope {
        access_key_id: key.access_key_id.into(),
        date: date.get(..8).unwrap_or_default().into(),
        region: key.region.into(),
        service: key.service.into(),
    };
    let body_sha256 = sha256_hex(body);
    let parts = HttpParts {
        method,
        path,
        query,
        headers,
        body_sha256: &body_sha256,
    };
    let signature = Signature {
        credential,
        signed_headers: signed,
        signature: String::new(),
        amz_date: date,
        time: now,
        security_token: None,
        form: SignatureForm::Header,
    };
    let Ok(canonical) = canonical_request(&parts, &signature) else {
        return;
    };
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{}\n{}",
        signature.amz_date,
        signature.credential.scope(),
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let value = hex::encode(hmac(
        &signing_key(key.secret, &signature.credential),
        string_to_sign.as_bytes(),
    ));
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={value}",
        key.access_key_id,
        signature.credential.scope(),
        signature.signed_headers.join(";")
    );
    headers.push(("authorization".into(), authorization));
}

/// Hex SHA-256 of a body.
pub fn sha256_hex(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Whether `text` is a SHA-256 in hex, as `x-amz-content-sha256` gives a
/// signed payload's.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example: `GET /?Action=ListUsers&Version=2010-05-08`
    /// to IAM on 2015-08-30 with the example key.
    #[test]
    fn verifies_aws_documented_example() {
        let headers = vec![
            ("Host".to_string(), "iam.amazonaws.com".to_string()),
            ("Content-Type".to_string(), "application/x-www-form-urlencoded; charset=utf-8".to_string()),
            ("X-Amz-Date".to_string(), "20150830T123600Z".to_string()),
            (
                "Authorization".to_string(),
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7".to_string(),
            ),
        ];
        let parts = HttpParts {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: &headers,
            body_sha256: EMPTY_SHA256,
        };
        let signature = read_signature(&parts).unwrap().unwrap();
        assert_eq!(signature.credential.service, "iam");
        let shown = format!("{signature:?}");
        assert!(!shown.contains("5d672d79c15b"), "{shown}");
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
        let now = parse_amz_date("20150830T123900Z").unwrap();
        verify(
            &parts,
            &signature,
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            now,
        )
        .unwrap();
        let wrong = verify(
            &parts,
            &signature,
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ",
            now,
        );
        assert_eq!(wrong.unwrap_err().code(), "SignatureDoesNotMatch");
        let late = parse_amz_date("20150830T125200Z").unwrap();
        let expired = verify(
            &parts,
            &signature,
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            late,
        );
        assert!(expired.unwrap_err().to_string().starts_with(
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z"
        ));
    }

    #[test]
    fn refuses_incomplete_and_double_signatures() {
        let headers = vec![(
            "Authorization".to_string(),
            "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/iam/aws4_request".to_string(),
        )];
        let parts = HttpParts {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body_sha256: EMPTY_SHA256,
        };
        assert_eq!(
            read_signature(&parts).unwrap_err().code(),
            "IncompleteSignature"
        );
        let parts = HttpParts {
            query: "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            ..parts
        };
        assert_eq!(
            read_signature(&parts).unwrap_err().code(),
            "IncompleteSignature"
        );
        let parts = HttpParts {
            headers: &[],
            query: "",
            ..parts
        };
        assert!(read_signature(&parts).unwrap().is_none());
    }

    #[test]
    fn what_sign_signs_verify_accepts() {
        let now = parse_amz_date("20261203T170824Z").unwrap();
        let mut headers = vec![("host".to_string(), "127.0.0.1:4577".to_string())];
        let body = b"Action=GetCallerIdentity&Version=2011-06-15";
        let key = SigningKey {
            access_key_id: "ASIAEXAMPLE",
            secret: "secret",
            session_token: Some("tok"),
            region: "us-east-1",
            service: "sts",
        };
        sign("POST", "/", "", &mut headers, body, &key, now);
        let body_sha256 = sha256_hex(body);
        let parts = HttpParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body_sha256: &body_sha256,
        };
        let signature = read_signature(&parts).unwrap().unwrap();
        assert_eq!(signature.security_token.as_deref(), Some("tok"));
        verify(&parts, &signature, "secret", now).unwrap();
        let tampered = HttpParts {
            body_sha256: EMPTY_SHA256,
            ..parts
        };
        assert!(verify(&tampered, &signature, "secret", now).is_err());
    }

    #[test]
    fn canonical_uri_double_encodes_except_s3() {
        assert_eq!(canonical_uri("/a%20b/./c/../d", "eks"), "/a%2520b/d");
        assert_eq!(canonical_uri("/a%20b/./c", "s3"), "/a%20b/./c");
        assert_eq!(canonical_uri("", "sts"), "/");
    }
}
