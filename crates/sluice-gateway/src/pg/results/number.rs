//! Binary-format numbers as decimal text, so the masker can look at them: a card number stored as `bigint`,
//! `numeric` or `double precision` (all exact for 16 digits) is as sensitive as one stored as text. The binary
//! form of a number cannot carry a masked value, so the caller fails closed when the masker would change one.

use std::fmt::Write as _;

use super::oid;

/// The decimal text of a binary `int2`/`int4`/`int8`/`float4`/`float8`/`numeric` value; `None` when the bytes are
/// not a value of that type.
pub(super) fn decimal(type_oid: u32, value: &[u8]) -> Option<String> {
    Some(match (type_oid, value.len()) {
        (oid::INT2, 2) => i16::from_be_bytes(value.try_into().ok()?).to_string(),
        (oid::INT4, 4) => i32::from_be_bytes(value.try_into().ok()?).to_string(),
        (oid::INT8, 8) => i64::from_be_bytes(value.try_into().ok()?).to_string(),
        (oid::FLOAT4, 4) => f32::from_be_bytes(value.try_into().ok()?).to_string(),
        (oid::FLOAT8, 8) => f64::from_be_bytes(value.try_into().ok()?).to_string(),
        (oid::NUMERIC, _) => numeric(value)?,
        _ => return None,
    })
}

/// `numeric_send`: digit count, weight (of the first base-10000 digit), sign, display scale, then the base-10000
/// digits. Rendered as `numeric_out` would.
fn numeric(value: &[u8]) -> Option<String> {
    let word = |i: usize| -> Option<[u8; 2]> { value.get(i * 2..i * 2 + 2)?.try_into().ok() };
    let ndigits = usize::try_from(i16::from_be_bytes(word(0)?)).ok()?;
    let weight = i32::from(i16::from_be_bytes(word(1)?));
    let sign = u16::from_be_bytes(word(2)?);
    let dscale = usize::try_from(i16::from_be_bytes(word(3)?)).ok()?;
    if value.len() != 8 + 2 * ndigits {
        return None;
    }
    let negative = match sign {
        0x0000 => false,
        0x4000 => true,
        0xC000 => return Some("NaN".to_owned()),
        0xD000 => return Some("Infinity".to_owned()),
        0xF000 => return Some("-Infinity".to_owned()),
        _ => return None,
    };
    let digits = (0..ndigits)
        .map(|i| word(4 + i).map(u16::from_be_bytes).filter(|d| *d <= 9999))
        .collect::<Option<Vec<u16>>>()?;
    let digit = |i: i32| {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(0)
    };
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight {
            let _ = if i == 0 {
                write!(out, "{}", digit(i))
            } else {
                write!(out, "{:04}", digit(i))
            };
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut fraction = String::with_capacity(dscale + 4);
        let mut i = weight + 1;
        while fraction.len() < dscale {
            let _ = write!(fraction, "{:04}", digit(i));
            i += 1;
        }
        fraction.truncate(dscale);
        out.push_str(&fraction);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `numeric_send`'s bytes for the given header and digits.
    fn numeric_bytes(weight: i16, sign: u16, dscale: i16, digits: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&i16::try_from(digits.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&weight.to_be_bytes());
        out.extend_from_slice(&sign.to_be_bytes());
        out.extend_from_slice(&dscale.to_be_bytes());
        for d in digits {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out
    }

    #[test]
    fn numerics_read_as_postgresql_prints_them() {
        let cases: [(i16, u16, i16, &[u16], &str); 7] = [
            (3, 0, 0, &[4111, 1111, 1111, 1111], "4111111111111111"),
            (3, 0, 2, &[4111, 1111, 1111, 1111], "4111111111111111.00"),
            (0, 0x4000, 3, &[12, 3450], "-12.345"),
            (-1, 0, 5, &[50], "0.00500"),
            (0, 0, 0, &[], "0"),
            (1, 0, 0, &[1], "10000"),
            (0, 0xC000, 0, &[], "NaN"),
        ];
        for (weight, sign, dscale, digits, text) in cases {
            assert_eq!(
                decimal(oid::NUMERIC, &numeric_bytes(weight, sign, dscale, digits)).as_deref(),
                Some(text)
            );
        }
    }

    #[test]
    fn floats_and_integers_read_as_decimal_text() {
        assert_eq!(
            decimal(oid::FLOAT8, &4_111_111_111_111_111_f64.to_be_bytes()).as_deref(),
            Some("4111111111111111")
        );
        assert_eq!(decimal(oid::INT8, &(-5_i64).to_be_bytes()).as_deref(), Some("-5"));
        assert_eq!(decimal(oid::INT2, &[0, 7]).as_deref(), Some("7"));
    }

    #[test]
    fn bytes_that_are_not_the_type_are_refused() {
        assert_eq!(decimal(oid::INT8, &[0, 1, 2]), None);
        assert_eq!(decimal(oid::FLOAT4, &[0; 8]), None);
        // A digit count the bytes do not hold, a digit beyond 9999, an unknown sign, a negative scale.
        assert_eq!(decimal(oid::NUMERIC, &numeric_bytes(0, 0, 0, &[1])[..9]), None);
        assert_eq!(decimal(oid::NUMERIC, &numeric_bytes(0, 0, 0, &[10_000])), None);
        assert_eq!(decimal(oid::NUMERIC, &numeric_bytes(0, 0x1234, 0, &[1])), None);
        assert_eq!(decimal(oid::NUMERIC, &numeric_bytes(0, 0, -1, &[1])), None);
        assert_eq!(decimal(oid::NUMERIC, &[]), None);
    }
}
