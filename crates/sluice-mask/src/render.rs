//! Rendering masked values in each [`MaskStyle`], and recognising our own output so masking is idempotent.
//!
//! The rule every renderer follows: the output reveals no more than the style promises. Partial keeps personal
//! data's shape (separators, last digits, first letter of an address, top-level domain) and a credential's public
//! prefix only; redaction reveals nothing, not even the length; a hash reveals equality under the gateway's key.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::{DetectorKind, MaskStyle};

/// What fully redacted values become.
pub(crate) const REDACTED: &[u8] = b"[REDACTED]";
/// What partially masked values without a recognisable shape become (fixed length: the length is not revealed).
pub(crate) const STARS: &[u8] = b"********";
/// Prefix of keyed hash tokens.
const TOKEN_PREFIX: &[u8] = b"tok_";
/// Hex digits of a hash token: 48 bits, so collisions stay unlikely across millions of distinct values.
const TOKEN_HEX: usize = 12;

/// Whether `value` is something a masker produced: all `*`, `[REDACTED]`, or a hash token. Detectors that find
/// secrets by context (`password=…`) skip such values so that masking twice changes nothing.
pub(crate) fn is_mask_output(value: &[u8]) -> bool {
    (!value.is_empty() && value.iter().all(|b| *b == b'*'))
        || value == REDACTED
        || (value.len() == TOKEN_PREFIX.len() + TOKEN_HEX
            && value.starts_with(TOKEN_PREFIX)
            && value
                .iter()
                .skip(TOKEN_PREFIX.len())
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)))
}

/// Whether `value` is already the output of any style, shape-keeping partial masks included (`***-**-6789`,
/// `************1111`, `DE** **** **** **** **30 00`, `j****@*****.com`, `ghp_********`). Column rules mask whole
/// values whatever their content, so without this a second pass would turn `***-**-6789` into `********`.
///
/// The shapes are strict so that a real value is not mistaken for a masked one: apart from separators, at most two
/// leading capitals (an IBAN's country), at least four `*`, then at most four trailing letters or digits. A value
/// of that shape reveals no more than its mask would.
pub(crate) fn is_shaped_mask_output(value: &[u8]) -> bool {
    if is_mask_output(value) {
        return true;
    }
    if let Some(body) = value.get(1..) {
        // `partial_email`: first character, fixed stars, top-level domain.
        if let Some(tld) = body.strip_prefix(b"****@*****.".as_slice()) {
            return !tld.is_empty() && tld.iter().all(u8::is_ascii_alphabetic);
        }
    }
    let prefix = crate::scan::public_prefix_len(value);
    if prefix > 0 && value.get(prefix..) == Some(STARS) {
        return true;
    }
    // The shapes below need at least four stars. Real values (every cell of a column masked whole passes here)
    // rarely have any, and this ends their check before anything is allocated.
    if value.iter().filter(|b| **b == b'*').count() < 4 {
        return false;
    }
    let core: Vec<u8> = value
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'*')
        .collect();
    let lead = core.iter().take(2).take_while(|b| b.is_ascii_uppercase()).count();
    let rest = core.get(lead..).unwrap_or(&[]);
    let stars = rest.iter().take_while(|b| **b == b'*').count();
    let tail = rest.get(stars..).unwrap_or(&[]);
    let separators_only = value.iter().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'*' | b' ' | b'-' | b'.' | b'(' | b')' | b'+' | b'/')
    });
    separators_only && stars >= 4 && tail.len() <= 4 && tail.iter().all(u8::is_ascii_alphanumeric)
}

/// Renders masked values; holds the keyed hash state (the key never leaves it).
#[derive(Clone)]
pub(crate) struct Renderer {
    hasher: Option<Hmac<Sha256>>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("hash_key", &self.hasher.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Renderer {
    /// A renderer hashing under `key` (`None` or empty: the hash style falls back to redaction, which
    /// [`crate::Masker::new`] prevents by refusing such configurations).
    pub(crate) fn new(key: Option<&[u8]>) -> Renderer {
        let hasher = key
            .filter(|k| !k.is_empty())
            .and_then(|k| Hmac::<Sha256>::new_from_slice(k).ok());
        Renderer { hasher }
    }

    /// Appends `value` masked as `kind` (`None`: a whole value of unknown shape) in `style` to `out`.
    pub(crate) fn render(
        &self,
        kind: Option<DetectorKind>,
        style: MaskStyle,
        value: &[u8],
        out: &mut Vec<u8>,
    ) {
        if style != MaskStyle::Keep && crate::ansi::has_escape(value) {
            // Mask the printable text; keep the terminal's colour changes, after the mask.
            let (text, escapes) = crate::ansi::split(value);
            self.render_plain(kind, style, &text, out);
            out.extend_from_slice(&escapes);
            return;
        }
        self.render_plain(kind, style, value, out);
    }

    fn render_plain(&self, kind: Option<DetectorKind>, style: MaskStyle, value: &[u8], out: &mut Vec<u8>) {
        if kind == Some(DetectorKind::PemPrivateKey) && style != MaskStyle::Keep {
            // Blocks are streamed line by line, so every style stars the body in place.
            out.extend(
                value
                    .iter()
                    .map(|b| if matches!(b, b'\r' | b'\n') { *b } else { b'*' }),
            );
            return;
        }
        match style {
            MaskStyle::Keep => out.extend_from_slice(value),
            MaskStyle::Redact => out.extend_from_slice(REDACTED),
            MaskStyle::Hash => self.hash(kind, value, out),
            MaskStyle::Partial => partial(kind, value, out),
        }
    }

    fn hash(&self, kind: Option<DetectorKind>, value: &[u8], out: &mut Vec<u8>) {
        let Some(hasher) = &self.hasher else {
            out.extend_from_slice(REDACTED);
            return;
        };
        let mut mac = hasher.clone();
        mac.update(&normalize(kind, value));
        let digest = mac.finalize().into_bytes();
        out.extend_from_slice(TOKEN_PREFIX);
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for b in digest.iter().take(TOKEN_HEX / 2) {
            for nibble in [b >> 4, b & 0x0F] {
                out.push(HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'));
            }
        }
    }
}

/// The form hashed, so that formatting differences do not change the token (`4111 1111…` = `4111-1111…`).
fn normalize(kind: Option<DetectorKind>, value: &[u8]) -> Vec<u8> {
    match kind {
        Some(DetectorKind::CardNumber | DetectorKind::UsSsn | DetectorKind::Phone) => {
            value.iter().copied().filter(u8::is_ascii_digit).collect()
        }
        Some(DetectorKind::Iban) => value
            .iter()
            .filter(|b| b.is_ascii_alphanumeric())
            .map(u8::to_ascii_uppercase)
            .collect(),
        Some(DetectorKind::Email) => value.to_ascii_lowercase(),
        _ => value.to_vec(),
    }
}

/// Shape-keeping partial masks.
fn partial(kind: Option<DetectorKind>, value: &[u8], out: &mut Vec<u8>) {
    match kind {
        Some(DetectorKind::CardNumber | DetectorKind::UsSsn) => keep_last_digits(value, 4, out),
        Some(DetectorKind::Phone) => keep_last_digits(value, 2, out),
        Some(DetectorKind::Iban) => partial_iban(value, out),
        Some(DetectorKind::Email) => partial_email(value, out),
        Some(kind) if kind.is_credential() => {
            let prefix = crate::scan::public_prefix_len(value);
            out.extend_from_slice(value.get(..prefix).unwrap_or(&[]));
            out.extend_from_slice(STARS);
        }
        _ => out.extend_from_slice(STARS),
    }
}

/// Digits become `*` except the last `keep`; separators, `+` and parentheses stay.
fn keep_last_digits(value: &[u8], keep: usize, out: &mut Vec<u8>) {
    let total = value.iter().filter(|b| b.is_ascii_digit()).count();
    let mut seen = 0usize;
    for &b in value {
        if b.is_ascii_digit() {
            seen += 1;
            out.push(if seen + keep > total { b } else { b'*' });
        } else if b.is_ascii_alphanumeric() {
            out.push(b'*');
        } else {
            out.push(b);
        }
    }
}

/// `DE89 3704 0044 0532 0130 00` → `DE** **** **** **** **30 00`: the country and the last four stay.
fn partial_iban(value: &[u8], out: &mut Vec<u8>) {
    let total = value.iter().filter(|b| b.is_ascii_alphanumeric()).count();
    let mut seen = 0usize;
    for &b in value {
        if b.is_ascii_alphanumeric() {
            seen += 1;
            out.push(if seen <= 2 || seen + 4 > total { b } else { b'*' });
        } else {
            out.push(b);
        }
    }
}

/// `john.doe@example.co.uk` → `j****@*****.uk`: first letter and top-level domain, fixed-length stars.
fn partial_email(value: &[u8], out: &mut Vec<u8>) {
    let at = memchr::memrchr(b'@', value);
    let dot = memchr::memrchr(b'.', value);
    match (value.first(), at, dot) {
        (Some(first), Some(at), Some(dot)) if at > 0 && dot > at => {
            out.push(*first);
            out.extend_from_slice(b"****@*****");
            out.extend_from_slice(value.get(dot..).unwrap_or(&[]));
        }
        _ => out.extend_from_slice(STARS),
    }
}
