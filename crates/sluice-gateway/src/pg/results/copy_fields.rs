//! Column rules on `COPY ... TO STDOUT` rows: each row (one CopyData) is split into its fields by the format the
//! statement asked for (`sluice_policy::sql::pg::CopyOut`), fields of columns masked whole are replaced, and the
//! row is written back in the same format. Content detection then runs over the whole row as before.
//!
//! PostgreSQL writes one row per CopyData. A row that does not split into the expected number of fields is not
//! guessed at: the caller fails the session (fail closed).

use std::borrow::Cow;

use sluice_mask::{ColumnMask, Masker};
use sluice_policy::sql::pg::CopyFormat;

/// How the fields of one COPY's rows are masked.
#[derive(Debug, Clone)]
pub(crate) struct CopyFields {
    pub format: CopyFormat,
    pub null: String,
    pub masks: Vec<ColumnMask>,
    /// The header row (column names) is still to come.
    pub header_pending: bool,
}

impl CopyFields {
    /// The row with its fields masked; `Ok(None)` when nothing changed; `Err` when the row does not have the
    /// expected fields.
    pub(crate) fn mask_row(&mut self, row: &[u8], masker: &Masker) -> Result<Option<Vec<u8>>, ()> {
        if std::mem::take(&mut self.header_pending) {
            return Ok(None);
        }
        let (body, end) = match row.strip_suffix(b"\r\n") {
            Some(body) => (body, &b"\r\n"[..]),
            None => match row.strip_suffix(b"\n") {
                Some(body) => (body, &b"\n"[..]),
                None => (row, &b""[..]),
            },
        };
        let fields = match self.format {
            CopyFormat::Text { delimiter } => split_text(body, delimiter),
            CopyFormat::Csv {
                delimiter,
                quote,
                escape,
            } => split_csv(body, delimiter, quote, escape),
            CopyFormat::Binary => return Err(()),
        }
        .ok_or(())?;
        if fields.len() != self.masks.len() {
            return Err(());
        }
        let mut changed = false;
        let mut out = Vec::with_capacity(row.len());
        for (i, (field, mask)) in fields.iter().zip(&self.masks).enumerate() {
            if i > 0 {
                out.push(self.delimiter());
            }
            let whole = matches!(mask, ColumnMask::Whole(_));
            let value = if whole { self.decode(field) } else { None };
            match value {
                Some(value) => {
                    let masked = masker.mask_with(*mask, &value);
                    changed |= matches!(masked, Cow::Owned(_));
                    self.encode(&masked, &mut out);
                }
                // NULL, or a column not masked whole: as it was.
                None => out.extend_from_slice(field),
            }
        }
        out.extend_from_slice(end);
        Ok(changed.then_some(out))
    }

    fn delimiter(&self) -> u8 {
        match self.format {
            CopyFormat::Text { delimiter } | CopyFormat::Csv { delimiter, .. } => delimiter,
            CopyFormat::Binary => b'\t',
        }
    }

    /// A field's value; `None` for NULL.
    fn decode(&self, field: &[u8]) -> Option<String> {
        match self.format {
            CopyFormat::Text { .. } => {
                if field == self.null.as_bytes() {
                    return None;
                }
                Some(String::from_utf8_lossy(&unescape_text(field)).into_owned())
            }
            CopyFormat::Csv { quote, escape, .. } => {
                if field.first() != Some(&quote) {
                    // Unquoted: the NULL text stands for NULL.
                    return (field != self.null.as_bytes())
                        .then(|| String::from_utf8_lossy(field).into_owned());
                }
                Some(String::from_utf8_lossy(&unquote_csv(field, quote, escape)).into_owned())
            }
            CopyFormat::Binary => None,
        }
    }

    fn encode(&self, value: &str, out: &mut Vec<u8>) {
        match self.format {
            CopyFormat::Text { delimiter } => {
                for &byte in value.as_bytes() {
                    match byte {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        byte if byte == delimiter => out.extend_from_slice(&[b'\\', byte]),
                        byte => out.push(byte),
                    }
                }
            }
            CopyFormat::Csv {
                delimiter,
                quote,
                escape,
            } => {
                let bytes = value.as_bytes();
                let needs_quotes = bytes.is_empty()
                    || value == self.null
                    || bytes
                        .iter()
                        .any(|&b| b == delimiter || b == quote || b == escape || b == b'\n' || b == b'\r');
                if !needs_quotes {
                    out.extend_from_slice(bytes);
                    return;
                }
                out.push(quote);
                for &byte in bytes {
                    if byte == quote || byte == escape {
                        out.push(escape);
                    }
                    out.push(byte);
                }
                out.push(quote);
            }
            CopyFormat::Binary => {}
        }
    }
}

/// Splits a text-format row at unescaped delimiters.
fn split_text(row: &[u8], delimiter: u8) -> Option<Vec<&[u8]>> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < row.len() {
        match row.get(i) {
            Some(b'\\') => i += 2,
            Some(&byte) if byte == delimiter => {
                fields.push(row.get(start..i)?);
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    fields.push(row.get(start..)?);
    Some(fields)
}

/// Undoes text-format escapes (`\\`, `\n`, `\t`, octal, hex, an escaped delimiter).
fn unescape_text(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut bytes = field.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let Some(next) = bytes.next() else {
            out.push(b'\\');
            break;
        };
        match next {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut value = u32::from(next - b'0');
                for _ in 0..2 {
                    match bytes.peek() {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            bytes.next();
                        }
                        _ => break,
                    }
                }
                out.push(u8::try_from(value & 0xff).unwrap_or(0));
            }
            other => out.push(other),
        }
    }
    out
}

/// Splits a CSV row at delimiters outside quotes.
fn split_csv(row: &[u8], delimiter: u8, quote: u8, escape: u8) -> Option<Vec<&[u8]>> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut i = 0;
    while i < row.len() {
        let byte = *row.get(i)?;
        if quoted {
            if byte == escape && escape != quote && row.get(i + 1).is_some_and(|&n| n == quote || n == escape)
            {
                i += 2;
                continue;
            }
            if byte == quote {
                if escape == quote && row.get(i + 1) == Some(&quote) {
                    i += 2;
                    continue;
                }
                quoted = false;
            }
        } else if byte == quote {
            quoted = true;
        } else if byte == delimiter {
            fields.push(row.get(start..i)?);
            start = i + 1;
        }
        i += 1;
    }
    if quoted {
        return None;
    }
    fields.push(row.get(start..)?);
    Some(fields)
}

/// The value of a quoted CSV field.
fn unquote_csv(field: &[u8], quote: u8, escape: u8) -> Vec<u8> {
    let inner = field
        .strip_prefix(&[quote])
        .and_then(|f| f.strip_suffix(&[quote]))
        .unwrap_or(field);
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while let Some(&byte) = inner.get(i) {
        if byte == escape && inner.get(i + 1).is_some_and(|&n| n == quote || n == escape) {
            if let Some(&next) = inner.get(i + 1) {
                out.push(next);
            }
            i += 2;
            continue;
        }
        out.push(byte);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mask::MaskStyle;

    fn fields(format: CopyFormat, null: &str, masks: Vec<ColumnMask>) -> CopyFields {
        CopyFields {
            format,
            null: null.to_owned(),
            masks,
            header_pending: false,
        }
    }

    fn masker() -> Masker {
        super::super::test_values::masker()
    }

    const WHOLE: ColumnMask = ColumnMask::Whole(MaskStyle::Redact);

    #[test]
    fn text_rows_mask_the_ruled_field_and_keep_the_rest_byte_for_byte() {
        let mut f = fields(
            CopyFormat::Text { delimiter: b'\t' },
            "\\N",
            vec![ColumnMask::Detect, WHOLE, ColumnMask::Keep],
        );
        let m = masker();
        let out = f.mask_row(b"1\t731913\tada\\tx\n", &m).unwrap().unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("1\t") && out.ends_with("\tada\\tx\n"), "{out:?}");
        assert!(!out.contains("731913"), "{out:?}");
        // NULL stays NULL; a field holding an escaped tab is one field.
        assert_eq!(f.mask_row(b"2\t\\N\tbob\n", &m).unwrap(), None);
        let out = f.mask_row(b"3\tsec\\tret\tc\n", &m).unwrap().unwrap();
        assert!(!String::from_utf8_lossy(&out).contains("sec"), "{out:?}");
        // A row with the wrong number of fields is refused, not guessed at.
        assert!(f.mask_row(b"1\t2\n", &m).is_err());
    }

    #[test]
    fn csv_rows_with_quotes_delimiters_and_a_header() {
        let mut f = fields(
            CopyFormat::Csv {
                delimiter: b',',
                quote: b'"',
                escape: b'"',
            },
            "",
            vec![ColumnMask::Detect, WHOLE],
        );
        f.header_pending = true;
        let m = masker();
        assert_eq!(f.mask_row(b"id,salary\n", &m).unwrap(), None, "the header passes");
        let out = f.mask_row(b"1,\"73,1\"\"913\"\n", &m).unwrap().unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("1,") && !out.contains("913"), "{out:?}");
        // Unquoted empty is NULL and stays; a quoted empty string is a value.
        assert_eq!(f.mask_row(b"2,\n", &m).unwrap(), None);
        assert!(f.mask_row(b"2,\"\"\n", &m).is_ok());
        assert!(f.mask_row(b"1,\"open\n", &m).is_err());
    }

    #[test]
    fn text_escapes_round_trip() {
        assert_eq!(unescape_text(b"a\\\\b\\nc\\101\\td"), b"a\\b\nc\x41\td");
        let f = fields(CopyFormat::Text { delimiter: b'|' }, "\\N", vec![]);
        let mut out = Vec::new();
        f.encode("a|b\\c\nd", &mut out);
        assert_eq!(out, b"a\\|b\\\\c\\nd");
        assert_eq!(split_text(b"a\\|b|c", b'|').unwrap(), vec![&b"a\\|b"[..], b"c"]);
    }
}
