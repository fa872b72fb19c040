//! Reading an upload's body into a staging file, as it arrives.
//!
//! The body is never held whole in memory: each frame is decoded, hashed
//! and written before the next is read. What S3 accepts, by the
//! `x-amz-content-sha256` header:
//!
//! - a SHA-256 in hex: the payload is signed; the body must hash to it
//!   (`XAmzContentSHA256Mismatch`);
//! - `UNSIGNED-PAYLOAD`: nothing to check but the declared checksums;
//! - `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: `aws-chunked` encoding, checksum
//!   in a trailer;
//! - `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (and `-TRAILER`): `aws-chunked`
//!   with each chunk signed, the chain seeded by the request's signature;
//!   every chunk signature is checked (`SignatureDoesNotMatch`).
//!
//! Checksums the client declares (`x-amz-checksum-crc32`, `-crc32c`,
//! `-crc64nvme`, `-sha1`, `-sha256`, in a header or a trailer) and
//! `Content-MD5` are computed and compared (`BadDigest`); the body's MD5 is
//! its ETag and its SHA-256 names its file in the store.

use std::path::PathBuf;

use base64::Engine as _;
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use md5::Md5;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::reply::ServiceError;

/// The largest object one PUT (or one part) may carry, as in S3.
pub const MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
const CRC64NVME: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_NVME);

/// The checksum algorithms S3 knows, by their header suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl Algorithm {
    pub fn from_header(name: &str) -> Option<Algorithm> {
        match name.to_ascii_lowercase().strip_prefix("x-amz-checksum-")? {
            "crc32" => Some(Algorithm::Crc32),
            "crc32c" => Some(Algorithm::Crc32c),
            "crc64nvme" => Some(Algorithm::Crc64Nvme),
            "sha1" => Some(Algorithm::Sha1),
            "sha256" => Some(Algorithm::Sha256),
            _ => None,
        }
    }

    /// `CRC32`, as in `ChecksumCRC32`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "CRC32",
            Algorithm::Crc32c => "CRC32C",
            Algorithm::Crc64Nvme => "CRC64NVME",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
        }
    }

    pub fn header(self) -> String {
        format!("x-amz-checksum-{}", self.name().to_ascii_lowercase())
    }
}

/// A running checksum.
enum Running {
    Crc32(crc::Digest<'static, u32>),
    Crc32c(crc::Digest<'static, u32>),
    Crc64(crc::Digest<'static, u64>),
    Sha1(sha1::Sha1),
    Sha256(Sha256),
}

impl Running {
    fn new(algorithm: Algorithm) -> Running {
        match algorithm {
            Algorithm::Crc32 => Running::Crc32(CRC32.digest()),
            Algorithm::Crc32c => Running::Crc32c(CRC32C.digest()),
            Algorithm::Crc64Nvme => Running::Crc64(CRC64NVME.digest()),
            Algorithm::Sha1 => Running::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Running::Sha256(Sha256::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Running::Crc32(d) | Running::Crc32c(d) => d.update(data),
            Running::Crc64(d) => d.update(data),
            Running::Sha1(d) => d.update(data),
            Running::Sha256(d) => d.update(data),
        }
    }

    /// Base64 of the big-endian value, as S3 writes checksums.
    fn finish(self) -> String {
        let bytes = match self {
            Running::Crc32(d) | Running::Crc32c(d) => d.finalize().to_be_bytes().to_vec(),
            Running::Crc64(d) => d.finalize().to_be_bytes().to_vec(),
            Running::Sha1(d) => d.finalize().to_vec(),
            Running::Sha256(d) => d.finalize().to_vec(),
        };
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

/// How the body is framed and what its payload hash header says.
#[derive(Clone, Debug)]
pub struct Framing {
    /// `x-amz-content-sha256`, when a hex digest.
    pub signed_sha256: Option<String>,
    /// `aws-chunked` encoding.
    pub chunked: bool,
    /// For signed chunks: the signing key, the seed signature, the request's
    /// date and scope.
    pub chunk_signing: Option<ChunkSigning>,
    /// `x-amz-decoded-content-length` (chunked) or `Content-Length`.
    pub declared_length: Option<u64>,
    /// Checksums declared in headers, to compare.
    pub expected: Vec<(Algorithm, String)>,
    /// Checksums to compute because a trailer will carry them.
    pub trailer: Vec<Algorithm>,
    /// `Content-MD5`, base64.
    pub content_md5: Option<String>,
}

/// `Debug` hides the signing key and the seed signature.
#[derive(Clone)]
pub struct ChunkSigning {
    pub key: Vec<u8>,
    pub seed: String,
    pub amz_date: String,
    pub scope: String,
}

impl std::fmt::Debug for ChunkSigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkSigning")
            .field("key", &crate::sigv4::REDACTED)
            .field("seed", &crate::sigv4::REDACTED)
            .field("amz_date", &self.amz_date)
            .field("scope", &self.scope)
            .finish()
    }
}

/// A body written to its staging file.
#[derive(Debug)]
pub struct Staged {
    pub path: PathBuf,
    pub size: u64,
    pub md5: [u8; 16],
    pub sha256: String,
    /// Verified checksums, `(algorithm name, base64)`.
    pub checksums: Vec<(String, String)>,
}

fn bad_request(code: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::new(400, code, message)
}

struct Sink {
    file: tokio::fs::File,
    size: u64,
    md5: Md5,
    sha256: Sha256,
    running: Vec<(Algorithm, Running)>,
}

impl Sink {
    async fn write(&mut self, data: &[u8]) -> Result<(), ServiceError> {
        self.size = self.size.saturating_add(data.len() as u64);
        if self.size > MAX_PUT_BYTES {
            return Err(bad_request(
                "EntityTooLarge",
                format!(
                    "Your proposed upload exceeds the maximum allowed size of {MAX_PUT_BYTES} bytes."
                ),
            ));
        }
        self.md5.update(data);
        self.sha256.update(data);
        for (_, r) in &mut self.running {
            r.update(data);
        }
        self.file.write_all(data).await.map_err(internal)
    }
}

fn internal(e: std::io::Error) -> ServiceError {
    tracing::error!(error = %e, "writing an upload to the state failed");
    ServiceError::new(
        500,
        "InternalError",
        "We encountered an internal error. Please try again.",
    )
}

/// Reads `body` into a new staging file at `path`; on any error the file is
/// removed.
pub async fn stage(
    body: Incoming,
    framing: &Framing,
    path: PathBuf,
) -> Result<Staged, ServiceError> {
    let result = stage_inner(body, framing, &path).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&path).await;
    }
    result
}

async fn stage_inner(
    mut body: Incoming,
    framing: &Framing,
    path: &PathBuf,
) -> Result<Staged, ServiceError> {
    if framing.declared_length.is_some_and(|n| n > MAX_PUT_BYTES) {
        return Err(bad_request(
            "EntityTooLarge",
            format!(
                "Your proposed upload exceeds the maximum allowed size of {MAX_PUT_BYTES} bytes."
            ),
        ));
    }
    let file = tokio::fs::File::create(path).await.map_err(internal)?;
    let mut algorithms: Vec<Algorithm> = framing.expected.iter().map(|(a, _)| *a).collect();
    algorithms.extend(framing.trailer.iter().copied());
    algorithms.dedup();
    let mut sink = Sink {
        file,
        size: 0,
        md5: Md5::new(),
        sha256: Sha256::new(),
        running: algorithms.iter().map(|a| (*a, Running::new(*a))).collect(),
    };
    let mut decoder = framing
        .chunked
        .then(|| Chunked::new(framing.chunk_signing.clone()));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            bad_request(
                "IncompleteBody",
                format!("The request body could not be read: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        match &mut decoder {
            Some(decoder) => {
                for piece in decoder.push(data)? {
                    sink.write(&piece).await?;
                }
            }
            None => sink.write(&data).await?,
        }
    }
    let trailers = match decoder {
        Some(decoder) => decoder.finish()?,
        None => Vec::new(),
    };
    sink.file.flush().await.map_err(internal)?;
    sink.file.sync_data().await.map_err(internal)?;
    if let Some(declared) = framing.declared_length
        && declared != sink.size
    {
        return Err(bad_request(
            "IncompleteBody",
            format!(
                "You did not provide the number of bytes specified by the Content-Length HTTP header ({declared}; {} received).",
                sink.size
            ),
        ));
    }
    let md5: [u8; 16] = sink.md5.finalize().into();
    let sha256 = hex::encode(sink.sha256.finalize());
    if let Some(expected) = &framing.signed_sha256
        && !expected.eq_ignore_ascii_case(&sha256)
    {
        return Err(payload_mismatch());
    }
    if let Some(expected) = &framing.content_md5 {
        let computed = base64::engine::general_purpose::STANDARD.encode(md5);
        if *expected != computed {
            return Err(bad_request(
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
            ));
        }
    }
    let mut declared: Vec<(Algorithm, String)> = framing.expected.clone();
    for (name, value) in trailers {
        if let Some(algorithm) = Algorithm::from_header(&name) {
            declared.push((algorithm, value));
        }
    }
    let mut checksums = Vec::new();
    for (algorithm, running) in sink.running {
        let computed = running.finish();
        if let Some((_, expected)) = declared.iter().find(|(a, _)| *a == algorithm) {
            if *expected != computed {
                return Err(bad_request(
                    "BadDigest",
                    format!(
                        "The {} you specified did not match the calculated checksum.",
                        algorithm.name()
                    ),
                ));
            }
            checksums.push((algorithm.name().to_string(), computed));
        }
    }
    Ok(Staged {
        path: path.clone(),
        size: sink.size,
        md5,
        sha256,
        checksums,
    })
}

/// The `aws-chunked` decoder: `HEX-SIZE[;chunk-signature=SIG]\r\n DATA \r\n`
/// until a chunk of size 0, then trailer lines and an empty line.
struct Chunked {
    buffer: BytesMut,
    /// Bytes left in the current chunk's data, and its hash for signing.
    in_chunk: Option<(usize, Option<Sha256>, Option<String>)>,
    /// After the last chunk: reading trailers.
    trailing: bool,
    done: bool,
    trailers: Vec<(String, String)>,
    signing: Option<ChunkSigning>,
    previous: String,
}

/// A body that does not hash to the signed `x-amz-content-sha256`.
pub fn payload_mismatch() -> ServiceError {
    bad_request(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    )
}

const MAX_CHUNK_HEADER: usize = 4096;
/// Trailers after the last chunk: the SDKs send one checksum (and its
/// signature); a body is never an endless list of them.
const MAX_TRAILERS: usize = 8;

impl Chunked {
    fn new(signing: Option<ChunkSigning>) -> Chunked {
        let previous = signing.as_ref().map(|s| s.seed.clone()).unwrap_or_default();
        Chunked {
            buffer: BytesMut::new(),
            in_chunk: None,
            trailing: false,
            done: false,
            trailers: Vec::new(),
            signing,
            previous,
        }
    }

    fn malformed(what: &str) -> ServiceError {
        bad_request(
            "IncompleteBody",
            format!("The aws-chunked body is malformed: {what}."),
        )
    }

    /// Decodes what `data` completes; returns the payload bytes found.
    fn push(&mut self, data: Bytes) -> Result<Vec<Bytes>, ServiceError> {
        self.buffer.extend_from_slice(&data);
        let mut out = Vec::new();
        loop {
            if self.done {
                if !self.buffer.is_empty() {
                    return Err(Self::malformed("bytes after the end of the body"));
                }
                return Ok(out);
            }
            if let Some((left, hasher, signature)) = &mut self.in_chunk {
                if *left > 0 {
                    if self.buffer.is_empty() {
                        return Ok(out);
                    }
                    let take = (*left).min(self.buffer.len());
                    let piece = self.buffer.split_to(take).freeze();
                    if let Some(h) = hasher {
                        h.update(&piece);
                    }
                    *left -= take;
                    out.push(piece);
                    continue;
                }
                if self.buffer.len() < 2 {
                    return Ok(out);
                }
                if self.buffer.get(..2) != Some(&b"\r\n"[..]) {
                    return Err(Self::malformed("a chunk does not end with CRLF"));
                }
                self.buffer.advance(2);
                let hash = hasher.take().map(|h| hex::encode(h.finalize()));
                let signature = signature.take();
                self.in_chunk = None;
                if let (Some(hash), Some(signature)) = (hash, signature) {
                    self.check_signature(&hash, &signature)?;
                }
                continue;
            }
            let Some(end) = find_crlf(&self.buffer) else {
                if self.buffer.len() > MAX_CHUNK_HEADER {
                    return Err(Self::malformed("a chunk header is too long"));
                }
                return Ok(out);
            };
            let line =
                String::from_utf8_lossy(self.buffer.get(..end).unwrap_or_default()).into_owned();
            self.buffer.advance(end + 2);
            if self.trailing {
                self.trailer_line(&line)?;
                continue;
            }
            let (size, extension) = line.split_once(';').unwrap_or((line.as_str(), ""));
            let size = usize::from_str_radix(size.trim(), 16)
                .map_err(|_| Self::malformed("a chunk size is not hexadecimal"))?;
            let signature = extension
                .trim()
                .strip_prefix("chunk-signature=")
                .map(str::to_string);
            if self.signing.is_some() && signature.is_none() {
                return Err(bad_request(
                    "SignatureDoesNotMatch",
                    "A chunk of a signed aws-chunked body has no chunk-signature.",
                ));
            }
            let hasher = self.signing.as_ref().map(|_| Sha256::new());
            if size == 0 {
                if let (Some(hasher), Some(signature)) = (hasher, signature) {
                    self.check_signature(&hex::encode(hasher.finalize()), &signature)?;
                }
                self.trailing = true;
                continue;
            }
            self.in_chunk = Some((size, hasher, signature));
        }
    }

    fn trailer_line(&mut self, line: &str) -> Result<(), ServiceError> {
        if line.is_empty() {
            self.done = true;
            return Ok(());
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| Self::malformed("a trailer line has no `:`"))?;
        let name = name.trim().to_ascii_lowercase();
        if name == "x-amz-trailer-signature" {
            if let Some(signing) = &self.signing {
                let mut canonical = String::new();
                for (n, v) in &self.trailers {
                    canonical.push_str(&format!("{n}:{v}\n"));
                }
                let string_to_sign = format!(
                    "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
                    signing.amz_date,
                    signing.scope,
                    self.previous,
                    hex::encode(Sha256::digest(canonical.as_bytes()))
                );
                let expected = crate::sigv4::hmac_hex(&signing.key, string_to_sign.as_bytes());
                if !crate::sigv4::equal(&expected, value.trim()) {
                    return Err(ServiceError::new(
                        403,
                        "SignatureDoesNotMatch",
                        "The trailer signature does not match.",
                    ));
                }
            }
            return Ok(());
        }
        if self.trailers.len() >= MAX_TRAILERS {
            return Err(Self::malformed("more trailers than an upload carries"));
        }
        self.trailers.push((name, value.trim().to_string()));
        Ok(())
    }

    fn check_signature(&mut self, chunk_sha256: &str, signature: &str) -> Result<(), ServiceError> {
        let Some(signing) = &self.signing else {
            return Ok(());
        };
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{}\n{}",
            signing.amz_date,
            signing.scope,
            self.previous,
            crate::sigv4::EMPTY_SHA256,
            chunk_sha256
        );
        let expected = crate::sigv4::hmac_hex(&signing.key, string_to_sign.as_bytes());
        if !crate::sigv4::equal(&expected, signature) {
            return Err(ServiceError::new(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            ));
        }
        self.previous = signature.to_string();
        Ok(())
    }

    fn finish(self) -> Result<Vec<(String, String)>, ServiceError> {
        let ended =
            self.done || (self.trailing && self.buffer.is_empty() && self.trailers.is_empty());
        if !ended || self.in_chunk.is_some() {
            return Err(Self::malformed("the body ended before its last chunk"));
        }
        Ok(self.trailers)
    }
}

fn find_crlf(buffer: &[u8]) -> Option<usize> {
    buffer.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    type Decoded = (Vec<u8>, Vec<(String, String)>);

    fn decode(parts: &[&[u8]], signing: Option<ChunkSigning>) -> Result<Decoded, ServiceError> {
        let mut chunked = Chunked::new(signing);
        let mut out = Vec::new();
        for part in parts {
            for piece in chunked.push(Bytes::copy_from_slice(part))? {
                out.extend_from_slice(&piece);
            }
        }
        let trailers = chunked.finish()?;
        Ok((out, trailers))
    }

    #[test]
    fn unsigned_chunks_with_a_trailer_decode_across_any_split() {
        let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        for split in 0..body.len() {
            let (a, b) = body.split_at(split);
            let (data, trailers) = decode(&[a, b], None).unwrap();
            assert_eq!(data, b"hello world");
            assert_eq!(
                trailers,
                [("x-amz-checksum-crc32".to_string(), "DUoRhQ==".to_string())]
            );
        }
    }

    #[test]
    fn malformed_chunks_are_refused() {
        assert!(decode(&[b"zz\r\n"], None).is_err());
        assert!(decode(&[b"5\r\nhelloXX0\r\n\r\n"], None).is_err());
        assert!(decode(&[b"5\r\nhel"], None).is_err(), "cut short");
        assert!(decode(&[b"0\r\n\r\nextra"], None).is_err());
        // An endless trailer section is cut off, not collected.
        let mut endless = b"0\r\n".to_vec();
        for _ in 0..10_000 {
            endless.extend_from_slice(b"a:b\r\n");
        }
        assert!(decode(&[&endless], None).is_err());
    }

    #[test]
    fn signed_chunks_are_checked() {
        // The example of AWS's SigV4 streaming documentation shape, with our
        // own key: sign two chunks, then tamper with the second.
        let signing = ChunkSigning {
            key: b"key".to_vec(),
            seed: "seed".into(),
            amz_date: "20261203T000000Z".into(),
            scope: "20261203/us-east-1/s3/aws4_request".into(),
        };
        let sign = |previous: &str, data: &[u8]| {
            let sts = format!(
                "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{}\n{}",
                signing.amz_date,
                signing.scope,
                previous,
                crate::sigv4::EMPTY_SHA256,
                hex::encode(Sha256::digest(data))
            );
            crate::sigv4::hmac_hex(&signing.key, sts.as_bytes())
        };
        let first = sign("seed", b"hello");
        let last = sign(&first, b"");
        let body =
            format!("5;chunk-signature={first}\r\nhello\r\n0;chunk-signature={last}\r\n\r\n");
        let (data, _) = decode(&[body.as_bytes()], Some(signing.clone())).unwrap();
        assert_eq!(data, b"hello");
        let tampered = body.replace("hello", "jello");
        let error = decode(&[tampered.as_bytes()], Some(signing)).unwrap_err();
        assert_eq!(error.code, "SignatureDoesNotMatch");
    }

    #[test]
    fn checksums_are_base64_of_big_endian_values() {
        let mut r = Running::new(Algorithm::Crc32);
        r.update(b"hello world");
        assert_eq!(r.finish(), "DUoRhQ==");
        let mut r = Running::new(Algorithm::Sha256);
        r.update(b"");
        assert_eq!(r.finish(), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }
}
