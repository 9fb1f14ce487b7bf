//! PEM private key blocks: `-----BEGIN … PRIVATE KEY-----`, the base64 body, `-----END … PRIVATE KEY-----`.
//!
//! The body may arrive over many lines (and many stream chunks) or on one line with escaped `\n` (a service
//! account JSON). The BEGIN line is kept and the body masked as it arrives; when a segment ends inside a body, the
//! next segment starts in the body ([`PemBody::Open`]), so no block has to be held back whole.

use super::{Finding, Text};
use crate::config::DetectorKind;

/// Whether a segment ended inside a private key body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum PemBody {
    /// Not inside a body.
    #[default]
    Closed,
    /// Inside a body: the next segment starts with body bytes (until `-----END` or a byte that cannot be in a
    /// body; ordinary output has such bytes on almost every line, so a runaway body ends quickly).
    Open,
}

/// Bytes that can appear in a body: base64, line breaks and indentation, escaped `\n`, and the `Proc-Type:` /
/// `DEK-Info:` headers of encrypted keys.
fn is_body(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'+' | b'/' | b'=' | b'\\' | b':' | b',' | b'-' | b' ' | b'\t' | b'\r' | b'\n'
        )
}

/// Validates a BEGIN line at `at` and returns the body that follows it in this segment.
pub(crate) fn pem_block(text: Text<'_>, at: usize) -> Option<Finding> {
    if !text.starts_with_at(at, b"-----BEGIN ") {
        return None;
    }
    let label_start = at + b"-----BEGIN ".len();
    let label_len = text.run(label_start, 48, |b| {
        b.is_ascii_uppercase() || b == b' ' || b.is_ascii_digit()
    });
    let label = text.bytes.get(label_start..label_start + label_len)?;
    memchr::memmem::find(label, b"PRIVATE KEY")?;
    let header_end = label_start + label_len;
    if !text.starts_with_at(header_end, b"-----") {
        return None;
    }
    let body_start = header_end + 5;
    let body_end = pem_body_end(text.bytes, body_start);
    let body = text.bytes.get(body_start..body_end)?;
    if body.iter().all(u8::is_ascii_whitespace) && body_end < text.len() {
        return None;
    }
    Some(Finding::guarded(
        at,
        body_start,
        body_end,
        DetectorKind::PemPrivateKey,
    ))
}

/// End of a body starting at `start`: the next `-----END`, the first byte that cannot be in a body, or the end
/// of the segment (then the body continues in the next segment).
pub(crate) fn pem_body_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        if b == b'-' && bytes.get(i..).is_some_and(|r| r.starts_with(b"-----END")) {
            return i;
        }
        if !is_body(b) {
            return i;
        }
        i += 1;
    }
    i
}
