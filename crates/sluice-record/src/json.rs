//! The hot events written as JSON by hand, byte for byte what serde_json writes for them.
//!
//! Every statement a session runs is recorded as one `command_complete` (carrying its `statement` and its last
//! rows, see [`CommandComplete`]), and on `pgbench -S` its serialisation through serde was about a tenth of the
//! gateway's instructions per transaction (callgrind, bench/README.md): serde_json escapes strings one byte at a
//! time through a table, goes through a trait call per member, and the internally tagged enum writes the tag
//! through a wrapper serializer. Here strings are copied in runs between the bytes that need escaping, found eight
//! at a time. Every other event goes through serde. Readers parse what serde would have written; the tests check
//! the two writers agree on generated events, escapes and all.

use crate::event::{CommandComplete, Event, ResultRows, RowBatch, Statement, Verdict};
use crate::RecordError;

/// Appends `event` as serde_json would write it (compact).
pub(crate) fn write_event(event: &Event, out: &mut Vec<u8>) -> Result<(), RecordError> {
    match event {
        Event::CommandComplete(c) => command_complete(c, out),
        Event::Statement(s) => {
            out.extend_from_slice(b"{\"type\":\"statement\",");
            statement_members(s, out);
            out.push(b'}');
        }
        Event::ResultRows(r) => result_rows(r, out),
        other => serde_json::to_writer(&mut *out, other)?,
    }
    Ok(())
}

fn command_complete(c: &CommandComplete, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"type\":\"command_complete\",\"statement\":");
    number(c.statement, out);
    out.extend_from_slice(b",\"tag\":");
    string(&c.tag, out);
    out.extend_from_slice(b",\"rows\":");
    match c.rows {
        Some(rows) => number(rows, out),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"duration_us\":");
    number(c.duration_us, out);
    if let Some(params) = &c.params {
        out.extend_from_slice(b",\"params\":");
        nullable_strings(params, out);
    }
    if let Some(batch) = &c.last_rows {
        out.extend_from_slice(b",\"last_rows\":");
        row_batch(batch, out);
    }
    if let Some(started) = &c.started {
        out.extend_from_slice(b",\"started\":{");
        statement_members(started, out);
        out.push(b'}');
    }
    out.push(b'}');
}

/// A statement's members without braces: the same for the tagged event and the one folded into a completion.
fn statement_members(s: &Statement, out: &mut Vec<u8>) {
    out.extend_from_slice(b"\"index\":");
    number(s.index, out);
    out.extend_from_slice(b",\"text\":");
    string(&s.text, out);
    out.extend_from_slice(b",\"verdict\":");
    out.extend_from_slice(match s.verdict {
        Verdict::Allowed => b"\"allowed\"".as_slice(),
        Verdict::AllowedMasked => b"\"allowed_masked\"",
        Verdict::Denied => b"\"denied\"",
        Verdict::PendingApproval => b"\"pending_approval\"",
    });
    out.extend_from_slice(b",\"rule\":");
    match &s.rule {
        Some(rule) => string(rule, out),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"decision_us\":");
    number(s.decision_us, out);
}

fn result_rows(r: &ResultRows, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"type\":\"result_rows\",\"statement\":");
    number(r.statement, out);
    columns_and_rows(&r.columns, &r.rows, out);
    out.push(b'}');
}

fn row_batch(batch: &RowBatch, out: &mut Vec<u8>) {
    out.push(b'{');
    let start = out.len();
    columns_and_rows(&batch.columns, &batch.rows, out);
    // The first member has no comma before it.
    out.remove(start);
    out.push(b'}');
}

/// `,"columns":[...]` (absent when empty, as `skip_serializing_if` says) and `,"rows":[[...],...]`.
fn columns_and_rows(columns: &[String], rows: &[Vec<Option<String>>], out: &mut Vec<u8>) {
    if !columns.is_empty() {
        out.extend_from_slice(b",\"columns\":");
        array(columns, out, |c, out| string(c, out));
    }
    out.extend_from_slice(b",\"rows\":");
    array(rows, out, |row, out| nullable_strings(row, out));
}

fn nullable_strings(values: &[Option<String>], out: &mut Vec<u8>) {
    array(values, out, |v, out| match v {
        Some(s) => string(s, out),
        None => out.extend_from_slice(b"null"),
    });
}

/// `[a,b,...]`, each item written by `item`.
fn array<T>(items: &[T], out: &mut Vec<u8>, item: impl Fn(&T, &mut Vec<u8>)) {
    out.push(b'[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item(x, out);
    }
    out.push(b']');
}

fn number(n: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A JSON string with serde_json's escapes: `\"`, `\\`, `\b \t \n \f \r`, `\u00xx` (lower-case hex) for the other
/// control characters; everything else, including DEL and non-ASCII, as is.
pub(crate) fn string(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    while let Some(at) = next_escape(bytes, start) {
        out.extend_from_slice(bytes.get(start..at).unwrap_or_default());
        let b = bytes.get(at).copied().unwrap_or_default();
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
                out.push(HEX.get(usize::from(b & 0x0f)).copied().unwrap_or(b'0'));
            }
        }
        start = at + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// The first byte at or after `from` that needs an escape. Eight bytes at a time, with the classic word tests:
/// `(x - 0x20…) & !x` has a byte's high bit set if some byte is below 0x20, `(y - 0x01…) & !y` if some byte of `y`
/// is zero (`y` is `x` xor a repeated `"` or `\`); the `& !…` keeps non-ASCII bytes out.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let below_space = x.wrapping_sub(ONES * 0x20);
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        let hits = ((below_space & !x)
            | (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash))
            & HIGHS;
        if hits != 0 {
            // The word test can flag a byte after a real hit (borrows), never miss one: find the exact byte.
            return chunk.iter().position(|&b| needs_escape(b)).map(|p| i + p);
        }
        i += 8;
    }
    bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| needs_escape(b)))
        .map(|p| i + p)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn by_hand(event: &Event) -> String {
        let mut out = Vec::new();
        write_event(event, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn by_serde(event: &Event) -> String {
        serde_json::to_string(event).unwrap()
    }

    /// Strings that exercise every escape, runs longer than a word, non-ASCII and DEL.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ -~]{0,40}",
            "[\\x00-\\x1f\"\\\\a-z]{0,24}",
            "[a-zé€😀\\x7f\"\\\\\n\t]{0,30}",
            any::<String>(),
        ]
    }

    fn statement() -> impl Strategy<Value = Statement> {
        (
            any::<u64>(),
            text(),
            0..4u8,
            proptest::option::of(text()),
            any::<u64>(),
        )
            .prop_map(|(index, text, v, rule, decision_us)| Statement {
                index,
                text,
                verdict: match v {
                    0 => Verdict::Allowed,
                    1 => Verdict::AllowedMasked,
                    2 => Verdict::Denied,
                    _ => Verdict::PendingApproval,
                },
                rule,
                decision_us,
            })
    }

    fn rows() -> impl Strategy<Value = Vec<Vec<Option<String>>>> {
        proptest::collection::vec(
            proptest::collection::vec(proptest::option::of(text()), 0..4),
            0..4,
        )
    }

    fn completion() -> impl Strategy<Value = CommandComplete> {
        (
            any::<u64>(),
            text(),
            proptest::option::of(any::<u64>()),
            any::<u64>(),
            proptest::option::of(proptest::collection::vec(proptest::option::of(text()), 0..4)),
            proptest::option::of((proptest::collection::vec(text(), 0..3), rows())),
            proptest::option::of(statement()),
        )
            .prop_map(
                |(statement, tag, rows, duration_us, params, last, started)| CommandComplete {
                    statement,
                    tag,
                    rows,
                    duration_us,
                    params,
                    last_rows: last.map(|(columns, rows)| RowBatch { columns, rows }),
                    started,
                },
            )
    }

    proptest! {
        #[test]
        fn completions_are_written_as_serde_writes_them(c in completion()) {
            let event = Event::CommandComplete(c);
            prop_assert_eq!(by_hand(&event), by_serde(&event));
        }

        #[test]
        fn statements_are_written_as_serde_writes_them(s in statement()) {
            let event = Event::Statement(s);
            prop_assert_eq!(by_hand(&event), by_serde(&event));
        }

        #[test]
        fn result_rows_are_written_as_serde_writes_them(
            statement in any::<u64>(),
            columns in proptest::collection::vec(text(), 0..3),
            rows in rows(),
        ) {
            let event = Event::ResultRows(ResultRows { statement, columns, rows });
            prop_assert_eq!(by_hand(&event), by_serde(&event));
        }

        #[test]
        fn strings_are_escaped_as_serde_escapes_them(s in text()) {
            let mut out = Vec::new();
            string(&s, &mut out);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
        }
    }

    /// Every byte value in every position of a word, next to bytes that must not count (DEL, non-ASCII).
    #[test]
    fn every_escape_is_found_in_every_position() {
        for c in 0u8..=0x7f {
            for at in 0..17 {
                let mut s: Vec<u8> = "ab\u{7f}cdefghijklmnopqrs".bytes().collect();
                s.insert(at, c);
                let s = String::from_utf8(s).unwrap() + "é€";
                let mut out = Vec::new();
                string(&s, &mut out);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    serde_json::to_string(&s).unwrap(),
                    "{c:#x} at {at}"
                );
            }
        }
    }
}
