//! Output for people: aligned tables and `key: value` blocks, and time stamps shortened to the second.

use serde_json::Value;
use std::io::{self, Write};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// A table of text cells printed with columns aligned to their widest cell.
#[derive(Debug)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&'static str]) -> Self {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (one cell per header).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Writes the table; an empty table prints `empty` instead so a script or person sees something.
    pub fn print(&self, out: &mut impl Write, empty: &str) -> io::Result<()> {
        if self.rows.is_empty() {
            return writeln!(out, "{empty}");
        }
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let headers: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        write_row(out, &headers, &widths)?;
        for row in &self.rows {
            write_row(out, row, &widths)?;
        }
        Ok(())
    }
}

fn write_row(out: &mut impl Write, cells: &[String], widths: &[usize]) -> io::Result<()> {
    let mut line = String::new();
    let last = cells.len().saturating_sub(1);
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        line.push_str(cell);
        if i < last {
            let pad = width.saturating_sub(cell.chars().count()) + 2;
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

/// A string field, or `-` when absent or null.
pub fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => "-".to_owned(),
    }
}

/// A list-of-strings field joined with commas, or `-`.
pub fn list(v: &Value, key: &str) -> String {
    let items: Vec<&str> = v
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(",")
    }
}

/// An RFC 3339 field shortened to `YYYY-MM-DD HH:MM:SS` (UTC), or `-`.
pub fn when(v: &Value, key: &str) -> String {
    let Some(raw) = v.get(key).and_then(Value::as_str) else {
        return "-".to_owned();
    };
    let short = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    OffsetDateTime::parse(raw, &Rfc3339)
        .ok()
        .and_then(|t| t.format(&short).ok())
        .unwrap_or_else(|| raw.to_owned())
}

/// Pretty JSON for `--json`.
pub fn print_json(out: &mut impl Write, v: &Value) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_to_the_widest_cell_and_lines_have_no_trailing_spaces() {
        let mut t = Table::new(&["NAME", "ROLE"]);
        t.row(vec!["alice".into(), "admin".into()]);
        t.row(vec!["bo".into(), "user".into()]);
        let mut out = Vec::new();
        t.print(&mut out, "none").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "NAME   ROLE\nalice  admin\nbo     user\n");
    }

    #[test]
    fn empty_tables_print_the_placeholder() {
        let mut out = Vec::new();
        Table::new(&["A"]).print(&mut out, "no users").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "no users\n");
    }

    #[test]
    fn times_are_shortened_and_missing_values_are_dashes() {
        let v = serde_json::json!({"at": "2026-11-26T15:44:03.123456Z", "none": null});
        assert_eq!(when(&v, "at"), "2026-11-26 15:44:03");
        assert_eq!(when(&v, "none"), "-");
        assert_eq!(text(&v, "missing"), "-");
    }
}
