//! Binary-format arrays (`array_send`): the number of dimensions, a has-nulls flag, the element type's OID, each
//! dimension's size and lower bound, then every element as a length (-1: NULL) and its bytes.
//!
//! Drivers that fetch results in binary format (tokio-postgres always does, pgJDBC for prepared statements it
//! has seen often) receive `text[]` and friends this way. Passing them unread would let a card number in an array
//! through where the same value in a `text` column is masked, so each element is masked by its element type's
//! rules: an array comes out exactly as its elements would one by one, and an `int8[]` holding a card number fails
//! closed like an `int8`. An array that does not parse as PostgreSQL sends one cannot be checked, and fails closed
//! when the column is masked.

use std::ops::Range;

use bytes::{BufMut as _, Bytes, BytesMut};
use sluice_mask::{ColumnMask, Masker};

use crate::GatewayError;

/// Array types whose elements the gateway masks (`pg_type.dat`): `_char`, `_name`, `_int2`, `_int4`, `_text`,
/// `_bpchar`, `_varchar`, `_int8`, `_json`, `_jsonb`, `_float4`, `_float8`, `_numeric`, `_xml` and `_record`
/// (arrays of rows, masked field by field).
const ARRAYS: [u32; 15] = [
    1002, 1003, 1005, 1007, 1009, 1014, 1015, 1016, 199, 3807, 1021, 1022, 1231, 143, 2287,
];

/// PostgreSQL's `MAXDIM`.
const MAX_DIMENSIONS: usize = 6;

/// Whether `type_oid` is an array type read element by element.
pub(super) fn is_array(type_oid: u32) -> bool {
    ARRAYS.contains(&type_oid)
}

/// An array's layout within its value.
struct Parsed {
    /// Dimensions, flag, element type, sizes and bounds: kept as they are when elements change.
    header: Range<usize>,
    element_type: u32,
    /// Each element's bytes, `None` for NULL.
    elements: Vec<Option<Range<usize>>>,
}

fn parse(value: &[u8]) -> Option<Parsed> {
    let int = |at: usize| -> Option<i32> {
        Some(i32::from_be_bytes(
            value.get(at..at.checked_add(4)?)?.try_into().ok()?,
        ))
    };
    let dimensions = usize::try_from(int(0)?).ok()?;
    if dimensions > MAX_DIMENSIONS {
        return None;
    }
    let element_type = u32::from_be_bytes(value.get(8..12)?.try_into().ok()?);
    let mut count: usize = usize::from(dimensions > 0);
    for d in 0..dimensions {
        count = count.checked_mul(usize::try_from(int(12 + 8 * d)?).ok()?)?;
    }
    let header = 0..12 + 8 * dimensions;
    let mut at = header.end;
    // Every element takes at least its 4-byte length: a count beyond that is a lie, not an allocation to make.
    if count > value.len().checked_sub(at)? / 4 {
        return None;
    }
    let mut elements = Vec::with_capacity(count);
    for _ in 0..count {
        let len = int(at)?;
        at += 4;
        if len == -1 {
            elements.push(None);
            continue;
        }
        let end = at.checked_add(usize::try_from(len).ok()?)?;
        if end > value.len() {
            return None;
        }
        elements.push(Some(at..end));
        at = end;
    }
    (at == value.len()).then_some(Parsed {
        header,
        element_type,
        elements,
    })
}

/// Masks a binary array of type `type_oid`: the replacement if an element changed, and (when `record`) its text
/// for the recording, in PostgreSQL's array notation.
pub(super) fn mask(
    value: &Bytes,
    type_oid: u32,
    mask: ColumnMask,
    masker: Option<&Masker>,
    record: bool,
    depth: u8,
) -> Result<super::Masked, GatewayError> {
    let masking = masker.is_some() && mask != ColumnMask::Keep;
    if !masking && !record {
        return Ok((None, None));
    }
    // Arrays of arrays do not exist in PostgreSQL (dimensions are in the header); one claiming to is not read, so
    // a hostile target cannot make the gateway recurse.
    let parsed = parse(value).filter(|p| !is_array(p.element_type));
    let Some(parsed) = parsed else {
        return if masking {
            Err(GatewayError::Unmaskable { type_oid })
        } else {
            Ok((None, record.then(|| super::hex(value))))
        };
    };
    mask_elements(value, parsed, type_oid, mask, masker, record, depth)
}

/// Masks a value of a type the database defined (see `composite`) that is laid out as an array of rows or of
/// other values the database defined: `payments[]` (`array_agg(p)`), an enum's array. Such an array type has an
/// OID of its own, from the database, so it is recognised by its shape; `None` when the value is not one, and
/// the caller scans its bytes instead. Its elements are read like any array's: a row field by field, an enum's
/// label scanned.
pub(super) fn mask_of_user_elements(
    value: &Bytes,
    type_oid: u32,
    mask: ColumnMask,
    masker: Option<&Masker>,
    record: bool,
    depth: u8,
) -> Option<Result<super::Masked, GatewayError>> {
    let parsed = parse(value).filter(|p| super::composite::is_composite_or_user(p.element_type))?;
    Some(mask_elements(
        value, parsed, type_oid, mask, masker, record, depth,
    ))
}

/// Masks a parsed array element by element (see `mask`).
fn mask_elements(
    value: &Bytes,
    parsed: Parsed,
    type_oid: u32,
    mask: ColumnMask,
    masker: Option<&Masker>,
    record: bool,
    depth: u8,
) -> Result<super::Masked, GatewayError> {
    let mut changed = false;
    let mut elements: Vec<Option<Bytes>> = Vec::with_capacity(parsed.elements.len());
    let mut shown = record.then(|| String::from("{"));
    for (i, element) in parsed.elements.iter().enumerate() {
        if let (Some(s), true) = (shown.as_mut(), i > 0) {
            s.push(',');
        }
        let Some(range) = element else {
            elements.push(None);
            if let Some(s) = shown.as_mut() {
                s.push_str("NULL");
            }
            continue;
        };
        let bytes = value.slice(range.clone());
        let (new, text) = super::mask_nested(&bytes, parsed.element_type, mask, masker, record, depth + 1)?;
        if let (Some(s), Some(text)) = (shown.as_mut(), text) {
            push_element(s, &text);
        }
        match new {
            Some(new) => {
                changed = true;
                elements.push(Some(new));
            }
            None => elements.push(Some(bytes)),
        }
    }
    if let Some(s) = shown.as_mut() {
        s.push('}');
    }
    if !changed {
        return Ok((None, shown));
    }
    let header = value.get(parsed.header).unwrap_or_default();
    let size = header.len()
        + elements
            .iter()
            .map(|e| 4 + e.as_ref().map_or(0, Bytes::len))
            .sum::<usize>();
    let mut out = BytesMut::with_capacity(size);
    out.put_slice(header);
    for element in &elements {
        super::put_value(&mut out, element.as_deref(), type_oid)?;
    }
    Ok((Some(out.freeze()), shown))
}

/// Appends one element in array notation, quoted as PostgreSQL's `array_out` would when it has to be.
fn push_element(out: &mut String, text: &str) {
    let quote = text.is_empty()
        || text.eq_ignore_ascii_case("NULL")
        || text
            .chars()
            .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
    super::push_quoted(out, text, quote, Some('\\'));
}

#[cfg(test)]
mod tests {
    use super::super::test_values::{array, masker};
    use super::*;

    const TEXT_ARRAY: u32 = 1009;
    const INT8_ARRAY: u32 = 1016;

    #[test]
    fn text_elements_are_masked_and_the_array_keeps_its_shape() {
        let m = masker();
        let value = array(25, &[Some(b"card 4111111111111111"), None, Some(b"plain")]);
        let (new, shown) = mask(&value, TEXT_ARRAY, ColumnMask::Detect, Some(&m), true, 0).unwrap();
        let new = new.expect("an element changed");
        let expected = array(25, &[Some(b"card ************1111"), None, Some(b"plain")]);
        assert_eq!(new, expected);
        assert_eq!(shown.as_deref(), Some("{\"card ************1111\",NULL,plain}"));
    }

    #[test]
    fn an_array_with_nothing_to_mask_is_forwarded_as_it_came() {
        let m = masker();
        let value = array(25, &[Some(b"a"), Some(b"b")]);
        let (new, shown) = mask(&value, TEXT_ARRAY, ColumnMask::Detect, Some(&m), true, 0).unwrap();
        assert!(new.is_none());
        assert_eq!(shown.as_deref(), Some("{a,b}"));
    }

    #[test]
    fn an_int8_element_holding_a_card_number_fails_closed() {
        let m = masker();
        let card = 4_111_111_111_111_111_i64.to_be_bytes();
        let value = array(20, &[Some(&7_i64.to_be_bytes()), Some(&card)]);
        let err = mask(&value, INT8_ARRAY, ColumnMask::Detect, Some(&m), false, 0).unwrap_err();
        assert!(matches!(err, GatewayError::Unmaskable { type_oid: 20 }));
    }

    #[test]
    fn malformed_arrays_fail_closed_when_masked_and_never_panic() {
        let m = masker();
        let good = array(25, &[Some(b"4111111111111111")]);
        // Every truncation, a lying element count, a huge length, nested arrays and too many dimensions.
        let mut bad: Vec<Bytes> = (0..good.len()).map(|n| good.slice(..n)).collect();
        let mut lying = BytesMut::from(&good[..]);
        lying[12..16].copy_from_slice(&i32::MAX.to_be_bytes());
        bad.push(lying.freeze());
        let mut huge = BytesMut::from(&good[..]);
        huge[20..24].copy_from_slice(&i32::MAX.to_be_bytes());
        bad.push(huge.freeze());
        bad.push(array(TEXT_ARRAY, &[Some(&good)]));
        let mut deep = BytesMut::from(&good[..]);
        deep[0..4].copy_from_slice(&7_i32.to_be_bytes());
        bad.push(deep.freeze());
        for value in bad {
            let err = mask(&value, TEXT_ARRAY, ColumnMask::Detect, Some(&m), true, 0).unwrap_err();
            assert!(matches!(err, GatewayError::Unmaskable { .. }), "{value:?}");
            // Unmasked, the same bytes pass (and are recorded as hex).
            let (new, shown) = mask(&value, TEXT_ARRAY, ColumnMask::Keep, None, true, 0).unwrap();
            assert!(new.is_none());
            assert!(shown.unwrap().starts_with("\\x"));
        }
    }
}
