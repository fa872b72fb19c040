//! Object operations: put, get (ranges and conditions), head, delete, list
//! (v1 and v2, prefixes and delimiters, pages) and multi-object delete;
//! multipart uploads are in `multipart`.

use std::path::PathBuf;

use base64::Engine as _;
use futures_util::TryStreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::body::{Frame, Incoming};
use orgtwin_model::Bucket;
use orgtwin_policy::Context;
use orgtwin_store::ObjectMeta;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::upload::{self, Algorithm, ChunkSigning, Framing, Staged};
use super::{
    Body, S3Call, empty_response, http_date, iso_time, now_millis, small_body, xml, xml_response,
};
use crate::reply::ServiceError;

fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

fn key(call: &S3Call<'_>) -> String {
    call.address.key.clone().unwrap_or_default()
}

pub(super) fn internal(e: std::io::Error) -> ServiceError {
    tracing::error!(error = %e, "reading or writing an object body failed");
    ServiceError::new(
        500,
        "InternalError",
        "We encountered an internal error. Please try again.",
    )
}

/// How the request frames its body, from its headers.
fn framing(call: &S3Call<'_>) -> Result<Framing, ServiceError> {
    let payload = call
        .header("x-amz-content-sha256")
        .unwrap_or("UNSIGNED-PAYLOAD");
    let signed_chunks = payload.starts_with("STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    let chunked = payload.starts_with("STREAMING-");
    if chunked && !signed_chunks && payload != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
        return Err(ServiceError::new(
            400,
            "InvalidArgument",
            format!("x-amz-content-sha256 `{payload}` is not a payload form the twin accepts"),
        ));
    }
    let signed_sha256 = crate::sigv4::is_sha256_hex(payload).then(|| payload.to_string());
    if !chunked && signed_sha256.is_none() && payload != "UNSIGNED-PAYLOAD" {
        return Err(ServiceError::new(
            400,
            "InvalidArgument",
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-..., or a SHA-256 in hex",
        ));
    }
    let length_header = if chunked {
        "x-amz-decoded-content-length"
    } else {
        "content-length"
    };
    let declared_length = match call.header(length_header) {
        Some(text) => Some(text.trim().parse::<u64>().map_err(|_| {
            ServiceError::new(
                400,
                "InvalidArgument",
                format!("{length_header} is not a number"),
            )
        })?),
        None if chunked => {
            return Err(ServiceError::new(
                411,
                "MissingContentLength",
                "You must provide the Content-Length HTTP header.",
            ));
        }
        None => None,
    };
    let chunk_signing = signed_chunks.then(|| ChunkSigning {
        key: crate::sigv4::signing_key(call.secret.expose(), &call.signature.credential),
        seed: call.signature.signature.clone(),
        amz_date: call.signature.amz_date.clone(),
        scope: call.signature.credential.scope(),
    });
    let expected: Vec<(Algorithm, String)> = call
        .headers
        .iter()
        .filter_map(|(n, v)| Algorithm::from_header(n).map(|a| (a, v.trim().to_string())))
        .collect();
    let trailer: Vec<Algorithm> = call
        .header("x-amz-trailer")
        .map(|t| {
            t.split(',')
                .filter_map(|n| Algorithm::from_header(n.trim()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Framing {
        signed_sha256,
        chunked,
        chunk_signing,
        declared_length,
        expected,
        trailer,
        content_md5: call.header("content-md5").map(|v| v.trim().to_string()),
    })
}

pub(super) async fn stage(call: &S3Call<'_>, body: Incoming) -> Result<Staged, ServiceError> {
    let framing = framing(call)?;
    let path: PathBuf = call
        .twin()
        .store
        .staging_path(&format!("{}.upload", call.call.request_id))?;
    upload::stage(body, &framing, path).await
}

pub(super) fn user_metadata(call: &S3Call<'_>) -> String {
    let pairs: Vec<(String, String)> = call
        .headers
        .iter()
        .filter_map(|(n, v)| {
            let lower = n.to_ascii_lowercase();
            lower
                .strip_prefix("x-amz-meta-")
                .map(|name| (name.to_string(), v.clone()))
        })
        .collect();
    serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".into())
}

pub(super) fn content_type(call: &S3Call<'_>) -> String {
    call.header("content-type")
        .filter(|t| !t.is_empty())
        .unwrap_or("binary/octet-stream")
        .to_string()
}

/// The request's bucket (with its owner) and key, once `action` on the
/// object is allowed.
pub(super) fn authorized_object(
    call: &S3Call<'_>,
    action: &str,
) -> Result<(String, Bucket, String), ServiceError> {
    let (owner, bucket) = call.bucket()?;
    let key = key(call);
    call.authorize(
        action,
        &object_arn(&bucket.name, &key),
        Some((&owner, &bucket)),
        &Context::default(),
    )?;
    Ok((owner, bucket, key))
}

/// `PutObject`: authorized before the body is read; the body is streamed
/// to a staging file, checked, then committed.
pub async fn put(call: &S3Call<'_>, body: Incoming) -> Result<Response<Body>, ServiceError> {
    let (owner, bucket) = call.bucket()?;
    let key = key(call);
    if key.len() > 1024 {
        return Err(ServiceError::new(
            400,
            "KeyTooLongError",
            "Your key is too long",
        ));
    }
    call.authorize(
        "s3:PutObject",
        &object_arn(&bucket.name, &key),
        Some((&owner, &bucket)),
        &Context::default(),
    )?;
    let staged = stage(call, body).await?;
    let meta = ObjectMeta {
        bucket: bucket.name.clone(),
        key,
        size: staged.size,
        etag: hex::encode(staged.md5),
        content_type: content_type(call),
        last_modified: now_millis(call.twin()),
        blob: staged.sha256.clone(),
        checksums: checksums_json(&staged.checksums),
        metadata: user_metadata(call),
    };
    call.twin()
        .store
        .put_object(&meta, &staged.path)
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&staged.path);
        })?;
    let mut headers = vec![("etag".to_string(), format!("\"{}\"", meta.etag))];
    for (name, value) in &staged.checksums {
        headers.push((
            format!("x-amz-checksum-{}", name.to_ascii_lowercase()),
            value.clone(),
        ));
    }
    Ok(empty_response(200, &headers))
}

fn checksums_json(checksums: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = checksums
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// The missing key's error: `NoSuchKey` to a caller that may list the
/// bucket, `AccessDenied` to one that may not (S3 hides what exists).
fn missing_key(call: &S3Call<'_>, owner: &str, bucket: &Bucket) -> ServiceError {
    let arn = format!("arn:aws:s3:::{}", bucket.name);
    match call.authorize(
        "s3:ListBucket",
        &arn,
        Some((owner, bucket)),
        &Context::default(),
    ) {
        Ok(()) => ServiceError::new(404, "NoSuchKey", "The specified key does not exist."),
        Err(denied) => denied,
    }
}

/// `bytes=A-B`, `bytes=A-`, `bytes=-N` within `size`: the first and last
/// byte; `Ok(None)` for no range; `InvalidRange` when unsatisfiable.
fn range(header: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, ServiceError> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        // S3 serves one range; others it answers whole.
        return Ok(None);
    }
    let invalid = || {
        ServiceError::new(
            416,
            "InvalidRange",
            "The requested range is not satisfiable",
        )
    };
    let (first, last) = spec.split_once('-').ok_or_else(invalid)?;
    let parsed = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| invalid())?;
            if n == 0 || size == 0 {
                return Err(invalid());
            }
            (size.saturating_sub(n), size - 1)
        }
        (a, "") => (a.parse().map_err(|_| invalid())?, size.saturating_sub(1)),
        (a, b) => {
            let a: u64 = a.parse().map_err(|_| invalid())?;
            let b: u64 = b.parse().map_err(|_| invalid())?;
            if b < a {
                return Ok(None);
            }
            (a, b.min(size.saturating_sub(1)))
        }
    };
    if parsed.0 >= size {
        return Err(invalid());
    }
    Ok(Some(parsed))
}

fn etag_matches(condition: &str, etag: &str) -> bool {
    condition
        .split(',')
        .map(|c| c.trim().trim_matches('"'))
        .any(|c| c == "*" || c == etag)
}

/// `GetObject` and `HeadObject`: the body streamed from its file.
pub async fn get(call: &S3Call<'_>, head: bool) -> Result<Response<Body>, ServiceError> {
    let (owner, bucket, key) = authorized_object(call, "s3:GetObject")?;
    let Some(meta) = call.twin().store.object(&bucket.name, &key)? else {
        return Err(missing_key(call, &owner, &bucket));
    };
    if let Some(condition) = call.header("if-match")
        && !etag_matches(condition, &meta.etag)
    {
        return Err(ServiceError::new(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        ));
    }
    let etag = format!("\"{}\"", meta.etag);
    let mut headers = vec![
        ("etag".to_string(), etag.clone()),
        ("last-modified".to_string(), http_date(meta.last_modified)),
        ("accept-ranges".to_string(), "bytes".to_string()),
        ("content-type".to_string(), meta.content_type.clone()),
    ];
    if let Some(condition) = call.header("if-none-match")
        && etag_matches(condition, &meta.etag)
    {
        return Ok(empty_response(304, &headers));
    }
    let pairs: Vec<(String, String)> = serde_json::from_str(&meta.metadata).unwrap_or_default();
    for (name, value) in pairs {
        headers.push((format!("x-amz-meta-{name}"), value));
    }
    let range = range(call.header("range"), meta.size)?;
    let (start, length, status) = match range {
        Some((first, last)) => {
            headers.push((
                "content-range".to_string(),
                format!("bytes {first}-{last}/{}", meta.size),
            ));
            (first, last - first + 1, 206)
        }
        None => {
            if call
                .header("x-amz-checksum-mode")
                .is_some_and(|m| m.eq_ignore_ascii_case("ENABLED"))
            {
                let stored: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&meta.checksums).unwrap_or_default();
                for (name, value) in stored {
                    if let Some(value) = value.as_str() {
                        headers.push((
                            format!("x-amz-checksum-{}", name.to_ascii_lowercase()),
                            value.to_string(),
                        ));
                    }
                }
            }
            (0, meta.size, 200)
        }
    };
    headers.push(("content-length".to_string(), length.to_string()));
    if head {
        return Ok(empty_response(status, &headers));
    }
    let path = call.twin().store.blob_path(&meta.blob);
    let mut file = tokio::fs::File::open(&path).await.map_err(internal)?;
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(internal)?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(length), 64 * 1024)
        .map_ok(Frame::data);
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(n, v);
        }
    }
    Ok(response)
}

/// `DeleteObject`: 204 whether or not the key existed, as S3 answers.
pub fn delete(call: &S3Call<'_>) -> Result<Response<Body>, ServiceError> {
    let (_, bucket, key) = authorized_object(call, "s3:DeleteObject")?;
    call.twin().store.delete_object(&bucket.name, &key)?;
    Ok(empty_response(204, &[]))
}

/// `DeleteObjects`: each key authorized and deleted on its own; the result
/// lists what was deleted (unless `Quiet`) and what failed.
pub async fn delete_many(
    call: &S3Call<'_>,
    body: Incoming,
) -> Result<Response<Body>, ServiceError> {
    let (owner, bucket) = call.bucket()?;
    let body = small_body(call, body).await?;
    let elements = xml::elements(&body)?;
    let quiet =
        xml::text(&elements, "Delete/Quiet").is_some_and(|q| q.eq_ignore_ascii_case("true"));
    let keys: Vec<String> = xml::items(&elements, "Delete/Object")
        .into_iter()
        .filter_map(|item| item.into_iter().find(|(n, _)| n == "Key").map(|(_, v)| v))
        .collect();
    if keys.is_empty() || keys.len() > 1000 {
        return Err(xml::malformed());
    }
    let mut inner = String::new();
    for key in keys {
        let arn = object_arn(&bucket.name, &key);
        let outcome = call
            .authorize(
                "s3:DeleteObject",
                &arn,
                Some((&owner, &bucket)),
                &Context::default(),
            )
            .and_then(|()| Ok(call.twin().store.delete_object(&bucket.name, &key)?));
        match outcome {
            Ok(_) if quiet => {}
            Ok(_) => {
                inner.push_str("<Deleted>");
                xml::element(&mut inner, "Key", &key);
                inner.push_str("</Deleted>");
            }
            Err(e) => {
                inner.push_str("<Error>");
                xml::element(&mut inner, "Key", &key);
                xml::element(&mut inner, "Code", &e.code);
                xml::element(&mut inner, "Message", &e.message);
                inner.push_str("</Error>");
            }
        }
    }
    Ok(xml_response(xml::document("DeleteResult", &inner)))
}

/// Percent-encodes a key for `encoding-type=url` listings.
fn url_encode(text: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(text, SET).to_string()
}

/// The largest code point: a key that starts with `prefix` sorts before
/// `prefix + MAX_CHAR`, so listing from there skips the whole prefix.
const MAX_CHAR: char = '\u{10FFFF}';

/// `ListObjects` (v1, `marker`) and `ListObjectsV2` (`continuation-token`,
/// `start-after`), with `prefix`, `delimiter`, `max-keys` and
/// `encoding-type=url`.
pub fn list(call: &S3Call<'_>, v2: bool) -> Result<Response<Body>, ServiceError> {
    let (owner, bucket) = call.bucket()?;
    let prefix = call.param("prefix").unwrap_or_default().to_string();
    let delimiter = call.param("delimiter").unwrap_or_default().to_string();
    let max_keys: usize = match call.param("max-keys") {
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| {
                ServiceError::new(
                    400,
                    "InvalidArgument",
                    "Provided max-keys not an integer or within integer range",
                )
            })?
            .min(1000),
        None => 1000,
    };
    let url = match call.param("encoding-type") {
        None => false,
        Some("url") => true,
        Some(_) => {
            return Err(ServiceError::new(
                400,
                "InvalidArgument",
                "Invalid Encoding Method specified in Request",
            ));
        }
    };
    let mut context = Context::default();
    context.insert("s3:prefix", prefix.clone());
    if !delimiter.is_empty() {
        context.insert("s3:delimiter", delimiter.clone());
    }
    context.insert("s3:max-keys", max_keys.to_string());
    call.authorize(
        "s3:ListBucket",
        &format!("arn:aws:s3:::{}", bucket.name),
        Some((&owner, &bucket)),
        &context,
    )?;
    let token = call.param("continuation-token");
    let start = if v2 {
        match token {
            Some(token) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(token)
                    .map_err(|_| {
                        ServiceError::new(
                            400,
                            "InvalidArgument",
                            "The continuation token provided is incorrect",
                        )
                    })?;
                String::from_utf8(bytes).map_err(|_| {
                    ServiceError::new(
                        400,
                        "InvalidArgument",
                        "The continuation token provided is incorrect",
                    )
                })?
            }
            None => call.param("start-after").unwrap_or_default().to_string(),
        }
    } else {
        call.param("marker").unwrap_or_default().to_string()
    };
    let store = &call.twin().store;
    let mut after = start.clone();
    let mut contents: Vec<ObjectMeta> = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut last = String::new();
    'pages: loop {
        if max_keys == 0 {
            break;
        }
        let page = store.list_objects(&bucket.name, &prefix, &after, 1000)?;
        if page.is_empty() {
            break;
        }
        let mut next_after = None;
        for object in page {
            if contents.len() + prefixes.len() >= max_keys {
                truncated = true;
                break 'pages;
            }
            let rest = object.key.get(prefix.len()..).unwrap_or_default();
            let common = (!delimiter.is_empty())
                .then(|| rest.find(&delimiter))
                .flatten()
                .map(|at| {
                    format!(
                        "{prefix}{}",
                        rest.get(..at + delimiter.len()).unwrap_or_default()
                    )
                });
            match common {
                Some(common) => {
                    last = common.clone();
                    prefixes.push(common.clone());
                    next_after = Some(format!("{common}{MAX_CHAR}"));
                    break;
                }
                None => {
                    last = object.key.clone();
                    after = object.key.clone();
                    contents.push(object);
                }
            }
        }
        if let Some(next) = next_after {
            after = next;
        }
    }
    let encode = |text: &str| {
        if url {
            url_encode(text)
        } else {
            text.to_string()
        }
    };
    let mut inner = String::new();
    xml::element(&mut inner, "Name", &bucket.name);
    xml::element(&mut inner, "Prefix", &encode(&prefix));
    if v2 {
        xml::element(
            &mut inner,
            "KeyCount",
            &(contents.len() + prefixes.len()).to_string(),
        );
        if let Some(token) = token {
            xml::element(&mut inner, "ContinuationToken", token);
        }
        if let Some(start_after) = call.param("start-after") {
            xml::element(&mut inner, "StartAfter", &encode(start_after));
        }
    } else {
        xml::element(&mut inner, "Marker", &encode(&start));
    }
    xml::element(&mut inner, "MaxKeys", &max_keys.to_string());
    if !delimiter.is_empty() {
        xml::element(&mut inner, "Delimiter", &encode(&delimiter));
    }
    if url {
        xml::element(&mut inner, "EncodingType", "url");
    }
    xml::element(
        &mut inner,
        "IsTruncated",
        if truncated { "true" } else { "false" },
    );
    if truncated {
        let resume = if prefixes.last() == Some(&last) {
            format!("{last}{MAX_CHAR}")
        } else {
            last.clone()
        };
        if v2 {
            let token = base64::engine::general_purpose::STANDARD.encode(resume.as_bytes());
            xml::element(&mut inner, "NextContinuationToken", &token);
        } else if !delimiter.is_empty() {
            xml::element(&mut inner, "NextMarker", &encode(&last));
        }
    }
    let show_owner = !v2 || call.param("fetch-owner") == Some("true");
    let owner_id = S3Call::canonical_id(&owner);
    for object in &contents {
        inner.push_str("<Contents>");
        xml::element(&mut inner, "Key", &encode(&object.key));
        xml::element(&mut inner, "LastModified", &iso_time(object.last_modified));
        xml::element(&mut inner, "ETag", &format!("\"{}\"", object.etag));
        xml::element(&mut inner, "Size", &object.size.to_string());
        if show_owner {
            inner.push_str("<Owner>");
            xml::element(&mut inner, "ID", &owner_id);
            inner.push_str("</Owner>");
        }
        xml::element(&mut inner, "StorageClass", "STANDARD");
        inner.push_str("</Contents>");
    }
    for common in &prefixes {
        inner.push_str("<CommonPrefixes>");
        xml::element(&mut inner, "Prefix", &encode(common));
        inner.push_str("</CommonPrefixes>");
    }
    Ok(xml_response(xml::document("ListBucketResult", &inner)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_s3_reads_them() {
        assert_eq!(range(Some("bytes=0-9"), 100).unwrap(), Some((0, 9)));
        assert_eq!(range(Some("bytes=90-"), 100).unwrap(), Some((90, 99)));
        assert_eq!(range(Some("bytes=-10"), 100).unwrap(), Some((90, 99)));
        assert_eq!(range(Some("bytes=95-200"), 100).unwrap(), Some((95, 99)));
        assert_eq!(
            range(Some("bytes=100-"), 100).unwrap_err().code,
            "InvalidRange"
        );
        assert_eq!(range(None, 100).unwrap(), None);
        assert_eq!(range(Some("bytes=9-0"), 100).unwrap(), None);
    }

    #[test]
    fn listing_keys_are_url_encoded_when_asked() {
        assert_eq!(url_encode("reports/a b+c.csv"), "reports/a%20b%2Bc.csv");
    }
}
