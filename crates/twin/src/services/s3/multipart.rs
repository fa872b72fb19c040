//! Multipart uploads: `CreateMultipartUpload`, `UploadPart`,
//! `CompleteMultipartUpload` and `AbortMultipartUpload`. Each call is
//! authorized as `s3:PutObject` on the object (`s3:AbortMultipartUpload` to
//! abort); parts are streamed to staging files and kept in the store until
//! the upload is completed (joined into the object) or aborted.

use std::path::PathBuf;

use hyper::Response;
use hyper::body::Incoming;
use md5::{Digest, Md5};
use orgtwin_store::{ObjectMeta, Part, Upload};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::objects::{authorized_object, content_type, internal, stage, user_metadata};
use super::{Body, S3Call, empty_response, now_millis, small_body, xml, xml_response};
use crate::reply::ServiceError;

/// The smallest part of a multipart upload, but the last.
const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
const MAX_PARTS: u32 = 10_000;

fn no_such_upload() -> ServiceError {
    ServiceError::new(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
}

/// The upload named by `uploadId`, which must be for this bucket and key.
fn this_upload(call: &S3Call<'_>, bucket: &str, key: &str) -> Result<Upload, ServiceError> {
    let id = call.param("uploadId").unwrap_or_default();
    call.twin()
        .store
        .upload(id)?
        .filter(|u| u.bucket == bucket && u.key == key)
        .ok_or_else(no_such_upload)
}

pub fn create_upload(call: &S3Call<'_>) -> Result<Response<Body>, ServiceError> {
    let (_, bucket, key) = authorized_object(call, "s3:PutObject")?;
    let upload = Upload {
        upload_id: format!(
            "{}{}",
            crate::ids::request_id().replace('-', ""),
            crate::ids::request_id().replace('-', "")
        ),
        bucket: bucket.name.clone(),
        key: key.clone(),
        initiated: now_millis(call.twin()),
        content_type: content_type(call),
        metadata: user_metadata(call),
        initiator: call.caller().arn(),
    };
    call.twin().store.create_upload(&upload)?;
    let mut inner = String::new();
    xml::element(&mut inner, "Bucket", &bucket.name);
    xml::element(&mut inner, "Key", &key);
    xml::element(&mut inner, "UploadId", &upload.upload_id);
    Ok(xml_response(xml::document(
        "InitiateMultipartUploadResult",
        &inner,
    )))
}

pub async fn upload_part(
    call: &S3Call<'_>,
    body: Incoming,
) -> Result<Response<Body>, ServiceError> {
    let (_, bucket, key) = authorized_object(call, "s3:PutObject")?;
    let upload = this_upload(call, &bucket.name, &key)?;
    let part_number: u32 = call
        .param("partNumber")
        .and_then(|p| p.parse().ok())
        .filter(|n| (1..=MAX_PARTS).contains(n))
        .ok_or_else(|| {
            ServiceError::new(
                400,
                "InvalidArgument",
                format!("Part number must be an integer between 1 and {MAX_PARTS}, inclusive"),
            )
        })?;
    let staged = stage(call, body).await?;
    let part = Part {
        part_number,
        size: staged.size,
        etag: hex::encode(staged.md5),
        md5: staged.md5.to_vec(),
    };
    call.twin()
        .store
        .put_part(&upload.upload_id, &part, &staged.path)
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&staged.path);
        })?;
    let mut headers = vec![("etag".to_string(), format!("\"{}\"", part.etag))];
    for (name, value) in &staged.checksums {
        headers.push((
            format!("x-amz-checksum-{}", name.to_ascii_lowercase()),
            value.clone(),
        ));
    }
    Ok(empty_response(200, &headers))
}

/// `CompleteMultipartUpload`: the listed parts, in ascending order, each
/// with its ETag, all but the last at least 5 MiB, are joined into the
/// object (ETag: MD5 of the parts' MD5s, `-N`).
pub async fn complete_upload(
    call: &S3Call<'_>,
    body: Incoming,
) -> Result<Response<Body>, ServiceError> {
    let (_, bucket, key) = authorized_object(call, "s3:PutObject")?;
    let upload = this_upload(call, &bucket.name, &key)?;
    let body = small_body(call, body).await?;
    let elements = xml::elements(&body)?;
    let mut listed: Vec<(u32, String)> = Vec::new();
    for item in xml::items(&elements, "CompleteMultipartUpload/Part") {
        let field = |name: &str| item.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let number = field("PartNumber")
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or_else(xml::malformed)?;
        let etag = field("ETag")
            .unwrap_or_default()
            .trim_matches('"')
            .to_string();
        listed.push((number, etag));
    }
    if listed.is_empty() {
        return Err(ServiceError::new(
            400,
            "MalformedXML",
            "You must specify at least one part",
        ));
    }
    if listed.windows(2).any(|w| matches!(w, [a, b] if a.0 >= b.0)) {
        return Err(ServiceError::new(
            400,
            "InvalidPartOrder",
            "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
        ));
    }
    let stored = call.twin().store.parts(&upload.upload_id)?;
    let mut chosen: Vec<(Part, PathBuf)> = Vec::new();
    for (number, etag) in &listed {
        let found = stored
            .iter()
            .find(|(p, _)| p.part_number == *number && p.etag == *etag);
        let Some(found) = found else {
            return Err(ServiceError::new(
                400,
                "InvalidPart",
                "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
            ));
        };
        chosen.push(found.clone());
    }
    let count = chosen.len();
    if chosen
        .iter()
        .take(count.saturating_sub(1))
        .any(|(p, _)| p.size < MIN_PART_BYTES)
    {
        return Err(ServiceError::new(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed object size.",
        ));
    }
    let staging = call
        .twin()
        .store
        .staging_path(&format!("{}.complete", upload.upload_id))?;
    let joined = join_parts(&chosen, &staging).await;
    let (size, sha256) = match joined {
        Ok(found) => found,
        Err(e) => {
            let _ = tokio::fs::remove_file(&staging).await;
            return Err(internal(e));
        }
    };
    let mut md5s = Md5::new();
    for (part, _) in &chosen {
        md5s.update(&part.md5);
    }
    let etag = format!("{}-{count}", hex::encode(md5s.finalize()));
    let meta = ObjectMeta {
        bucket: bucket.name.clone(),
        key: key.clone(),
        size,
        etag: etag.clone(),
        content_type: upload.content_type.clone(),
        last_modified: now_millis(call.twin()),
        blob: sha256,
        checksums: "{}".into(),
        metadata: upload.metadata.clone(),
    };
    call.twin()
        .store
        .complete_upload(&meta, &staging, &upload.upload_id)?;
    let mut inner = String::new();
    xml::element(&mut inner, "Location", &format!("/{}/{}", bucket.name, key));
    xml::element(&mut inner, "Bucket", &bucket.name);
    xml::element(&mut inner, "Key", &key);
    xml::element(&mut inner, "ETag", &format!("\"{etag}\""));
    Ok(xml_response(xml::document(
        "CompleteMultipartUploadResult",
        &inner,
    )))
}

/// Copies the parts, in order, into one staging file; its size and SHA-256.
async fn join_parts(parts: &[(Part, PathBuf)], target: &PathBuf) -> std::io::Result<(u64, String)> {
    use sha2::Digest as _;
    let mut out = tokio::fs::File::create(target).await?;
    let mut sha = sha2::Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 256 * 1024];
    for (_, path) in parts {
        let mut part = tokio::fs::File::open(path).await?;
        loop {
            let n = part.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            let chunk = buffer.get(..n).unwrap_or_default();
            sha.update(chunk);
            out.write_all(chunk).await?;
            size += n as u64;
        }
    }
    out.flush().await?;
    out.sync_data().await?;
    Ok((size, hex::encode(sha.finalize())))
}

pub fn abort_upload(call: &S3Call<'_>) -> Result<Response<Body>, ServiceError> {
    let (_, bucket, key) = authorized_object(call, "s3:AbortMultipartUpload")?;
    let upload = this_upload(call, &bucket.name, &key)?;
    call.twin().store.end_upload(&upload.upload_id)?;
    Ok(empty_response(204, &[]))
}
