//! S3, as a REST-XML service on the twin's address.
//!
//! Addressing: path style (`/BUCKET/KEY`) on any host, and virtual-hosted
//! style when the `Host` is `BUCKET.localhost[:PORT]` (what a client
//! configured with `http://localhost:PORT` and virtual addressing sends;
//! clients given an IP address use path style on their own).
//!
//! Authentication is SigV4 with S3's rules (the path signed as sent,
//! `x-amz-content-sha256` as the payload hash, signed `aws-chunked` bodies;
//! see [`upload`]) and S3's error codes (`InvalidAccessKeyId`,
//! `InvalidToken`, `ExpiredToken`, `RequestTimeTooSkewed`, ...). Anonymous
//! requests are refused (`AccessDenied`).
//!
//! Authorization is S3's: each operation's action and resource
//! (`s3:ListBucket` on `arn:aws:s3:::BUCKET` for listing, `s3:GetObject` on
//! `arn:aws:s3:::BUCKET/KEY`, ...), decided by the engine with the bucket
//! policy as the resource policy and the bucket's owner as the resource
//! account: within the owner's account either side may allow, across
//! accounts both must; the caller's SCPs and the owner's RCPs apply. A
//! missing key is `NoSuchKey` only to a caller that may list the bucket,
//! `AccessDenied` otherwise, as S3 does.
//!
//! Buckets (name, owner, region, policy, tags) are part of the model and
//! change through [`Twin::update_model`]; objects live in the store
//! ([`orgtwin_store::ObjectMeta`], bodies in files under the state folder).

mod buckets;
mod multipart;
mod objects;
pub mod upload;
mod xml;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Response, StatusCode};
use orgtwin_identity::{Ask, Caller, ResourcePolicy};
use orgtwin_model::Bucket;
use orgtwin_policy::{Context, ResourcePolicyKind};
use percent_encoding::percent_decode_str;

use crate::auth::{AuthError, VerifiedSecret, authenticate_with_secret};
use crate::reply::ServiceError;
use crate::services::Call;
use crate::sigv4::{self, HttpParts, Signature};
use crate::state::Twin;

/// A response body: whole, or streamed from a file.
pub type Body = BoxBody<Bytes, std::io::Error>;

pub fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Whether a request is for S3: signed for the `s3` service, or unsigned
/// and not a form `POST /` (which is STS's web identity exchange).
pub fn is_s3(method: &hyper::Method, path: &str, query: &str, headers: &hyper::HeaderMap) -> bool {
    let scope_service = |credential: &str| credential.split('/').nth(3).map(str::to_string);
    if let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let credential = auth
            .split([',', ' '])
            .find_map(|f| f.trim().strip_prefix("Credential="));
        return credential.and_then(scope_service).as_deref() == Some("s3");
    }
    if let Some(credential) = sigv4::query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "X-Amz-Credential")
        .map(|(_, v)| v)
    {
        return scope_service(&credential).as_deref() == Some("s3");
    }
    !(method == hyper::Method::POST && path == "/")
}

/// Where a request points.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    pub bucket: Option<String>,
    pub key: Option<String>,
}

fn decode(text: &str) -> Result<String, ServiceError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ServiceError::new(400, "InvalidURI", "Couldn't parse the specified URI."))
}

/// The bucket and key of a request, from its `Host` and path.
pub fn address(host: Option<&str>, path: &str) -> Result<Address, ServiceError> {
    let host = host.unwrap_or_default();
    let hostname = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let path = path.strip_prefix('/').unwrap_or(path);
    if let Some(bucket) = hostname
        .strip_suffix(".localhost")
        .filter(|b| !b.is_empty())
    {
        let bucket = bucket.strip_suffix(".s3").unwrap_or(bucket).to_string();
        let key = (!path.is_empty()).then(|| decode(path)).transpose()?;
        return Ok(Address {
            bucket: Some(bucket),
            key,
        });
    }
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    Ok(Address {
        bucket: (!bucket.is_empty()).then(|| decode(bucket)).transpose()?,
        key: (!key.is_empty()).then(|| decode(key)).transpose()?,
    })
}

/// What a handler gets.
pub struct S3Call<'a> {
    pub call: Call<'a>,
    pub method: &'a hyper::Method,
    pub address: Address,
    pub query: Vec<(String, String)>,
    pub headers: &'a [(String, String)],
    pub signature: &'a Signature,
    pub secret: &'a VerifiedSecret,
}

impl S3Call<'_> {
    pub fn twin(&self) -> &Twin {
        self.call.twin
    }

    pub fn caller(&self) -> &Caller {
        self.call.caller
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has_param(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The addressed bucket and its owner, or `NoSuchBucket`; a request
    /// signed for another region gets S3's redirect error.
    pub fn bucket(&self) -> Result<(String, Bucket), ServiceError> {
        let name = self.address.bucket.as_deref().unwrap_or_default();
        let model = self.twin().model();
        let Some((owner, bucket)) = model.bucket(name) else {
            return Err(ServiceError::new(
                404,
                "NoSuchBucket",
                "The specified bucket does not exist",
            ));
        };
        let region = &self.signature.credential.region;
        if *region != bucket.region {
            return Err(ServiceError::new(
                400,
                "AuthorizationHeaderMalformed",
                format!(
                    "The authorization header is malformed; the region '{region}' is wrong; expecting '{}'",
                    bucket.region
                ),
            ));
        }
        Ok((owner.to_string(), bucket.clone()))
    }

    /// Decides `action` on `resource` with the bucket's policy and owner.
    pub fn authorize(
        &self,
        action: &str,
        resource: &str,
        bucket: Option<(&str, &Bucket)>,
        context: &Context,
    ) -> Result<(), ServiceError> {
        let named = bucket.and_then(|(_, b)| {
            b.policy
                .as_ref()
                .map(|p| p.named(&format!("bucket policy of {}", b.name)))
        });
        let ask = Ask {
            action,
            resource,
            resource_account: bucket.map(|(owner, _)| owner),
            resource_policy: named.as_ref().map(|policy| ResourcePolicy {
                policy,
                kind: ResourcePolicyKind::Resource,
            }),
            context,
        };
        self.call.decide(&ask).map(|_| ())
    }

    /// The canonical user id S3 shows as an owner: derived from the
    /// account, 64 hex digits.
    pub fn canonical_id(account: &str) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(format!(
            "orgtwin canonical user {account}"
        )))
    }
}

/// An S3 operation, by AWS's name.
fn operation(call: &S3Call<'_>) -> Option<&'static str> {
    use hyper::Method;
    let m = call.method;
    let has = |p: &str| call.has_param(p);
    match (&call.address.bucket, &call.address.key) {
        (None, _) => (m == Method::GET).then_some("ListBuckets"),
        (Some(_), None) => {
            let sub = |get, put, delete| match *m {
                Method::GET => get,
                Method::PUT => put,
                Method::DELETE => delete,
                _ => None,
            };
            if has("policy") {
                sub(
                    Some("GetBucketPolicy"),
                    Some("PutBucketPolicy"),
                    Some("DeleteBucketPolicy"),
                )
            } else if has("tagging") {
                sub(
                    Some("GetBucketTagging"),
                    Some("PutBucketTagging"),
                    Some("DeleteBucketTagging"),
                )
            } else if has("location") {
                sub(Some("GetBucketLocation"), None, None)
            } else if has("delete") {
                (m == Method::POST).then_some("DeleteObjects")
            } else if call
                .query
                .iter()
                .any(|(k, _)| UNSUPPORTED_SUBRESOURCES.contains(&k.as_str()))
            {
                None
            } else {
                match *m {
                    Method::GET if call.param("list-type") == Some("2") => Some("ListObjectsV2"),
                    Method::GET => Some("ListObjects"),
                    Method::PUT => Some("CreateBucket"),
                    Method::DELETE => Some("DeleteBucket"),
                    Method::HEAD => Some("HeadBucket"),
                    _ => None,
                }
            }
        }
        (Some(_), Some(_)) => {
            if call
                .query
                .iter()
                .any(|(k, _)| UNSUPPORTED_SUBRESOURCES.contains(&k.as_str()))
            {
                return None;
            }
            match *m {
                Method::PUT if has("uploadId") && has("partNumber") => Some("UploadPart"),
                Method::PUT if call.header("x-amz-copy-source").is_some() => None,
                Method::PUT => Some("PutObject"),
                Method::GET if has("uploadId") => None,
                Method::GET => Some("GetObject"),
                Method::HEAD => Some("HeadObject"),
                Method::DELETE if has("uploadId") => Some("AbortMultipartUpload"),
                Method::DELETE => Some("DeleteObject"),
                Method::POST if has("uploads") => Some("CreateMultipartUpload"),
                Method::POST if has("uploadId") => Some("CompleteMultipartUpload"),
                _ => None,
            }
        }
    }
}

/// Subresources the twin does not serve (each answers `NotImplemented`).
const UNSUPPORTED_SUBRESOURCES: &[&str] = &[
    "acl",
    "versioning",
    "versions",
    "cors",
    "lifecycle",
    "logging",
    "notification",
    "replication",
    "website",
    "encryption",
    "object-lock",
    "ownershipControls",
    "publicAccessBlock",
    "accelerate",
    "requestPayment",
    "analytics",
    "inventory",
    "metrics",
    "intelligent-tiering",
    "retention",
    "legal-hold",
    "restore",
    "select",
    "attributes",
    "torrent",
];

/// Answers one S3 request.
pub async fn handle(
    twin: &Twin,
    parts: hyper::http::request::Parts,
    body: Incoming,
    request_id: &str,
) -> Response<Body> {
    let head = parts.method == hyper::Method::HEAD;
    let path = parts.uri.path().to_string();
    let query_text = parts.uri.query().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let host = parts.headers.get("host").and_then(|v| v.to_str().ok());
    let address = match address(host, &path) {
        Ok(a) => a,
        Err(e) => return fail(&e, &Address::default(), request_id, head, "anonymous", ""),
    };
    let payload_hash = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256"))
        .map_or_else(|| sigv4::EMPTY_SHA256.to_string(), |(_, v)| v.clone());
    let http = HttpParts {
        method: parts.method.as_str(),
        path: &path,
        query: &query_text,
        headers: &headers,
        body_sha256: &payload_hash,
    };
    let signature = match sigv4::read_signature(&http) {
        Ok(Some(s)) => s,
        Ok(None) if signature_v2(&headers, &query_text) => {
            let e = ServiceError::new(
                400,
                "InvalidRequest",
                "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
            );
            return fail(&e, &address, request_id, head, "anonymous", "");
        }
        Ok(None) => {
            let e = ServiceError::new(
                403,
                "AccessDenied",
                "Access Denied (the twin does not serve anonymous requests)",
            );
            return fail(&e, &address, request_id, head, "anonymous", "");
        }
        Err(e) => {
            let e = s3_auth_error(twin, &AuthError::from(e), "");
            return fail(&e, &address, request_id, head, "anonymous", "");
        }
    };
    // The payload hash is signed through this header; without it S3
    // refuses a header-signed request rather than guess the body.
    if matches!(signature.form, sigv4::SignatureForm::Header)
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256"))
    {
        let e = ServiceError::new(
            400,
            "InvalidRequest",
            "Missing required header for this request: x-amz-content-sha256",
        );
        return fail(&e, &address, request_id, head, "anonymous", "");
    }
    let (caller, secret) = match authenticate_with_secret(twin, &http, &signature) {
        Ok(found) => found,
        Err(e) => {
            let e = s3_auth_error(twin, &e, &signature.credential.access_key_id);
            return fail(
                &e,
                &address,
                request_id,
                head,
                &signature.credential.access_key_id,
                "",
            );
        }
    };
    let caller_arn = caller.arn();
    let call = S3Call {
        call: Call {
            twin,
            caller: &caller,
            request_id,
        },
        method: &parts.method,
        address,
        query: sigv4::query_pairs(&query_text),
        headers: &headers,
        signature: &signature,
        secret: &secret,
    };
    let _ = crate::state::take_decision();
    let Some(operation) = operation(&call) else {
        let e = ServiceError::new(
            501,
            "NotImplemented",
            "A header or query you provided implies functionality that the twin does not serve.",
        );
        return fail(&e, &call.address, request_id, head, &caller_arn, "");
    };
    let result = match operation {
        "ListBuckets" => buckets::list(&call),
        "CreateBucket" => buckets::create(&call, body).await,
        "DeleteBucket" => buckets::delete(&call),
        "HeadBucket" => buckets::head(&call),
        "GetBucketLocation" => buckets::location(&call),
        "GetBucketPolicy" => buckets::get_policy(&call),
        "PutBucketPolicy" => buckets::put_policy(&call, body).await,
        "DeleteBucketPolicy" => buckets::delete_policy(&call),
        "GetBucketTagging" => buckets::get_tagging(&call),
        "PutBucketTagging" => buckets::put_tagging(&call, body).await,
        "DeleteBucketTagging" => buckets::delete_tagging(&call),
        "ListObjects" => objects::list(&call, false),
        "ListObjectsV2" => objects::list(&call, true),
        "DeleteObjects" => objects::delete_many(&call, body).await,
        "PutObject" => objects::put(&call, body).await,
        "GetObject" => objects::get(&call, false).await,
        "HeadObject" => objects::get(&call, true).await,
        "DeleteObject" => objects::delete(&call),
        "CreateMultipartUpload" => multipart::create_upload(&call),
        "UploadPart" => multipart::upload_part(&call, body).await,
        "CompleteMultipartUpload" => multipart::complete_upload(&call, body).await,
        "AbortMultipartUpload" => multipart::abort_upload(&call),
        _ => Err(ServiceError::new(501, "NotImplemented", "Not implemented")),
    };
    match result {
        Ok(mut response) => {
            crate::server::log_request(
                request_id,
                &caller_arn,
                "s3",
                operation,
                response.status().as_u16(),
                None,
            );
            add_request_headers(&mut response, request_id);
            response
        }
        Err(e) => fail(&e, &call.address, request_id, head, &caller_arn, operation),
    }
}

/// Whether a request is signed with Signature Version 2 (`AWS KEY:SIG`, or
/// `AWSAccessKeyId` and `Signature` in the query), which the twin refuses
/// as S3 does for buckets created since 2020.
fn signature_v2(headers: &[(String, String)], query: &str) -> bool {
    let header = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("authorization") && v.starts_with("AWS "));
    let pairs = sigv4::query_pairs(query);
    let in_query = ["AWSAccessKeyId", "Signature"]
        .iter()
        .all(|name| pairs.iter().any(|(k, _)| k == name));
    header || in_query
}

/// S3's codes for authentication failures.
fn s3_auth_error(twin: &Twin, e: &AuthError, key_id: &str) -> ServiceError {
    match e.code {
        "InvalidClientTokenId" => {
            let known_session =
                key_id.starts_with("ASIA") && twin.store.session(key_id).ok().flatten().is_some();
            if known_session {
                ServiceError::new(
                    400,
                    "InvalidToken",
                    "The provided token is malformed or otherwise invalid.",
                )
            } else {
                ServiceError::new(
                    403,
                    "InvalidAccessKeyId",
                    "The AWS Access Key Id you provided does not exist in our records.",
                )
            }
        }
        "ExpiredToken" => ServiceError::new(400, "ExpiredToken", "The provided token has expired."),
        "SignatureDoesNotMatch"
            if e.message.starts_with("Signature expired")
                || e.message.starts_with("Signature not yet current") =>
        {
            ServiceError::new(
                403,
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
            )
        }
        "SignatureDoesNotMatch" => ServiceError::new(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        ),
        "AuthFailure" => ServiceError::new(403, "AccessDenied", e.message.clone()),
        "IncompleteSignature" => {
            ServiceError::new(400, "AuthorizationHeaderMalformed", e.message.clone())
        }
        _ => ServiceError::new(e.status, e.code, e.message.clone()),
    }
}

fn add_request_headers(response: &mut Response<Body>, request_id: &str) {
    let headers = response.headers_mut();
    if let Ok(v) = request_id.parse() {
        headers.insert("x-amz-request-id", v);
    }
    if let Ok(v) = request_id.replace('-', "").parse() {
        headers.insert("x-amz-id-2", v);
    }
}

/// An error as S3 writes it (no body for `HEAD`).
fn fail(
    e: &ServiceError,
    address: &Address,
    request_id: &str,
    head: bool,
    caller: &str,
    operation: &str,
) -> Response<Body> {
    crate::server::log_request(request_id, caller, "s3", operation, e.status, Some(&e.code));
    let mut inner = String::new();
    xml::element(&mut inner, "Code", &e.code);
    xml::element(&mut inner, "Message", &e.message);
    match e.code.as_str() {
        "NoSuchBucket"
        | "BucketAlreadyExists"
        | "BucketAlreadyOwnedByYou"
        | "BucketNotEmpty"
        | "NoSuchBucketPolicy"
        | "NoSuchTagSet" => {
            if let Some(bucket) = &address.bucket {
                xml::element(&mut inner, "BucketName", bucket);
            }
        }
        "NoSuchKey" => {
            if let Some(key) = &address.key {
                xml::element(&mut inner, "Key", key);
            }
        }
        _ => {}
    }
    xml::element(&mut inner, "RequestId", request_id);
    xml::element(&mut inner, "HostId", &request_id.replace('-', ""));
    let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>{inner}</Error>");
    let mut response = Response::new(if head { full(Bytes::new()) } else { full(body) });
    *response.status_mut() =
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if !head && let Ok(v) = "application/xml".parse() {
        response.headers_mut().insert("content-type", v);
    }
    add_request_headers(&mut response, request_id);
    response
}

/// A `200` with an XML document.
pub fn xml_response(body: String) -> Response<Body> {
    let mut response = Response::new(full(body));
    if let Ok(v) = "application/xml".parse() {
        response.headers_mut().insert("content-type", v);
    }
    response
}

/// An empty response with `status` and `headers`.
pub fn empty_response(status: u16, headers: &[(String, String)]) -> Response<Body> {
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}

/// A small request body (policy, tagging, XML documents), at most 1 MiB.
/// A body read whole (a policy, tags, a list of keys or parts): at most
/// [`crate::server::MAX_BODY_BYTES`], and the body that was signed. The
/// signature covers `x-amz-content-sha256`, not the body itself, so a
/// digest there must be the body's; `UNSIGNED-PAYLOAD` (the signer's
/// choice, and a presigned URL's) takes the body as it comes; aws-chunked
/// framing is for object data only.
pub async fn small_body(call: &S3Call<'_>, body: Incoming) -> Result<Bytes, ServiceError> {
    let bytes = http_body_util::Limited::new(body, crate::server::MAX_BODY_BYTES)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|_| {
            ServiceError::new(400, "MaxMessageLengthExceeded", "Your request was too big.")
        })?;
    match call.header("x-amz-content-sha256") {
        None | Some("UNSIGNED-PAYLOAD") => Ok(bytes),
        Some(digest) if sigv4::is_sha256_hex(digest) => {
            if sigv4::sha256_hex(&bytes).eq_ignore_ascii_case(digest) {
                Ok(bytes)
            } else {
                Err(upload::payload_mismatch())
            }
        }
        Some(_) => Err(ServiceError::new(
            400,
            "InvalidRequest",
            "This operation takes its body whole: give its SHA-256 or UNSIGNED-PAYLOAD in \
             x-amz-content-sha256 (aws-chunked bodies are for object data).",
        )),
    }
}

/// `2026-12-03T20:01:02.000Z` from Unix milliseconds.
pub fn iso_time(millis: i64) -> String {
    let t = orgtwin_policy::Timestamp::from_unix_seconds(millis.div_euclid(1000));
    let text = t.to_rfc3339();
    let base = text.strip_suffix('Z').unwrap_or(&text);
    format!("{base}.{:03}Z", millis.rem_euclid(1000))
}

/// `Thu, 03 Dec 2026 20:01:02 GMT` from Unix milliseconds.
pub fn http_date(millis: i64) -> String {
    let seconds = millis.div_euclid(1000);
    let text = orgtwin_policy::Timestamp::from_unix_seconds(seconds).to_rfc3339();
    let (date, time) = text.split_once('T').unwrap_or((&text, "00:00:00Z"));
    let mut fields = date.split('-');
    let (year, month, day) = (
        fields.next().unwrap_or("1970"),
        fields
            .next()
            .and_then(|m| m.parse::<usize>().ok())
            .unwrap_or(1),
        fields.next().unwrap_or("01"),
    );
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let weekday = DAYS
        .get(usize::try_from(seconds.div_euclid(86_400).rem_euclid(7)).unwrap_or(0))
        .unwrap_or(&"Thu");
    let month = MONTHS.get(month.saturating_sub(1)).unwrap_or(&"Jan");
    format!(
        "{weekday}, {day} {month} {year} {} GMT",
        time.trim_end_matches('Z')
    )
}

/// The twin's clock in Unix milliseconds.
pub fn now_millis(twin: &Twin) -> i64 {
    let nanos = twin.now().unix_nanos();
    i64::try_from(nanos / 1_000_000).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_virtual_host_addressing() {
        let a = address(Some("127.0.0.1:4577"), "/payroll-data/reports/a%20b.csv").unwrap();
        assert_eq!(a.bucket.as_deref(), Some("payroll-data"));
        assert_eq!(a.key.as_deref(), Some("reports/a b.csv"));
        let b = address(Some("payroll-data.localhost:4577"), "/reports/x").unwrap();
        assert_eq!(
            (b.bucket.as_deref(), b.key.as_deref()),
            (Some("payroll-data"), Some("reports/x"))
        );
        let c = address(Some("localhost:4577"), "/").unwrap();
        assert_eq!(c, Address::default());
        let d = address(Some("127.0.0.1"), "/bucket/").unwrap();
        assert_eq!((d.bucket.as_deref(), d.key), (Some("bucket"), None));
        assert_eq!(address(None, "/b/%ff").unwrap_err().code, "InvalidURI");
    }

    #[test]
    fn dates_as_s3_writes_them() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(1_796_328_000_123),
            "Thu, 03 Dec 2026 20:00:00 GMT"
        );
        assert_eq!(iso_time(1_796_328_000_123), "2026-12-03T20:00:00.123Z");
    }
}
