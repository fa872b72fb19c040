//! Encoded authorization messages: every `AccessDenied` the twin returns
//! carries one, and `sts:DecodeAuthorizationMessage` turns it back into the
//! engine's explanation (which policies, statements and keys decided).
//!
//! The message is the decision as JSON, encrypted so that only a caller
//! allowed `sts:DecodeAuthorizationMessage` can read it, as in AWS: a random
//! 16-byte nonce, the JSON XORed with an HMAC-SHA256 keystream
//! (`HMAC(key, nonce || counter)`), and an HMAC-SHA256 tag over both; the key
//! is generated once per state and kept in it. Base64url, no padding.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn keystream_xor(key: &[u8], nonce: &[u8], data: &mut [u8]) {
    for (counter, chunk) in data.chunks_mut(32).enumerate() {
        let block = mac(key, &[b"stream", nonce, &(counter as u64).to_be_bytes()]);
        for (byte, k) in chunk.iter_mut().zip(block.iter()) {
            *byte ^= k;
        }
    }
}

/// Encrypts `plaintext` under `key`.
pub fn encode(key: &[u8], plaintext: &str) -> String {
    let nonce = crate::ids::random_bytes(16);
    let mut body = plaintext.as_bytes().to_vec();
    keystream_xor(key, &nonce, &mut body);
    let tag = mac(key, &[b"tag", &nonce, &body]);
    let mut out = nonce;
    out.extend_from_slice(&body);
    out.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(out)
}

/// Decrypts a message, or `None` when it was not made with `key`.
pub fn decode(key: &[u8], encoded: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(encoded.trim()).ok()?;
    if bytes.len() < 48 {
        return None;
    }
    let (nonce, rest) = bytes.split_at(16);
    let (body, tag) = rest.split_at(rest.len() - 32);
    let expected = mac(key, &[b"tag", nonce, body]);
    if !bool::from(expected.ct_eq(tag)) {
        return None;
    }
    let mut body = body.to_vec();
    keystream_xor(key, nonce, &mut body);
    String::from_utf8(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let key = b"0123456789abcdef0123456789abcdef";
        let text = r#"{"allowed":false,"explanation":"no statement in the trust policy allows"}"#;
        let encoded = encode(key, text);
        assert!(!encoded.contains("trust"));
        assert_eq!(decode(key, &encoded).as_deref(), Some(text));
        assert_eq!(decode(b"another key another key another k", &encoded), None);
        let mut tampered = encoded.into_bytes();
        tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
        assert_eq!(decode(key, &String::from_utf8(tampered).unwrap()), None);
    }
}
