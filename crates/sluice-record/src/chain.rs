//! The record format and its hash chain.
//!
//! One record per line, JSON:
//! `{"seq":N,"mono_ns":N,"wall_us":N,"prev_hash":"<hex>","event":{...},"hash":"<hex>"}`.
//! `hash = SHA-256(prev_hash bytes || canonical bytes)`, where the canonical bytes are the line exactly as stored
//! with its trailing `,"hash":"…"` member removed. Hashing the stored bytes (not a re-serialisation) means every
//! byte of the file is covered and verification never depends on a JSON library's formatting choices. The first
//! record's `prev_hash` is all zeros; a rotated segment continues the chain of the one before.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::event::Event;
use crate::RecordError;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first record of a session.
pub const GENESIS: Hash = [0u8; 32];

const HASH_MEMBER: &str = ",\"hash\":\"";

/// A record as read back, with its chain fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// 0-based sequence number within the session.
    pub seq: u64,
    /// Nanoseconds since the writer was created (monotonic clock): use for ordering and durations.
    pub mono_ns: u64,
    /// Wall-clock time, microseconds since the Unix epoch: use for display.
    pub wall_us: i64,
    /// Hex hash of the previous record.
    pub prev_hash: String,
    /// The event.
    pub event: Event,
}

/// The serialisable view of a record the writer seals: borrows the event instead of cloning it. Field names and
/// order must stay identical to [`Record`], which is what readers parse the same bytes into.
#[derive(Serialize)]
pub(crate) struct RecordRef<'a> {
    pub(crate) seq: u64,
    pub(crate) mono_ns: u64,
    pub(crate) wall_us: i64,
    pub(crate) prev_hash: &'a str,
    pub(crate) event: &'a Event,
}

/// Lower-case hex of a hash.
pub fn to_hex(hash: &Hash) -> String {
    hex_digits(hash).iter().map(|&b| char::from(b)).collect()
}

/// Lower-case hex of a hash as ASCII bytes, without allocating: twice per recorded event on the data path, where
/// the formatting machinery and a `String` each showed in profiles.
pub(crate) fn hex_digits(hash: &Hash) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(hash) {
        if let [high, low] = pair {
            *high = DIGITS.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            *low = DIGITS.get(usize::from(b & 0x0f)).copied().unwrap_or(b'0');
        }
    }
    out
}

/// Parses lower-case hex; `None` for anything else (upper case counts as a modification).
pub fn from_hex(s: &str) -> Option<Hash> {
    if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The chain hash of canonical record bytes.
pub fn chain_hash(prev: &Hash, canonical: &[u8]) -> Hash {
    Sha256::new()
        .chain_update(prev)
        .chain_update(canonical)
        .finalize()
        .into()
}

/// Serialises a record and seals it into `line` (cleared first; the writer reuses one buffer for every record):
/// the full line with its `\n`. Returns the record's hash.
pub(crate) fn seal_into(
    record: &RecordRef<'_>,
    prev: &Hash,
    line: &mut Vec<u8>,
) -> Result<Hash, RecordError> {
    line.clear();
    serde_json::to_writer(&mut *line, record)?;
    let hash = chain_hash(prev, line);
    // serde_json always ends an object with `}`; replace it with the hash member and close again.
    line.pop();
    line.extend_from_slice(HASH_MEMBER.as_bytes());
    line.extend_from_slice(&hex_digits(&hash));
    line.extend_from_slice(b"\"}\n");
    Ok(hash)
}

/// Splits a stored line (without `\n`) into its canonical bytes and stated hash.
pub(crate) fn unseal(line: &[u8]) -> Option<(Vec<u8>, Hash)> {
    let body = line.strip_suffix(b"\"}")?;
    let at = body.len().checked_sub(HASH_MEMBER.len() + 64)?;
    let (head, tail) = body.split_at(at);
    let hex = tail.strip_prefix(HASH_MEMBER.as_bytes())?;
    let hash = from_hex(std::str::from_utf8(hex).ok()?)?;
    let mut canonical = head.to_vec();
    canonical.push(b'}');
    Some((canonical, hash))
}
