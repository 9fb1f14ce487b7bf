//! Masking what the target answers: DataRow cells in text and binary format, COPY TO output, and the text
//! fields of ErrorResponse / NoticeResponse. Also renders delivered rows for the recording.
//!
//! Column rules are resolved against what the statement's text says its columns come from (`sources`).

use std::borrow::Cow;
use std::sync::Arc;

use bytes::{BufMut as _, Bytes, BytesMut};
use sluice_approvals::statement::Param;
use sluice_mask::{ColumnMask, Masker};
use sluice_wire_pg::backend::{field, DataRow, Notice, NotificationResponse, RowDescription};
use sluice_wire_pg::{BackendMessage, Format};

use super::expect::BoundValue;
use crate::GatewayError;
pub(crate) use copy_fields::CopyFields;
pub(crate) use sources::ColumnSources;

mod array;
mod composite;
mod copy_fields;
mod number;
mod sources;
#[cfg(test)]
mod test_values;

/// Type OIDs from `pg_type.dat` that the gateway decodes in binary format.
mod oid {
    pub(super) const CHAR: u32 = 18;
    pub(super) const NAME: u32 = 19;
    pub(super) const INT8: u32 = 20;
    pub(super) const INT2: u32 = 21;
    pub(super) const INT4: u32 = 23;
    pub(super) const TEXT: u32 = 25;
    pub(super) const JSON: u32 = 114;
    pub(super) const XML: u32 = 142;
    pub(super) const JSONPATH: u32 = 4072;
    pub(super) const TSVECTOR: u32 = 3614;
    pub(super) const TSQUERY: u32 = 3615;
    pub(super) const UNKNOWN: u32 = 705;
    pub(super) const BPCHAR: u32 = 1042;
    pub(super) const VARCHAR: u32 = 1043;
    pub(super) const JSONB: u32 = 3802;
    pub(super) const FLOAT4: u32 = 700;
    pub(super) const FLOAT8: u32 = 701;
    pub(super) const NUMERIC: u32 = 1700;
}

/// One result column as the gateway needs it.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: String,
    pub type_oid: u32,
    pub format: Format,
    /// The resolved mask (`Keep` when the statement is not masked).
    pub mask: ColumnMask,
}

/// Columns of a RowDescription with their masks resolved.
pub(crate) fn describe(
    rd: &RowDescription,
    masker: Option<&Masker>,
    sources: &ColumnSources,
) -> Arc<[Column]> {
    rd.fields
        .iter()
        .map(|f| Column {
            name: f.name.clone(),
            type_oid: f.type_oid,
            format: f.format,
            mask: masker.map_or(ColumnMask::Keep, |m| {
                sources::resolve(m, sources, &f.name, f.table_oid)
            }),
        })
        .collect()
}

/// The same columns in the formats a Bind asked for (none: all text; one: all that; else one per column).
pub(crate) fn with_formats(columns: &[Column], formats: &[Format]) -> Arc<[Column]> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| Column {
            format: match formats {
                [] => Format::Text,
                [one] => *one,
                many => many.get(i).copied().unwrap_or(Format::Text),
            },
            ..c.clone()
        })
        .collect()
}

/// How a binary-format value is read.
enum Binary {
    /// UTF-8 text on the wire (text, varchar, bpchar, name, json, xml, "char").
    Text,
    /// jsonb and jsonpath: a version byte, then text.
    Jsonb,
    /// A number (integer, float or numeric): decoded to its decimal text and checked; a value the masker would
    /// change cannot be re-encoded as that type, so it fails closed.
    Number,
    /// An array (`array_send`) of any element type: each element by its own type's rules.
    Array,
    /// A row (`record_send`), another type the database defined, or a text search value: see `composite`.
    Composite,
    /// Anything else: passed unchanged, unless a column rule says to mask it whole (then fail closed).
    Other,
}

fn binary_kind(type_oid: u32) -> Binary {
    match type_oid {
        oid::TEXT
        | oid::VARCHAR
        | oid::BPCHAR
        | oid::NAME
        | oid::JSON
        | oid::UNKNOWN
        | oid::CHAR
        | oid::XML => Binary::Text,
        // jsonpath is sent like jsonb: a version byte, then its text.
        oid::JSONB | oid::JSONPATH => Binary::Jsonb,
        // Text search values carry their words in an encoding of their own: scanned as bytes (see `composite`).
        oid::TSVECTOR | oid::TSQUERY => Binary::Composite,
        oid::INT2 | oid::INT4 | oid::INT8 | oid::FLOAT4 | oid::FLOAT8 | oid::NUMERIC => Binary::Number,
        _ if array::is_array(type_oid) => Binary::Array,
        _ if composite::is_composite_or_user(type_oid) => Binary::Composite,
        _ => Binary::Other,
    }
}

/// A DataRow after masking, and its text for the recording.
pub(crate) struct MaskedRow {
    /// The new frame, if anything changed (else forward the original).
    pub frame: Option<BytesMut>,
    /// The row as delivered, if asked for.
    pub recorded: Option<Vec<Option<String>>>,
}

/// Masks one DataRow. `columns` is `None` when the gateway never saw the row's description (an Execute of a
/// portal nobody described): then values are scanned as bytes by the content detectors.
///
/// The hottest function of a masked result stream, so it allocates only for what changes: masked values replace
/// their column in `row` (which the caller parsed and no longer needs), unchanged ones are never copied, and the
/// delivered text of each value is only built when the row is recorded (`record`: rows past the recording cap are
/// masked and counted, not kept).
pub(crate) fn mask_row(
    mut row: DataRow,
    columns: Option<&[Column]>,
    masker: Option<&Masker>,
    record: bool,
) -> Result<MaskedRow, GatewayError> {
    let mut changed = false;
    let mut recorded = record.then(|| Vec::with_capacity(row.columns.len()));
    let mut size = 0;
    for (i, slot) in row.columns.iter_mut().enumerate() {
        let Some(value) = slot else {
            if let Some(r) = recorded.as_mut() {
                r.push(None);
            }
            continue;
        };
        let column = columns.and_then(|c| c.get(i));
        let (masked, shown) = mask_cell(value, column, masker, record)?;
        if let Some(new) = masked {
            changed = true;
            *value = new;
        }
        size += 4 + value.len();
        if let (Some(r), Some(shown)) = (recorded.as_mut(), shown) {
            r.push(Some(shown));
        }
    }
    let frame = if changed {
        // Tag, length, column count, then the values: sized once instead of grown.
        let mut out = BytesMut::with_capacity(7 + size + 4 * row.columns.len());
        BackendMessage::DataRow(row)
            .encode(&mut out)
            .map_err(GatewayError::TargetProtocol)?;
        Some(out)
    } else {
        None
    };
    Ok(MaskedRow { frame, recorded })
}

/// One value masked: the replacement bytes if it changed (`None`: forward it as it came), and, when the recording
/// asked for it, the text it was delivered as.
type Masked = (Option<Bytes>, Option<String>);

/// Masks one value: the replacement bytes if it changed, and (when `record`) its delivered text for the recording.
fn mask_cell(
    value: &Bytes,
    column: Option<&Column>,
    masker: Option<&Masker>,
    record: bool,
) -> Result<Masked, GatewayError> {
    let (format, type_oid, mask) = match column {
        Some(c) => (c.format, c.type_oid, c.mask),
        None => (Format::Text, oid::UNKNOWN, ColumnMask::Detect),
    };
    let mask = if masker.is_some() { mask } else { ColumnMask::Keep };
    match format {
        Format::Text => Ok(mask_text(value, 0, mask, masker, record)),
        Format::Binary => mask_binary(value, type_oid, mask, masker, record),
    }
}

/// Appends one value as PostgreSQL's binary containers (arrays, rows) carry their elements: its length as an int32
/// (-1 for NULL), then its bytes. `type_oid` names the container in the error for a value too long to carry.
fn put_value(out: &mut BytesMut, value: Option<&[u8]>, type_oid: u32) -> Result<(), GatewayError> {
    match value {
        None => out.put_i32(-1),
        Some(bytes) => {
            out.put_i32(i32::try_from(bytes.len()).map_err(|_| GatewayError::Unmaskable { type_oid })?);
            out.put_slice(bytes);
        }
    }
    Ok(())
}

/// Arrays and rows nested in one another deeper than this are not read, so a hostile target cannot make the
/// gateway recurse without bound: such a value fails closed when masked (and is recorded as hex when not).
const MAX_NESTING: u8 = 8;

/// Masks one binary-format value of type `type_oid` (a column's value, or a bound parameter).
fn mask_binary(
    value: &Bytes,
    type_oid: u32,
    mask: ColumnMask,
    masker: Option<&Masker>,
    record: bool,
) -> Result<Masked, GatewayError> {
    mask_nested(value, type_oid, mask, masker, record, 0)
}

/// [`mask_binary`] for a value inside `depth` arrays or rows (an element or a field, with its container's column
/// mask).
fn mask_nested(
    value: &Bytes,
    type_oid: u32,
    mask: ColumnMask,
    masker: Option<&Masker>,
    record: bool,
    depth: u8,
) -> Result<Masked, GatewayError> {
    match binary_kind(type_oid) {
        Binary::Text => Ok(mask_text(value, 0, mask, masker, record)),
        Binary::Jsonb => {
            if value.first() != Some(&1) {
                // An unknown jsonb version cannot be read as text; refuse rather than pass it unread.
                return if mask == ColumnMask::Keep {
                    Ok((None, record.then(|| hex(value))))
                } else {
                    Err(GatewayError::Unmaskable { type_oid })
                };
            }
            Ok(mask_text(value, 1, mask, masker, record))
        }
        Binary::Number => {
            let masking = masker.filter(|_| mask != ColumnMask::Keep);
            if masking.is_none() && !record {
                return Ok((None, None));
            }
            let decimal = number::decimal(type_oid, value).ok_or(GatewayError::Unmaskable { type_oid })?;
            if let Some(m) = masking {
                if m.mask_with(mask, &decimal) != decimal.as_str() {
                    return Err(GatewayError::Unmaskable { type_oid });
                }
            }
            Ok((None, record.then_some(decimal)))
        }
        Binary::Array | Binary::Composite if depth >= MAX_NESTING => {
            if masker.is_some() && mask != ColumnMask::Keep {
                Err(GatewayError::Unmaskable { type_oid })
            } else {
                Ok((None, record.then(|| hex(value))))
            }
        }
        Binary::Array => array::mask(value, type_oid, mask, masker, record, depth),
        Binary::Composite => composite::mask(value, type_oid, mask, masker, record, depth),
        Binary::Other => match mask {
            ColumnMask::Whole(_) => Err(GatewayError::Unmaskable { type_oid }),
            ColumnMask::Keep | ColumnMask::Detect => Ok((None, record.then(|| hex(value)))),
        },
    }
}

/// Masks text starting at byte `skip` of `value` (jsonb's version byte is kept); the delivered text only when
/// `record`.
fn mask_text(value: &Bytes, skip: usize, mask: ColumnMask, masker: Option<&Masker>, record: bool) -> Masked {
    let head = value.get(..skip).unwrap_or_default();
    let body = value.get(skip..).unwrap_or_default();
    let unchanged = |text: Option<&str>| {
        let shown = record.then(|| match text {
            Some(text) => text.to_owned(),
            None => String::from_utf8_lossy(body).into_owned(),
        });
        (None, shown)
    };
    let Some(masker) = masker.filter(|_| mask != ColumnMask::Keep) else {
        return unchanged(None);
    };
    let new_body: Vec<u8> = match std::str::from_utf8(body) {
        Ok(text) => match masker.mask_with(mask, text) {
            Cow::Borrowed(_) => return unchanged(Some(text)),
            Cow::Owned(s) => s.into_bytes(),
        },
        // Not UTF-8 (should not happen with client_encoding UTF8): scan the bytes; a whole-value rule still applies.
        Err(_) => match mask {
            ColumnMask::Whole(_) => masker
                .mask_with(mask, &String::from_utf8_lossy(body))
                .into_owned()
                .into_bytes(),
            _ => match masker.mask_bytes(body) {
                Cow::Borrowed(_) => return unchanged(None),
                Cow::Owned(b) => b,
            },
        },
    };
    let shown = record.then(|| String::from_utf8_lossy(&new_body).into_owned());
    let bytes = if head.is_empty() {
        Bytes::from(new_body)
    } else {
        let mut out = Vec::with_capacity(head.len() + new_body.len());
        out.extend_from_slice(head);
        out.extend_from_slice(&new_body);
        Bytes::from(out)
    };
    (Some(bytes), shown)
}

/// Appends `text` as an element of a row's or an array's text form: as it is unless `quote`, else in double
/// quotes with each quote and backslash escaped by `escape` (`None`: doubled, as `record_out` does).
fn push_quoted(out: &mut String, text: &str, quote: bool, escape: Option<char>) {
    if !quote {
        out.push_str(text);
        return;
    }
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push(escape.unwrap_or(c));
        }
        out.push(c);
    }
    out.push('"');
}

fn hex(value: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 + value.len() * 2);
    out.push_str("\\x");
    for b in value {
        out.push(char::from(*DIGITS.get(usize::from(b >> 4)).unwrap_or(&b'0')));
        out.push(char::from(*DIGITS.get(usize::from(b & 0xf)).unwrap_or(&b'0')));
    }
    out
}

/// Masks the free-text fields of an ErrorResponse / NoticeResponse (values are echoed in messages and details,
/// e.g. `Key (card)=(4111...) already exists`). Returns `None` when nothing changed.
pub(crate) fn mask_notice(notice: &Notice, masker: &Masker) -> Option<Notice> {
    let mut changed = false;
    let fields = notice
        .fields
        .iter()
        .map(|f| {
            let maskable = matches!(f.code, field::MESSAGE | field::DETAIL | field::HINT | field::WHERE)
                || f.code == b'q' // internal query
                || f.code == b'p'; // internal position is a number; harmless either way
            let mut f = f.clone();
            if maskable {
                if let Cow::Owned(masked) = masker.mask_text(&f.value) {
                    f.value = masked;
                    changed = true;
                }
            }
            f
        })
        .collect();
    changed.then_some(Notice { fields })
}

/// Masks a NOTIFY delivered to this session: its payload is whatever another session (or a trigger) chose to send,
/// a card number as easily as a row id, and the channel name is text too. `None` when nothing changed.
pub(crate) fn mask_notification(
    notification: &NotificationResponse,
    masker: &Masker,
) -> Option<NotificationResponse> {
    let channel = masker.mask_text(&notification.channel);
    let payload = masker.mask_text(&notification.payload);
    if matches!((&channel, &payload), (Cow::Borrowed(_), Cow::Borrowed(_))) {
        return None;
    }
    Some(NotificationResponse {
        process_id: notification.process_id,
        channel: channel.into_owned(),
        payload: payload.into_owned(),
    })
}

/// How the recording shows one bound value: NULL as `None`; text-format values masked like statement texts; a
/// binary value of a type the gateway decodes (text-like, numbers, arrays of those) as its masked text, or
/// `<masked>` when it is a number the masker would change; any other binary value, or one whose type is unknown
/// (a statement never described whose Parse left the type to the server), by size only, since its bytes can be
/// anything (a `bytea` of ASCII).
/// Cut like a review's values (`MAX_SHOWN_PARAMETER`).
pub(crate) fn shown_parameter(
    bound: &BoundValue,
    type_oid: Option<u32>,
    masker: Option<&Masker>,
) -> Option<String> {
    let value = bound.value.as_ref()?;
    let shown_text = |text: &str| match masker {
        Some(m) => m.mask_text(text).into_owned(),
        None => text.to_owned(),
    };
    let binary = || format!("<binary, {} bytes>", value.len());
    let text = match (bound.format, type_oid.map(binary_kind)) {
        (Format::Text, _) => return Param::Text(value).shown(&shown_text),
        (Format::Binary, None | Some(Binary::Other)) => return Some(binary()),
        (Format::Binary, Some(_)) => {
            let mask = if masker.is_some() {
                ColumnMask::Detect
            } else {
                ColumnMask::Keep
            };
            match mask_binary(value, type_oid.unwrap_or(oid::UNKNOWN), mask, masker, true) {
                Ok((_, Some(text))) => text,
                Ok((_, None)) => return Some(binary()),
                Err(_) => return Some("<masked>".to_owned()),
            }
        }
    };
    // Already masked: only cut.
    Param::Text(text.as_bytes()).shown(&|t: &str| t.to_owned())
}

/// Masks one CopyData chunk of a text-format COPY TO STDOUT. PostgreSQL sends one row per message, so the
/// detectors see whole rows; `None` when nothing changed.
pub(crate) fn mask_copy(data: &[u8], masker: &Masker) -> Option<Vec<u8>> {
    match masker.mask_bytes(data) {
        Cow::Borrowed(_) => None,
        Cow::Owned(b) => Some(b),
    }
}

/// The text of one COPY row for the recording (tab-separated columns, as delivered).
pub(crate) fn copy_row_for_record(data: &[u8]) -> Vec<Option<String>> {
    let text = String::from_utf8_lossy(data);
    vec![Some(text.trim_end_matches('\n').to_owned())]
}

#[cfg(test)]
mod tests {
    use super::test_values::masker;
    use super::*;

    fn column(type_oid: u32, format: Format) -> Column {
        Column {
            name: "note".into(),
            type_oid,
            format,
            mask: ColumnMask::Detect,
        }
    }

    #[test]
    fn card_numbers_are_masked_in_text_and_binary_text_types() {
        let m = masker();
        let row = DataRow {
            columns: vec![Some(Bytes::from_static(b"card 4111 1111 1111 1111")), None],
        };
        let cols = [column(oid::TEXT, Format::Binary), column(oid::TEXT, Format::Text)];
        let out = mask_row(row.clone(), Some(&cols), Some(&m), true).unwrap();
        let shown = out.recorded.unwrap();
        assert!(!shown[0].as_deref().unwrap().contains("4111 1111 1111 1111"));
        assert_eq!(shown[1], None);
        // The new frame is a whole DataRow of the same shape, carrying exactly what the recording shows.
        let frame = out.frame.expect("a masked row gets a new frame");
        let mut buf = frame.clone();
        let decoded = sluice_wire_pg::BackendDecoder::default()
            .decode_frame(&mut buf)
            .unwrap()
            .unwrap();
        assert!(buf.is_empty(), "exactly one message");
        let BackendMessage::DataRow(delivered) = BackendMessage::parse(&decoded).unwrap() else {
            panic!("not a DataRow")
        };
        assert_eq!(delivered.columns.len(), 2);
        assert_eq!(
            delivered.columns[0].as_deref(),
            shown[0].as_deref().map(str::as_bytes)
        );
        assert_eq!(delivered.columns[1], None);

        // Past the recording cap the row is masked the same and nothing is kept for the recording.
        let unrecorded = mask_row(row, Some(&cols), Some(&m), false).unwrap();
        assert!(unrecorded.recorded.is_none());
        assert_eq!(unrecorded.frame, Some(frame));
    }

    #[test]
    fn an_unchanged_row_keeps_its_frame() {
        let m = masker();
        let row = DataRow {
            columns: vec![Some(Bytes::from_static(b"plain words")), None],
        };
        let cols = [column(oid::TEXT, Format::Text), column(oid::TEXT, Format::Text)];
        let out = mask_row(row, Some(&cols), Some(&m), true).unwrap();
        assert!(out.frame.is_none(), "forwarded as received");
        assert_eq!(out.recorded.unwrap(), vec![Some("plain words".to_owned()), None]);
    }

    #[test]
    fn jsonb_keeps_its_version_byte() {
        let m = masker();
        let mut v = vec![1u8];
        v.extend_from_slice(br#"{"card": "4111111111111111"}"#);
        let (masked, shown) = mask_text(&Bytes::from(v), 1, ColumnMask::Detect, Some(&m), true);
        let masked = masked.unwrap();
        assert_eq!(masked[0], 1);
        assert!(!shown.unwrap().contains("4111111111111111"));
    }

    #[test]
    fn a_binary_integer_holding_a_card_number_fails_closed() {
        let m = masker();
        let value = Bytes::copy_from_slice(&4_111_111_111_111_111_i64.to_be_bytes());
        let err = mask_cell(&value, Some(&column(oid::INT8, Format::Binary)), Some(&m), false).unwrap_err();
        assert!(matches!(err, GatewayError::Unmaskable { type_oid: oid::INT8 }));
        let small = Bytes::copy_from_slice(&42_i64.to_be_bytes());
        assert_eq!(
            mask_cell(&small, Some(&column(oid::INT8, Format::Binary)), Some(&m), true).unwrap(),
            (None, Some("42".to_owned()))
        );
    }

    #[test]
    fn bound_values_are_shown_decoded_by_type_masked_or_by_size() {
        let m = masker();
        let bound = |format, value: &[u8]| BoundValue {
            format,
            value: Some(Bytes::copy_from_slice(value)),
        };
        let card_text = bound(Format::Text, b"paid with 4111111111111111");
        assert_eq!(
            shown_parameter(&card_text, None, Some(&m)).as_deref(),
            Some("paid with ************1111")
        );
        let card_binary_text = bound(Format::Binary, b"4111111111111111");
        assert_eq!(
            shown_parameter(&card_binary_text, Some(oid::TEXT), Some(&m)).as_deref(),
            Some("************1111")
        );
        // Without the type, binary bytes are shown by size only (they could be anything).
        assert_eq!(
            shown_parameter(&card_binary_text, None, Some(&m)).as_deref(),
            Some("<binary, 16 bytes>")
        );
        assert_eq!(
            shown_parameter(&card_binary_text, Some(17), Some(&m)).as_deref(),
            Some("<binary, 16 bytes>")
        );
        let seven = bound(Format::Binary, &7_i64.to_be_bytes());
        assert_eq!(
            shown_parameter(&seven, Some(oid::INT8), Some(&m)).as_deref(),
            Some("7")
        );
        let card_number = bound(Format::Binary, &4_111_111_111_111_111_i64.to_be_bytes());
        assert_eq!(
            shown_parameter(&card_number, Some(oid::INT8), Some(&m)).as_deref(),
            Some("<masked>")
        );
        let null = BoundValue {
            format: Format::Binary,
            value: None,
        };
        assert_eq!(shown_parameter(&null, Some(oid::INT8), Some(&m)), None);
    }

    #[test]
    fn notices_echoing_a_card_number_are_masked() {
        let n = Notice::new("ERROR", "23505", "duplicate key")
            .with(field::DETAIL, "Key (card)=(4111111111111111) already exists.");
        let masked = mask_notice(&n, &masker()).unwrap();
        assert!(!masked.get(field::DETAIL).unwrap().contains("4111111111111111"));
    }
}
