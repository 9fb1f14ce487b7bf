//! Human-written lifetimes such as `90s`, `15m`, `12h`, `7d` or `1h30m`, used for token TTLs.
//!
//! The grammar is deliberately strict — one or more `<digits><unit>` parts, units `d`, `h`, `m`, `s`, each at most
//! once and largest first, total greater than zero — so that a typo such as `1m30h` or `12` is an error rather than a
//! lifetime the user did not mean.

use std::time::Duration;

use crate::IdentityError;

/// The units in the order they must appear, with their length in seconds.
const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

/// Parses a lifetime such as `90s`, `15m`, `12h`, `7d` or `1h30m`.
pub fn parse_ttl(s: &str) -> Result<Duration, IdentityError> {
    let fail = |reason: &str| IdentityError::InvalidDuration {
        input: s.to_owned(),
        reason: reason.to_owned(),
    };
    if s.is_empty() {
        return Err(fail("it is empty; write for example 90s, 15m, 12h, 7d or 1h30m"));
    }
    let mut total: u64 = 0;
    // Index into UNITS of the next unit still allowed: units must strictly decrease.
    let mut next_unit = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let Some(offset) = UNITS.iter().skip(next_unit).position(|(unit, _)| *unit == c) else {
            return Err(if UNITS.iter().any(|(unit, _)| *unit == c) {
                fail(&format!(
                    "unit `{c}` is repeated or out of order; write the largest unit first, as in 1h30m"
                ))
            } else {
                fail(&format!("`{c}` is not a unit; use d, h, m or s"))
            });
        };
        if digits.is_empty() {
            return Err(fail(&format!("unit `{c}` has no number before it")));
        }
        let index = next_unit + offset;
        let seconds_per_unit = UNITS.get(index).map_or(1, |(_, secs)| *secs);
        let amount: u64 = digits.parse().map_err(|_| fail("the number is too large"))?;
        total = amount
            .checked_mul(seconds_per_unit)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| fail("the duration is too large"))?;
        digits.clear();
        next_unit = index + 1;
    }
    if !digits.is_empty() {
        return Err(fail(&format!(
            "`{digits}` has no unit; add d, h, m or s (for example {digits}h)"
        )));
    }
    if total == 0 {
        return Err(fail("it must be longer than zero"));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> String {
        match parse_ttl(s) {
            Err(IdentityError::InvalidDuration { input, reason }) => {
                assert_eq!(input, s);
                reason
            }
            other => panic!("`{s}` should be invalid, got {other:?}"),
        }
    }

    #[test]
    fn single_unit_lifetimes_parse() {
        assert_eq!(parse_ttl("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_ttl("15m").unwrap(), Duration::from_secs(15 * 60));
        assert_eq!(parse_ttl("12h").unwrap(), Duration::from_secs(12 * 3600));
        assert_eq!(parse_ttl("7d").unwrap(), Duration::from_secs(7 * 86_400));
    }

    #[test]
    fn combined_units_add_up() {
        assert_eq!(parse_ttl("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(
            parse_ttl("2d3h4m5s").unwrap(),
            Duration::from_secs(2 * 86_400 + 3 * 3600 + 4 * 60 + 5)
        );
    }

    #[test]
    fn a_number_without_unit_is_refused_with_a_hint() {
        assert!(reason("12").contains("12h"));
        assert!(reason("1h30").contains("no unit"));
    }

    #[test]
    fn unknown_units_repeats_and_wrong_order_are_refused() {
        assert!(reason("3w").contains("not a unit"));
        assert!(reason("1m30h").contains("out of order"));
        assert!(reason("1h1h").contains("repeated"));
        assert!(reason("h").contains("no number"));
        assert!(reason(" 1h").contains("not a unit"));
        assert!(reason("-1h").contains("not a unit"));
    }

    #[test]
    fn empty_zero_and_huge_durations_are_refused() {
        assert!(reason("").contains("empty"));
        assert!(reason("0s").contains("longer than zero"));
        assert!(reason("0h0m").contains("longer than zero"));
        assert!(reason("99999999999999999999s").contains("too large"));
        assert!(reason("999999999999999d").contains("too large"));
    }
}
