//! Random identifiers and secrets for new credentials, from `rand`'s
//! thread-local generator: a ChaCha-based CSPRNG seeded, and periodically
//! reseeded, from the operating system, so each string costs no system call.

use rand::rngs::OsRng;
use rand::{Rng, RngCore};

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `len` characters drawn uniformly from `alphabet` (at most 256
/// characters), with one read from the thread's generator for the whole
/// string rather than one per character. A byte that would bias the
/// draw (at or above the largest multiple of the alphabet's size) is drawn
/// again; for the alphabets here, whose sizes divide 256, none is.
fn pick(alphabet: &[u8], len: usize) -> String {
    let size = alphabet.len();
    if size == 0 || size > 256 {
        return String::new();
    }
    let unbiased = 256 - 256 % size;
    let mut out = String::with_capacity(len);
    let mut drawn = 0;
    let mut bytes = vec![0u8; len];
    let mut rng = rand::thread_rng();
    while drawn < len {
        rng.fill_bytes(&mut bytes);
        let usable = bytes
            .iter()
            .map(|&b| usize::from(b))
            .filter(|&b| b < unbiased)
            .filter_map(|b| alphabet.get(b % size))
            .take(len - drawn);
        for &c in usable {
            out.push(char::from(c));
            drawn += 1;
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use orgtwin_identity::IdSource;

    #[test]
    fn draws_have_their_length_and_alphabet_and_reach_every_character() {
        let mut ids = RandomIds;
        let key = ids.access_key_id("ASIA");
        assert_eq!(key.len(), 20);
        assert!(key[4..].bytes().all(|b| BASE32.contains(&b)));
        assert_eq!(ids.secret_access_key().len(), 40);
        assert_eq!(request_id().len(), 36);
        let many = pick(SECRET_CHARS, 20_000);
        assert_eq!(many.len(), 20_000);
        assert!(SECRET_CHARS.iter().all(|c| many.as_bytes().contains(c)));
        let odd = pick(b"abc", 3_000);
        assert_eq!(odd.len(), 3_000);
        assert!(odd.bytes().all(|b| b"abc".contains(&b)));
        assert_ne!(pick(BASE32, 16), pick(BASE32, 16));
    }
}
