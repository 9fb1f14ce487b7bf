//! Small text helpers of the human replay view: safe display of recorded text, times, sizes, counts and aligned
//! tables.
//!
//! Everything shown comes from a session a user controlled (statement text, cell values, error messages, terminal
//! bytes). Printed raw, an escape sequence in a cell could rewrite the auditor's screen, for example hide the
//! statement above it; so every control character is shown escaped (`\x1b`, `\r`, `\n` in cells) and nothing the
//! session wrote reaches the terminal as a control sequence.

use std::fmt::Write as _;

use crate::layout::civil_from_days;

/// `s` with every control character escaped (`\n` kept when `keep_newlines`, for multi-line statements).
pub(crate) fn printable(s: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' if keep_newlines => out.push('\n'),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Terminal bytes, lossily decoded and escaped, for the human view (the asciicast export plays them for real).
pub(crate) fn printable_bytes(data: &[u8]) -> String {
    printable(&String::from_utf8_lossy(data), false)
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration in microseconds, in the unit that reads best: `850 µs`, `12.3 ms`, `4.56 s`, `2m 05s`.
pub(crate) fn duration_us(us: u64) -> String {
    match us {
        0..=999 => format!("{us} µs"),
        1_000..=999_999 => format!("{:.1} ms", us as f64 / 1e3),
        1_000_000..=59_999_999 => format!("{:.2} s", us as f64 / 1e6),
        _ => {
            let secs = us / 1_000_000;
            if secs < 3_600 {
                format!("{}m {:02}s", secs / 60, secs % 60)
            } else {
                format!("{}h {:02}m {:02}s", secs / 3_600, secs / 60 % 60, secs % 60)
            }
        }
    }
}

/// Time since the start of the session: `+00:01.234`, `+1:02:03.456` past an hour.
pub(crate) fn offset_ns(ns: u64) -> String {
    let ms = ns / 1_000_000;
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1_000 % 60, ms % 1_000);
    if h > 0 {
        format!("+{h}:{m:02}:{s:02}.{frac:03}")
    } else {
        format!("+{m:02}:{s:02}.{frac:03}")
    }
}

/// Wall-clock microseconds since the Unix epoch as `2026-11-26 16:31:15.123 UTC`.
pub(crate) fn wall_clock(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let ms = us.rem_euclid(1_000_000) / 1_000;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let day_secs = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}.{ms:03} UTC",
        day_secs / 3_600,
        day_secs / 60 % 60,
        day_secs % 60
    )
}

/// A byte count: `512 B`, `1.5 KiB`, `3.2 MiB`, `1.1 GiB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = "KiB";
    for next in UNITS.iter().skip(1) {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

/// How a SQL NULL is shown, distinct from an empty string.
pub(crate) const NULL: &str = "<null>";

/// A result table: optional header, rows of already printable cells, columns padded to the widest cell
/// (by characters: wide East Asian characters may still misalign, which no terminal-independent count avoids).
#[derive(Debug, Default)]
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn set_header(&mut self, columns: &[String]) {
        self.header = columns.iter().map(|c| printable(c, false)).collect();
    }

    pub(crate) fn push_row(&mut self, row: &[Option<String>]) {
        self.rows.push(
            row.iter()
                .map(|cell| {
                    cell.as_deref()
                        .map_or_else(|| NULL.to_owned(), |v| printable(v, false))
                })
                .collect(),
        );
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.header.is_empty() && self.rows.is_empty()
    }

    /// The table as lines (no trailing spaces), each to be prefixed with the caller's indent.
    pub(crate) fn lines(&self) -> Vec<String> {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.header.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut lines = Vec::with_capacity(self.rows.len() + 2);
        if !self.header.is_empty() {
            lines.push(join_row(&self.header, &widths));
            lines.push(
                widths
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("-+-"),
            );
        }
        lines.extend(self.rows.iter().map(|row| join_row(row, &widths)));
        lines
    }
}

fn join_row(cells: &[String], widths: &[usize]) -> String {
    let mut line = String::new();
    for (i, w) in widths.iter().enumerate() {
        if i > 0 {
            line.push_str(" | ");
        }
        let cell = cells.get(i).map_or("", String::as_str);
        line.push_str(cell);
        line.extend(std::iter::repeat_n(' ', w.saturating_sub(cell.chars().count())));
    }
    line.truncate(line.trim_end().len());
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_newlines_kept_only_when_asked() {
        assert_eq!(printable("a\x1b[2Jb\r\n\t", false), "a\\u{1b}[2Jb\\r\\n\\t");
        assert_eq!(printable("select 1\nfrom t", true), "select 1\nfrom t");
        assert_eq!(printable("\u{9b}31m", true), "\\u{9b}31m");
        assert_eq!(printable_bytes(b"ok\xff\x07"), "ok\u{fffd}\\u{7}");
    }

    #[test]
    fn numbers_durations_and_sizes_read_naturally() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(12_345), "12,345");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(duration_us(850), "850 µs");
        assert_eq!(duration_us(12_345), "12.3 ms");
        assert_eq!(duration_us(4_560_000), "4.56 s");
        assert_eq!(duration_us(125_000_000), "2m 05s");
        assert_eq!(duration_us(3_723_000_000), "1h 02m 03s");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1_536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 + 200 * 1024), "3.2 MiB");
    }

    #[test]
    fn offsets_and_wall_clock_times_are_formatted() {
        assert_eq!(offset_ns(1_234_000_000), "+00:01.234");
        assert_eq!(offset_ns(3_723_456_000_000), "+1:02:03.456");
        // 2026-11-26T23:59:59.5Z
        assert_eq!(
            wall_clock((20_783 * 86_400 + 86_399) * 1_000_000 + 500_000),
            "2026-11-26 23:59:59.500 UTC"
        );
    }

    #[test]
    fn tables_align_columns_and_show_nulls() {
        let mut t = Table::default();
        t.set_header(&["name".into(), "card".into()]);
        t.push_row(&[Some("Ann".into()), Some("****-1111".into())]);
        t.push_row(&[None, Some("x\ny".into())]);
        assert_eq!(
            t.lines(),
            [
                "name   | card",
                "-------+----------",
                "Ann    | ****-1111",
                "<null> | x\\ny",
            ]
        );
    }
}
