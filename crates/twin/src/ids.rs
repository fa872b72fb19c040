//! Random identifiers and secrets for new credentials, from the operating
//! system's generator.

use rand::Rng;
use rand::rngs::OsRng;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn pick(alphabet: &[u8], len: usize) -> String {
    let mut rng = OsRng;
    (0..len)
        .map(|_| {
            char::from(
                alphabet
                    .get(rng.gen_range(0..alphabet.len()))
                    .copied()
                    .unwrap_or(b'A'),
            )
        })
        .collect()
}

/// The twin's [`orgtwin_identity::IdSource`].
#[derive(Debug, Default)]
pub struct RandomIds;

impl orgtwin_identity::IdSource for RandomIds {
    fn access_key_id(&mut self, prefix: &str) -> String {
        format!("{prefix}{}", pick(BASE32, 16))
    }

    fn secret_access_key(&mut self) -> String {
        pick(SECRET_CHARS, 40)
    }

    fn session_token(&mut self) -> String {
        format!("IQoJb3JpZ2luX2VjE{}", pick(SECRET_CHARS, 300))
    }
}

/// A request id in AWS's UUID form.
pub fn request_id() -> String {
    let hex = pick(b"0123456789abcdef", 32);
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    )
}

/// `n` random bytes.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    OsRng.fill(bytes.as_mut_slice());
    bytes
}
