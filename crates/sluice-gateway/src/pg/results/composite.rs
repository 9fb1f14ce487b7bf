//! Binary-format values of types the gateway does not know by OID: row values (`record_send`) and whatever
//! else a database defines (enums, domains, extension types such as `citext` or `hstore`).
//!
//! `SELECT p FROM payments p` or `SELECT ROW(id, card) FROM payments` returns each row as one composite value.
//! Drivers that fetch results in binary format (tokio-postgres always does) receive it as the number of fields,
//! then each field's type OID, length (-1: NULL) and bytes. Its type OID is the table's row type, created with the
//! table, so it cannot be recognised by number; passing it unread would let a card number through where the same
//! value in a `text` column is masked. So, under content detection, a value of an anonymous record type or of a
//! user-defined type (OIDs from `FirstNormalObjectId`):
//! - that parses exactly as a record is masked field by field, each by its own type's rules (nested rows too, to
//!   a bounded depth, with arrays), and re-encoded if a field changed;
//! - that parses exactly as an array of rows or of other user-defined values (`array_agg(p)`, an enum's array)
//!   is masked element by element, as arrays of built-in types are;
//! - that does neither (an enum's label, a `citext`, an `hstore`, ... and the built-in text search types `tsvector`
//!   and `tsquery`, whose words travel in an encoding of their own) is scanned as bytes by the detectors: it
//!   passes if nothing is found, and fails closed if something is, because an unknown binary encoding cannot be
//!   rewritten safely.
//!
//! Built-in types the gateway does not decode (`bytea`, `uuid`, timestamps, ...) are not read here: their
//! encodings carry no text, and their text form is not masked either (`bytea` shows as hex).
//!
//! The recording shows a row in PostgreSQL's notation, and a value that is not one as its text when its bytes are
//! printable text (an enum's label), as hex otherwise.

use std::ops::Range;

use bytes::{BufMut as _, Bytes, BytesMut};
use sluice_mask::{ColumnMask, Masker};

use crate::GatewayError;

/// The anonymous row type (`record`): `SELECT ROW(...)`.
const RECORD: u32 = 2249;
/// PostgreSQL's `FirstNormalObjectId`: types from here on were created in the database (row types of tables,
/// enums, domains, extension types).
const FIRST_USER_OID: u32 = 16384;
/// PostgreSQL's `MaxTupleAttributeNumber`.
const MAX_FIELDS: usize = 1664;

/// Whether values of `type_oid` are read here.
pub(super) fn is_composite_or_user(type_oid: u32) -> bool {
    type_oid == RECORD || type_oid >= FIRST_USER_OID
}

/// One field of a record: its type and its bytes within the value (`None`: NULL).
struct Field {
    type_oid: u32,
    bytes: Option<Range<usize>>,
}

/// The fields of a value in `record_send` form, if it is exactly one.
fn parse(value: &[u8]) -> Option<Vec<Field>> {
    let word = |at: usize| -> Option<[u8; 4]> { value.get(at..at.checked_add(4)?)?.try_into().ok() };
    let count = usize::try_from(i32::from_be_bytes(word(0)?)).ok()?;
    // Every field takes at least its 8-byte header: a count beyond that is a lie, not an allocation to make.
    if count > MAX_FIELDS || count > value.len().saturating_sub(4) / 8 {
        return None;
    }
    let mut fields = Vec::with_capacity(count);
    let mut at = 4;
    for _ in 0..count {
        let type_oid = u32::from_be_bytes(word(at)?);
        let len = i32::from_be_bytes(word(at + 4)?);
        at += 8;
        if len == -1 {
            fields.push(Field {
                type_oid,
                bytes: None,
            });
            continue;
        }
        let end = at.checked_add(usize::try_from(len).ok()?)?;
        if end > value.len() {
            return None;
        }
        fields.push(Field {
            type_oid,
            bytes: Some(at..end),
        });
        at = end;
    }
    (at == value.len()).then_some(fields)
}

/// Masks a binary value of a row or user-defined type (see the module documentation), inside `depth` arrays or
/// rows: the replacement if a field changed, and (when `record`) its text for the recording: a row in
/// PostgreSQL's notation, anything else as hex.
pub(super) fn mask(
    value: &Bytes,
    type_oid: u32,
    mask: ColumnMask,
    masker: Option<&Masker>,
    record: bool,
    depth: u8,
) -> Result<super::Masked, GatewayError> {
    let masking = masker.filter(|_| mask != ColumnMask::Keep);
    if masking.is_none() && !record {
        return Ok((None, None));
    }
    // A rule masking the whole column cannot be applied to an encoding the gateway does not write.
    if matches!(mask, ColumnMask::Whole(_)) && masking.is_some() {
        return Err(GatewayError::Unmaskable { type_oid });
    }
    let Some(fields) = parse(value) else {
        if let Some(done) = super::array::mask_of_user_elements(value, type_oid, mask, masker, record, depth)
        {
            return done;
        }
        if let Some(m) = masking {
            let text = String::from_utf8_lossy(value);
            if m.mask_with(ColumnMask::Detect, &text) != text {
                return Err(GatewayError::Unmaskable { type_oid });
            }
        }
        return Ok((None, record.then(|| shown_opaque(value))));
    };
    let mut changed = false;
    let mut out: Vec<Option<Bytes>> = Vec::with_capacity(fields.len());
    let mut shown = record.then(|| String::from("("));
    for (i, field) in fields.iter().enumerate() {
        if let (Some(s), true) = (shown.as_mut(), i > 0) {
            s.push(',');
        }
        let Some(range) = &field.bytes else {
            // NULL is an empty field in a row's text.
            out.push(None);
            continue;
        };
        let bytes = value.slice(range.clone());
        let (new, text) = super::mask_nested(&bytes, field.type_oid, mask, masker, record, depth + 1)?;
        if let (Some(s), Some(text)) = (shown.as_mut(), text) {
            push_field(s, &text);
        }
        changed |= new.is_some();
        out.push(Some(new.unwrap_or(bytes)));
    }
    if let Some(s) = shown.as_mut() {
        s.push(')');
    }
    if !changed {
        return Ok((None, shown));
    }
    let size = 4 + out
        .iter()
        .map(|f| 8 + f.as_ref().map_or(0, Bytes::len))
        .sum::<usize>();
    let mut encoded = BytesMut::with_capacity(size);
    encoded.put_i32(i32::try_from(out.len()).unwrap_or(i32::MAX));
    for (field, new) in fields.iter().zip(&out) {
        encoded.put_u32(field.type_oid);
        super::put_value(&mut encoded, new.as_deref(), type_oid)?;
    }
    Ok((Some(encoded.freeze()), shown))
}

/// How the recording shows a value that is not a row: its text when its bytes are printable text (an enum's label,
/// a `citext`: what psql would show), otherwise hex (an `hstore`, a `tsvector`).
fn shown_opaque(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(text) if !text.chars().any(char::is_control) => text.to_owned(),
        _ => super::hex(value),
    }
}

/// Appends a field as `record_out` writes it: quoted when empty or holding quotes, backslashes, parentheses,
/// commas or white space, with quotes and backslashes doubled.
fn push_field(out: &mut String, text: &str) {
    let quote = text.is_empty()
        || text
            .chars()
            .any(|c| matches!(c, '"' | '\\' | '(' | ')' | ',') || c.is_ascii_whitespace());
    super::push_quoted(out, text, quote, None);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::super::test_values::{array, masker, row};
    use super::*;

    const TEXT: u32 = 25;
    const INT4: u32 = 23;
    const INT8: u32 = 20;
    const PAYMENTS: u32 = 16_400;

    #[test]
    fn text_fields_are_masked_and_the_row_keeps_its_shape() {
        let m = masker();
        let one = 1_i32.to_be_bytes();
        let value = row(&[
            (INT4, Some(&one)),
            (TEXT, Some(b"4111111111111111")),
            (TEXT, None),
            (TEXT, Some(b"paid, thanks")),
        ]);
        let (new, shown) = mask(&value, PAYMENTS, ColumnMask::Detect, Some(&m), true, 0).unwrap();
        let expected = row(&[
            (INT4, Some(&one)),
            (TEXT, Some(b"************1111")),
            (TEXT, None),
            (TEXT, Some(b"paid, thanks")),
        ]);
        assert_eq!(new.unwrap(), expected);
        assert_eq!(shown.as_deref(), Some("(1,************1111,,\"paid, thanks\")"));
    }

    #[test]
    fn nested_rows_are_masked_and_a_row_with_nothing_to_mask_passes_as_it_came() {
        let m = masker();
        let inner = row(&[(TEXT, Some(b"card 4111111111111111"))]);
        let value = row(&[(PAYMENTS + 1, Some(&inner))]);
        let (new, _) = mask(&value, RECORD, ColumnMask::Detect, Some(&m), false, 0).unwrap();
        let masked_inner = row(&[(TEXT, Some(b"card ************1111"))]);
        assert_eq!(new.unwrap(), row(&[(PAYMENTS + 1, Some(&masked_inner))]));
        let plain = row(&[(TEXT, Some(b"nothing here"))]);
        let (new, shown) = mask(&plain, RECORD, ColumnMask::Detect, Some(&m), true, 0).unwrap();
        assert!(new.is_none());
        assert_eq!(shown.as_deref(), Some("(\"nothing here\")"));
    }

    #[test]
    fn a_number_field_holding_a_card_number_fails_closed() {
        let m = masker();
        let card = 4_111_111_111_111_111_i64.to_be_bytes();
        let value = row(&[(INT8, Some(&card))]);
        let err = mask(&value, PAYMENTS, ColumnMask::Detect, Some(&m), false, 0).unwrap_err();
        assert!(matches!(err, GatewayError::Unmaskable { type_oid: INT8 }));
    }

    #[test]
    fn other_user_types_pass_unless_their_bytes_hold_something_sensitive() {
        let m = masker();
        // An enum label or a citext value: its bytes are its text.
        let label = Bytes::from_static(b"active");
        let (new, _) = mask(&label, PAYMENTS, ColumnMask::Detect, Some(&m), false, 0).unwrap();
        assert!(new.is_none());
        let card = Bytes::from_static(b"4111111111111111");
        let err = mask(&card, PAYMENTS, ColumnMask::Detect, Some(&m), false, 0).unwrap_err();
        assert!(matches!(err, GatewayError::Unmaskable { type_oid: PAYMENTS }));
        // Unmasked, the same bytes pass, recorded as the text they are; bytes that are not text, as hex.
        let (new, shown) = mask(&card, PAYMENTS, ColumnMask::Keep, None, true, 0).unwrap();
        assert!(new.is_none());
        assert_eq!(shown.as_deref(), Some("4111111111111111"));
        let opaque = Bytes::from_static(b"\x00\x01a");
        let (_, shown) = mask(&opaque, PAYMENTS, ColumnMask::Keep, None, true, 0).unwrap();
        assert_eq!(shown.as_deref(), Some("\\x000161"));
    }

    #[test]
    fn arrays_of_rows_are_masked_row_by_row_and_arrays_of_labels_are_scanned() {
        let m = masker();
        let one = 1_i32.to_be_bytes();
        let paid = row(&[(INT4, Some(&one)), (TEXT, Some(b"4111111111111111"))]);
        let open = row(&[(INT4, Some(&one)), (TEXT, None)]);
        // `array_agg(p)`: an array of the table's row type, whose array type is the database's too.
        let value = array(PAYMENTS, &[Some(&paid), None, Some(&open)]);
        let (new, shown) = mask(&value, PAYMENTS + 1, ColumnMask::Detect, Some(&m), true, 0).unwrap();
        let masked = row(&[(INT4, Some(&one)), (TEXT, Some(b"************1111"))]);
        assert_eq!(new.unwrap(), array(PAYMENTS, &[Some(&masked), None, Some(&open)]));
        assert_eq!(shown.as_deref(), Some("{\"(1,************1111)\",NULL,\"(1,)\"}"));
        // Nothing to mask: forwarded as it came, recorded in array notation.
        let value = array(PAYMENTS, &[Some(&open)]);
        let (new, shown) = mask(&value, PAYMENTS + 1, ColumnMask::Detect, Some(&m), true, 0).unwrap();
        assert!(new.is_none());
        assert_eq!(shown.as_deref(), Some("{\"(1,)\"}"));
        // An enum's array: each label is scanned as bytes; one holding a card number fails closed.
        let labels = array(PAYMENTS + 2, &[Some(b"active"), Some(b"4111111111111111")]);
        let err = mask(&labels, PAYMENTS + 3, ColumnMask::Detect, Some(&m), false, 0).unwrap_err();
        assert!(matches!(err, GatewayError::Unmaskable { type_oid: t } if t == PAYMENTS + 2));
        let labels = array(PAYMENTS + 2, &[Some(b"active"), Some(b"closed")]);
        let (new, shown) = mask(&labels, PAYMENTS + 3, ColumnMask::Detect, Some(&m), true, 0).unwrap();
        assert!(new.is_none());
        assert_eq!(shown.as_deref(), Some("{active,closed}"));
    }

    #[test]
    fn malformed_or_too_deep_rows_are_scanned_as_bytes_and_never_panic() {
        let m = masker();
        let good = row(&[(TEXT, Some(b"4111111111111111"))]);
        // Every truncation and a lying field count or length: not a row, so scanned as bytes; the card number is
        // still in them, so they fail closed.
        let mut bad: Vec<Bytes> = (0..good.len()).map(|n| good.slice(..n)).collect();
        let mut lying = BytesMut::from(&good[..]);
        lying[0..4].copy_from_slice(&i32::MAX.to_be_bytes());
        bad.push(lying.freeze());
        let mut huge = BytesMut::from(&good[..]);
        huge[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
        bad.push(huge.freeze());
        for value in &bad {
            let result = mask(value, PAYMENTS, ColumnMask::Detect, Some(&m), true, 0);
            let holds_card = value.windows(16).any(|w| w == b"4111111111111111");
            assert_eq!(result.is_err(), holds_card, "{value:?}");
        }
        // Rows nested deeper than the bound are not read: masked, they fail closed.
        let mut deep = good.clone();
        for _ in 0..usize::from(super::super::MAX_NESTING) + 2 {
            deep = row(&[(PAYMENTS, Some(&deep))]);
        }
        let err = mask(&deep, PAYMENTS, ColumnMask::Detect, Some(&m), false, 0).unwrap_err();
        assert!(matches!(err, GatewayError::Unmaskable { .. }));
    }
}
