//! Seeing through ANSI escape sequences: terminals colour exactly the values people look at (`jq`, `grep --color`,
//! prompts), so `\x1b[32m4111111111111111\x1b[0m` must be masked like the bare number.
//!
//! Detection runs on the text with escape sequences removed; findings are mapped back to the original bytes, and
//! the sequences inside a masked value are re-emitted after its mask so the terminal's colour state is unchanged.

/// ESC.
const ESC: u8 = 0x1b;
/// BEL, which ends an OSC sequence.
const BEL: u8 = 0x07;
/// Longest OSC sequence (window titles, hyperlinks) treated as one escape.
const MAX_OSC: usize = 512;

/// Whether `bytes` contains an escape sequence (the fast path skips all of this).
pub(crate) fn has_escape(bytes: &[u8]) -> bool {
    memchr::memchr(ESC, bytes).is_some()
}

/// Length of the escape sequence starting at `i` (where `bytes[i]` is ESC): CSI (`ESC [ params final`), OSC
/// (`ESC ] … BEL` or `ESC ] … ESC \`), `ESC` + intermediates + final, a two-byte `ESC x`, or a lone ESC. No
/// sequence contains a line break.
fn escape_len(bytes: &[u8], i: usize) -> usize {
    let rest = bytes.get(i..).unwrap_or(&[]);
    match rest.get(1) {
        None => 1,
        Some(b'[') => {
            let body = rest.get(2..).unwrap_or(&[]);
            let params = body.iter().take_while(|b| (0x20..=0x3F).contains(*b)).count();
            let fin = body.get(params).is_some_and(|b| (0x40..=0x7E).contains(b));
            2 + params + usize::from(fin)
        }
        Some(b']') => {
            // Ends at BEL or ST; a line break also ends it, so stripping never reaches across lines (masking a
            // text line by line must give the same result as masking it whole).
            let body = rest.get(2..).unwrap_or(&[]);
            let limit = body.len().min(MAX_OSC);
            let mut j = 0;
            while j < limit {
                match body.get(j) {
                    Some(&BEL) => return 2 + j + 1,
                    Some(&ESC) if body.get(j + 1) == Some(&b'\\') => return 2 + j + 2,
                    Some(b'\n' | b'\r') => return 2 + j,
                    _ => j += 1,
                }
            }
            2 + limit
        }
        Some(b) if (0x20..=0x2F).contains(b) => {
            let body = rest.get(1..).unwrap_or(&[]);
            let inter = body.iter().take_while(|b| (0x20..=0x2F).contains(*b)).count();
            1 + inter + usize::from(body.get(inter).is_some_and(|b| (0x30..=0x7E).contains(b)))
        }
        Some(b) if (0x30..=0x7E).contains(b) => 2,
        Some(_) => 1,
    }
}

/// Text with its escape sequences removed, and where each remaining byte came from.
#[derive(Debug, Default)]
pub(crate) struct Stripped {
    /// The printable text.
    pub text: Vec<u8>,
    /// `map[i]` is the offset in the original of `text[i]`; `map[text.len()]` is the original length.
    pub map: Vec<usize>,
}

impl Stripped {
    /// Original offset of stripped offset `i` (clamped to the original length).
    pub(crate) fn origin(&self, i: usize) -> usize {
        self.map.get(i).or_else(|| self.map.last()).copied().unwrap_or(0)
    }

    /// Original range of the stripped range `start..end`: from its first byte to just after its last one, so the
    /// escape sequences between them are inside and those around them are not.
    pub(crate) fn origin_range(&self, start: usize, end: usize) -> (usize, usize) {
        if end <= start {
            let at = self.origin(start);
            return (at, at);
        }
        (self.origin(start), self.origin(end - 1) + 1)
    }
}

/// Removes escape sequences from `bytes`.
pub(crate) fn strip(bytes: &[u8]) -> Stripped {
    let mut out = Stripped {
        text: Vec::with_capacity(bytes.len()),
        map: Vec::with_capacity(bytes.len() + 1),
    };
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == ESC {
            i += escape_len(bytes, i);
            continue;
        }
        out.text.push(b);
        out.map.push(i);
        i += 1;
    }
    out.map.push(bytes.len());
    out
}

/// Splits a value into its printable bytes and its escape sequences (each kept whole, in order).
pub(crate) fn split(value: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut text = Vec::with_capacity(value.len());
    let mut escapes = Vec::new();
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        if b == ESC {
            let n = escape_len(value, i);
            escapes.extend_from_slice(value.get(i..i + n).unwrap_or(&[]));
            i += n;
        } else {
            text.push(b);
            i += 1;
        }
    }
    (text, escapes)
}
