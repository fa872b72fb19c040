//! Identifiers and secrets for new credentials. Secrets, tokens and most
//! identifiers are random, from `rand`'s thread-local generator: a
//! ChaCha-based CSPRNG seeded, and periodically reseeded, from the operating
//! system, so each string costs no system call.
//!
//! Temporary access key ids (`ASIA...`) are ordered instead: eleven letters
//! that count up with time, then five random characters. The session table
//! is keyed by the access key id, so sessions issued together land next to
//! each other in its index and a commit writes one or two index pages
//! instead of one page per session (measured in docs/benchmarks-twin.md).
//! Access key ids are not secrets; AWS's own ids are not uniformly random
//! either (they encode the account).

use std::sync::atomic::{AtomicU64, Ordering};

use rand::rngs::OsRng;

use crate::state::{Clock, SystemClock};
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

/// The last sequence number handed out for a temporary access key id:
/// microseconds since the Unix epoch, or one more than the last number when
/// ids are asked for faster than that. Unique within the process and, as
/// long as the system clock does not go back, across restarts.
static LAST_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Letters in `[A-Z]` that sort as the numbers they encode.
const ORDERED: &[u8; 26] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ORDERED_LEN: usize = 11;

fn next_sequence() -> u64 {
    // The operating system's clock, not the twin's (which tests may move):
    // only the order of ids depends on it.
    let now = u64::try_from(SystemClock.now().unix_nanos() / 1000).unwrap_or(0);
    let previous = LAST_SEQUENCE
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last.saturating_add(1)))
        })
        .unwrap_or(now);
    now.max(previous.saturating_add(1))
}

/// `n` in base 26 with [`ORDERED`]'s letters, [`ORDERED_LEN`] wide, most
/// significant first (26^11 microseconds reach the year 2086; past that the
/// count wraps and only the locality of inserts suffers).
fn ordered_letters(mut n: u64) -> String {
    let mut letters = [b'A'; ORDERED_LEN];
    for slot in letters.iter_mut().rev() {
        if let Some(&c) = ORDERED.get(usize::try_from(n % 26).unwrap_or(0)) {
            *slot = c;
        }
        n /= 26;
    }
    letters.iter().map(|&c| char::from(c)).collect()
}

/// The twin's [`orgtwin_identity::IdSource`].
#[derive(Debug, Default)]
pub struct RandomIds;

impl orgtwin_identity::IdSource for RandomIds {
    fn access_key_id(&mut self, prefix: &str) -> String {
        if prefix == "ASIA" {
            let ordered = ordered_letters(next_sequence());
            format!("{prefix}{ordered}{}", pick(BASE32, 16 - ORDERED_LEN))
        } else {
            format!("{prefix}{}", pick(BASE32, 16))
        }
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

    #[test]
    fn temporary_key_ids_are_unique_and_sort_in_the_order_issued() {
        let mut ids = RandomIds;
        let keys: Vec<String> = (0..10_000).map(|_| ids.access_key_id("ASIA")).collect();
        assert!(keys.windows(2).all(|w| w[0][..15] < w[1][..15]));
        assert!(
            keys.iter()
                .all(|k| k.len() == 20 && k[4..].bytes().all(|b| BASE32.contains(&b)))
        );
        let long_term = ids.access_key_id("AKIA");
        assert_eq!(long_term.len(), 20);
        assert_eq!(ordered_letters(0), "AAAAAAAAAAA");
        assert_eq!(ordered_letters(27), "AAAAAAAAABB");
        assert!(ordered_letters(1_796_000_000_000_000) < ordered_letters(1_796_000_000_000_001));
    }
}
