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

/// A record as the writer seals it: borrows the event instead of cloning it. Written by [`seal_into`] with the
/// member names and order of [`Record`], which is what readers parse the same bytes into.
pub(crate) struct RecordRef<'a> {
    pub(crate) seq: u64,
    pub(crate) mono_ns: u64,
    pub(crate) wall_us: i64,
    /// Written as lower-case hex.
    pub(crate) prev: &'a Hash,
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
pub(crate) fn seal_into(record: &RecordRef<'_>, line: &mut Vec<u8>) -> Result<Hash, RecordError> {
    line.clear();
    write_head(record, line);
    crate::json::write_event(record.event, line)?;
    line.push(b'}');
    let hash = chain_hash(record.prev, line);
    // serde_json always ends an object with `}`; replace it with the hash member and close again.
    line.pop();
    line.extend_from_slice(HASH_MEMBER.as_bytes());
    line.extend_from_slice(&hex_digits(&hash));
    line.extend_from_slice(b"\"}\n");
    Ok(hash)
}

/// Writes a record's members up to its event's value (`{"seq":N,...,"event":`), byte for byte what serde_json
/// writes for them. Done by hand because every recorded event pays for it: through serde, the five member names
/// and the 64 hex digits went through JSON string escaping, about a tenth of the gateway's instructions for a short
/// statement (measured with callgrind on bench/pg's `-S` path).
fn write_head(record: &RecordRef<'_>, line: &mut Vec<u8>) {
    let mut digits = itoa::Buffer::new();
    line.extend_from_slice(b"{\"seq\":");
    line.extend_from_slice(digits.format(record.seq).as_bytes());
    line.extend_from_slice(b",\"mono_ns\":");
    line.extend_from_slice(digits.format(record.mono_ns).as_bytes());
    line.extend_from_slice(b",\"wall_us\":");
    line.extend_from_slice(digits.format(record.wall_us).as_bytes());
    line.extend_from_slice(b",\"prev_hash\":\"");
    line.extend_from_slice(&hex_digits(record.prev));
    line.extend_from_slice(b"\",\"event\":");
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::event::NoticeEvent;

    /// The hand-written head plus serde's event is the line serde writes for the whole record, and it reads back.
    #[test]
    fn sealed_lines_are_what_serde_writes_for_the_record() {
        let cases = [
            (0, 0, 0, GENESIS),
            (7, 29_219_672, 1_795_822_435_482_260, [0xab; 32]),
            (u64::MAX, u64::MAX, i64::MIN, [0x0f; 32]),
            (1, 2, -3, [0xf0; 32]),
        ];
        for (seq, mono_ns, wall_us, prev) in cases {
            let event = Event::Notice(NoticeEvent {
                severity: "NOTICE".to_owned(),
                message: "a \"quoted\" \\ back\nslash, é and \u{1}".to_owned(),
            });
            let mut line = Vec::new();
            let hash = seal_into(
                &RecordRef {
                    seq,
                    mono_ns,
                    wall_us,
                    prev: &prev,
                    event: &event,
                },
                &mut line,
            )
            .unwrap();
            let record = Record {
                seq,
                mono_ns,
                wall_us,
                prev_hash: to_hex(&prev),
                event,
            };
            let expected = serde_json::to_vec(&record).unwrap();
            let stored = line.strip_suffix(b"\n").unwrap();
            let (canonical, stated) = unseal(stored).unwrap();
            assert_eq!(
                String::from_utf8(canonical.clone()).unwrap(),
                String::from_utf8(expected).unwrap()
            );
            assert_eq!(stated, hash);
            assert_eq!(chain_hash(&prev, &canonical), hash);
            let read: Record = serde_json::from_slice(&canonical).unwrap();
            assert_eq!(read, record);
        }
    }
}
