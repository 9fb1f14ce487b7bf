//! Detectors that start at a run of digits: payment cards, US SSNs, phone numbers and IBANs.
//!
//! Digit runs are found a word (8 bytes) at a time. Each run that starts at a token boundary is extended into a
//! sequence of digit groups joined by short separators (`4111 1111 1111 1111`, `(415) 555-2671`, `123-45-6789`),
//! and windows of consecutive groups are validated. A run glued to letters (`a716`, `v1`, hex ids) is skipped
//! whole, which is what keeps UUIDs, git SHAs and version strings out.

use super::{is_boundary, is_word, kind_index, Finding, Text};
use crate::config::DetectorKind;

/// Groups collected at a time. A longer sequence (a row of numbers joined by single blanks, two values written
/// side by side) is read in overlapping chunks, so every window of up to [`WINDOW_GROUPS`] consecutive groups is
/// still tried wherever it stands.
const MAX_GROUPS: usize = 8;
/// Most groups one value spans (a card in six groups, a phone number with its country code).
const WINDOW_GROUPS: usize = 6;
/// Fewest digits of any numeric kind (an E.164 number).
const MIN_DIGITS: usize = 8;

/// A run of digits and the separator bytes before it.
#[derive(Debug, Clone, Copy, Default)]
struct Group {
    start: usize,
    end: usize,
    /// Separator bytes before this group (up to 3), e.g. `) ` or `-`; empty for the first group.
    sep: [u8; 3],
    sep_len: u8,
    /// The first two digits (ASCII), for brand and trunk-prefix checks that need no text access.
    lead_digits: [u8; 2],
}

impl Group {
    fn digits(&self) -> usize {
        self.end - self.start
    }

    fn sep(&self) -> &[u8] {
        self.sep.get(..usize::from(self.sep_len)).unwrap_or(&[])
    }
}

/// Position of the first ASCII digit at or after `from`.
fn next_digit(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).ok()?);
        // Digits become 0..=9 after the xor; "has a byte below 10" is exact for this test (no false negatives,
        // and a positive is confirmed by the byte scan below).
        let x = word ^ 0x3030_3030_3030_3030;
        if x.wrapping_sub(0x0A0A_0A0A_0A0A_0A0A) & !x & 0x8080_8080_8080_8080 != 0 {
            break;
        }
        i += 8;
    }
    bytes.get(i..)?.iter().position(u8::is_ascii_digit).map(|p| i + p)
}

/// Scans all digit runs of `text` for the enabled numeric kinds.
pub(crate) fn scan_digits(text: Text<'_>, enabled: &[bool; DetectorKind::ALL.len()], out: &mut Vec<Finding>) {
    let on = |k: DetectorKind| enabled.get(kind_index(k)).copied().unwrap_or(false);
    let (cards, ssn, phone, iban) = (
        on(DetectorKind::CardNumber),
        on(DetectorKind::UsSsn),
        on(DetectorKind::Phone),
        on(DetectorKind::Iban),
    );
    if !(cards || ssn || phone || iban) {
        return;
    }
    let bytes = text.bytes;
    let mut pos = 0usize;
    while let Some(d) = next_digit(bytes, pos) {
        let prev = text.before(d);
        if prev.is_some_and(is_word) {
            // Digits inside a word (hex ids, `v1`, `e29b`): only an IBAN starts with letters glued to digits.
            if iban && d >= 2 && prev.is_some_and(|b| b.is_ascii_uppercase()) {
                if let Some(f) = iban_at(text, d - 2) {
                    pos = f.end;
                    out.push(f);
                    continue;
                }
            }
            pos = d + text.run(d, usize::MAX, is_word);
            continue;
        }
        let lead = match prev {
            Some(b'+') => Some((d - 1, b'+')),
            Some(b'(') => Some((d - 1, b'(')),
            _ => None,
        };
        let seq_start = lead.map_or(d, |(s, _)| s);
        let run = text.run(d, 64, |b| b.is_ascii_digit());
        let continues = continues_group(text, d + run);
        if !starts_token(text, seq_start, run > 4 || continues) {
            pos = d + text.run(d, usize::MAX, is_word);
            continue;
        }
        if run < MIN_DIGITS && !continues {
            // A lone short number (a time, a size, a port): the common case, decided without building groups.
            pos = d + run;
            if text.at(pos).is_some_and(is_word) {
                pos += text.run(pos, usize::MAX, is_word);
            }
            continue;
        }
        let mut groups = [Group::default(); MAX_GROUPS];
        let on = Enabled { cards, ssn, phone };
        let (n, lead) = collect_long_sequence(text, d, lead, &mut groups, on, out);
        let last_end = groups.get(n.saturating_sub(1)).map_or(d, |g| g.end);
        pos = last_end;
        if !is_boundary(text.after(last_end)) || text.after(last_end) == Some(b'_') {
            // Glued to letters at the end (`2024-05-01T12`, `123abc`): only windows before the last group count.
            pos = last_end + text.run(last_end, usize::MAX, is_word);
            if n <= 1 {
                continue;
            }
            let groups = groups.get(..n - 1).unwrap_or(&[]);
            evaluate(text, groups, lead, on, out, groups.len());
            continue;
        }
        let groups = groups.get(..n).unwrap_or(&[]);
        evaluate(text, groups, lead, on, out, groups.len());
    }
}

/// Collects the groups of the sequence starting at `d`; while it is longer than [`MAX_GROUPS`], evaluates the
/// windows that start early enough to fit in what was collected and collects again from the first group not yet
/// tried as a start. Returns the last chunk (its group count, and the sequence's lead if that chunk is the first),
/// which the caller evaluates whole.
fn collect_long_sequence(
    text: Text<'_>,
    d: usize,
    lead: Option<(usize, u8)>,
    groups: &mut [Group; MAX_GROUPS],
    on: Enabled,
    out: &mut Vec<Finding>,
) -> (usize, Option<(usize, u8)>) {
    let mut from = d;
    let mut lead = lead;
    loop {
        let n = collect_groups(text, from, groups);
        let last_end = groups.get(n.saturating_sub(1)).map_or(from, |g| g.end);
        let more = separator_len(text, last_end);
        if n < MAX_GROUPS || more == 0 {
            return (n, lead);
        }
        // Starts whose longest window fits in this chunk; later starts are tried with the groups that follow.
        let fitting = n + 1 - WINDOW_GROUPS;
        let resume = evaluate(text, groups.get(..n).unwrap_or(&[]), lead, on, out, fitting);
        from = match groups.get(resume) {
            Some(g) => g.start,
            // A value ended at the last group collected: go on after it.
            None => last_end + more,
        };
        lead = None;
    }
}

#[derive(Debug, Clone, Copy)]
struct Enabled {
    cards: bool,
    ssn: bool,
    phone: bool,
}

/// Whether a number may start at `i`: not glued to a word, and not the tail of `word-123`, `1.5` or `a/42` style
/// tokens. After `label:` only a `long` number (a run of 5+ digits, or grouped digits) starts one: short runs
/// there are IPv6 groups and times (`fe80::1ff:4567`, `12:34`).
fn starts_token(text: Text<'_>, i: usize, long: bool) -> bool {
    match text.before(i) {
        None => true,
        Some(b) if is_word(b) => false,
        Some(b'.' | b'-' | b'/') => !text.before(i - 1).is_some_and(|b| b.is_ascii_alphanumeric()),
        Some(b':') => match text.before(i - 1) {
            Some(p) if p.is_ascii_digit() => false,
            Some(p) if p.is_ascii_alphanumeric() => long,
            _ => true,
        },
        Some(_) => true,
    }
}

/// Length of the separator at `i` if a digit group follows it: one of ` `, `-`, `.`, or a parenthesis with an
/// optional blank or dash (`) `, `)-`, ` (`). Two blanks do not join groups: that is a table, not one number.
fn separator_len(text: Text<'_>, i: usize) -> usize {
    let len = match (text.at(i), text.at(i + 1)) {
        (Some(b')'), Some(b' ' | b'-')) | (Some(b' '), Some(b'(')) => 2,
        (Some(b' ' | b'-' | b'.' | b'(' | b')'), _) => 1,
        _ => return 0,
    };
    if text.at(i + len).is_some_and(|b| b.is_ascii_digit()) {
        len
    } else {
        0
    }
}

/// Whether a digit group continues after a run ending at `i`.
fn continues_group(text: Text<'_>, i: usize) -> bool {
    separator_len(text, i) > 0
}

/// Collects up to [`MAX_GROUPS`] digit groups starting at `d`, joined by separators (see [`separator_len`]).
fn collect_groups(text: Text<'_>, d: usize, groups: &mut [Group; MAX_GROUPS]) -> usize {
    let mut n = 0usize;
    let mut start = d;
    let mut sep = [0u8; 3];
    let mut sep_len = 0u8;
    loop {
        let len = text.run(start, 64, |b| b.is_ascii_digit());
        let Some(slot) = groups.get_mut(n) else { break };
        let lead_digits = [text.at(start).unwrap_or(0), text.at(start + 1).unwrap_or(0)];
        *slot = Group {
            start,
            end: start + len,
            sep,
            sep_len,
            lead_digits,
        };
        n += 1;
        let end = start + len;
        let s = separator_len(text, end);
        if s == 0 {
            break;
        }
        sep = [0u8; 3];
        if let (Some(dst), Some(src)) = (sep.get_mut(..s), text.bytes.get(end..end + s)) {
            dst.copy_from_slice(src);
        }
        sep_len = u8::try_from(s).unwrap_or(3);
        start = end + s;
    }
    n
}

/// Tries windows of consecutive groups, longest first at each start below `starts`, and records the first valid
/// kind. Returns the first start not tried (after the last value found, or `starts`).
fn evaluate(
    text: Text<'_>,
    groups: &[Group],
    lead: Option<(usize, u8)>,
    on: Enabled,
    out: &mut Vec<Finding>,
    starts: usize,
) -> usize {
    let mut a = 0usize;
    'starts: while a < starts.min(groups.len()) {
        let lead_here = if a == 0 { lead } else { None };
        for b in (a..groups.len().min(a + WINDOW_GROUPS)).rev() {
            let Some(window) = groups.get(a..=b) else { continue };
            if window.iter().map(Group::digits).sum::<usize>() < MIN_DIGITS {
                continue;
            }
            if on.cards {
                if let Some(f) = card(text, window, lead_here) {
                    out.push(f);
                    a = b + 1;
                    continue 'starts;
                }
            }
            if on.ssn {
                if let Some(f) = ssn(text, window, lead_here) {
                    out.push(f);
                    a = b + 1;
                    continue 'starts;
                }
            }
            if on.phone {
                if let Some(f) = phone(window, lead_here) {
                    out.push(f);
                    a = b + 1;
                    continue 'starts;
                }
            }
        }
        a += 1;
    }
    a
}

/// Whether the window's groups have exactly these digit counts.
fn shape_is(window: &[Group], shape: &[usize]) -> bool {
    window.len() == shape.len() && window.iter().zip(shape).all(|(g, n)| g.digits() == *n)
}

/// All separators of the window (after its first group) are the same single byte from `allowed`.
fn uniform_sep(window: &[Group], allowed: &[u8]) -> bool {
    let mut seps = window.iter().skip(1).map(Group::sep);
    match seps.next() {
        None => true,
        Some(first) => {
            first.len() == 1 && first.first().is_some_and(|b| allowed.contains(b)) && seps.all(|s| s == first)
        }
    }
}

/// The window's digits, in order.
fn digits_of<'a>(text: Text<'a>, window: &'a [Group]) -> impl Iterator<Item = u8> + 'a {
    window.iter().flat_map(move |g| {
        text.bytes
            .get(g.start..g.end)
            .unwrap_or(&[])
            .iter()
            .map(|b| b - b'0')
    })
}

fn span(window: &[Group]) -> (usize, usize) {
    (
        window.first().map_or(0, |g| g.start),
        window.last().map_or(0, |g| g.end),
    )
}

/// Payment card: 13-19 digits, plain or in groups of 3-6 digits (the last may be shorter) joined by one kind of separator, a
/// known brand prefix for that length, and a valid Luhn checksum.
fn card(text: Text<'_>, window: &[Group], lead: Option<(usize, u8)>) -> Option<Finding> {
    if matches!(lead, Some((_, b'+'))) {
        return None;
    }
    let total: usize = window.iter().map(Group::digits).sum();
    // Dots only in the printed `4111.1111.1111.1111` layout: other dotted digit runs are versions and addresses.
    let dotted = shape_is(window, &[4, 4, 4, 4]) && uniform_sep(window, b".");
    if !(13..=19).contains(&total) || !(dotted || uniform_sep(window, b" -")) {
        return None;
    }
    if window.len() > 1 {
        let (last, init) = window.split_last()?;
        if !(1..=6).contains(&last.digits()) || init.iter().any(|g| !(3..=6).contains(&g.digits())) {
            return None;
        }
    }
    let mut digits = [0u8; 19];
    for (slot, d) in digits.iter_mut().zip(digits_of(text, window)) {
        *slot = d;
    }
    let digits = digits.get(..total)?;
    if !brand_accepts(digits) || !luhn(digits) {
        return None;
    }
    let (start, end) = span(window);
    Some(Finding::new(start, end, DetectorKind::CardNumber))
}

/// Whether a known card brand issues numbers with this prefix and length (IIN ranges of the major networks).
fn brand_accepts(d: &[u8]) -> bool {
    let prefix = |n: usize| d.iter().take(n).fold(0u32, |acc, x| acc * 10 + u32::from(*x));
    let len = d.len();
    let (p1, p2, p3, p4) = (prefix(1), prefix(2), prefix(3), prefix(4));
    let visa = p1 == 4 && matches!(len, 13 | 16 | 19);
    let mastercard = ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16;
    let amex = matches!(p2, 34 | 37) && len == 15;
    let discover = (p4 == 6011 || p2 == 65 || (644..=649).contains(&p3)) && (16..=19).contains(&len);
    let jcb = (3528..=3589).contains(&p4) && (16..=19).contains(&len);
    let diners = ((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39) && (14..=19).contains(&len);
    let unionpay = p2 == 62 && (16..=19).contains(&len);
    let maestro =
        matches!(p4, 5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761..=6763) && (13..=19).contains(&len);
    visa || mastercard || amex || discover || jcb || diners || unionpay || maestro
}

/// The Luhn (mod 10) checksum.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// US SSN: `123-45-6789` (or with spaces), or nine plain digits right after an `ssn` label; never-issued areas
/// (000, 666, 900-999), group 00 and serial 0000 are rejected.
fn ssn(text: Text<'_>, window: &[Group], lead: Option<(usize, u8)>) -> Option<Finding> {
    if lead.is_some() {
        return None;
    }
    let (start, end) = span(window);
    let dashed = shape_is(window, &[3, 2, 4]) && uniform_sep(window, b"- ");
    let labelled = shape_is(window, &[9]) && has_ssn_label(text, start);
    if !(dashed || labelled) {
        return None;
    }
    let mut d = [0u32; 9];
    for (slot, x) in d.iter_mut().zip(digits_of(text, window)) {
        *slot = u32::from(x);
    }
    let area = d[0] * 100 + d[1] * 10 + d[2];
    let group = d[3] * 10 + d[4];
    let serial = d[5] * 1000 + d[6] * 100 + d[7] * 10 + d[8];
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return None;
    }
    Some(Finding::new(start, end, DetectorKind::UsSsn))
}

/// Whether `ssn` (any case, possibly as the end of a key like `user_ssn`) precedes `start`, separated only by
/// `:`, `=`, `#`, quotes and blanks.
fn has_ssn_label(text: Text<'_>, start: usize) -> bool {
    let gap = text.run_back(start, 6, |b| {
        matches!(b, b' ' | b'\t' | b':' | b'=' | b'#' | b'"' | b'\'')
    });
    let label_end = start - gap;
    gap > 0
        && label_end >= 3
        && text.starts_with_at_ci(label_end - 3, b"ssn")
        && !text
            .before(label_end - 3)
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Phone numbers, conservatively: E.164 with a `+` (8-15 digits, no leading 0); North American `(415) 555-2671`,
/// `415-555-2671`, `415.555.2671`, `1-800-555-0199`; national numbers with a trunk `0`, 9-11 digits in 2-5
/// groups (`020 7946 0958`, `01 23 45 67 89`, `030 901820`). Plain digit strings without a `+` are never phone numbers here: they are ids.
fn phone(window: &[Group], lead: Option<(usize, u8)>) -> Option<Finding> {
    let total: usize = window.iter().map(Group::digits).sum();
    let (start, end) = span(window);
    let first = window.first()?;
    let seps_ok = window.iter().skip(1).all(|g| !g.sep().is_empty());
    match lead {
        Some((s, b'+')) => {
            let paren_balance = window.iter().flat_map(|g| g.sep()).fold(0i32, |acc, b| match b {
                b'(' => acc + 1,
                b')' => acc - 1,
                _ => acc,
            });
            let no_dots_mixed = !window.iter().any(|g| g.sep().contains(&b'.'))
                || window.iter().skip(1).all(|g| g.sep() == b".");
            if (8..=15).contains(&total) && seps_ok && paren_balance == 0 && no_dots_mixed {
                return Some(Finding::new(s, end, DetectorKind::Phone));
            }
            return None;
        }
        Some((s, _)) => {
            // `(415) 555-2671`
            let sep = |i: usize| window.get(i).map(Group::sep);
            let ok = shape_is(window, &[3, 3, 4])
                && matches!(sep(1), Some(b") " | b")" | b")-"))
                && matches!(sep(2), Some(b"-" | b" " | b"."));
            return ok
                .then(|| Finding::new(s, end, DetectorKind::Phone))
                .filter(|_| nanp_ok(window));
        }
        None => {}
    }
    let four = shape_is(window, &[1, 3, 3, 4]);
    if (four || shape_is(window, &[3, 3, 4])) && uniform_sep(window, b"-. ") {
        let nanp = if four { window.get(1..)? } else { window };
        if four && first.lead_digits[0] != b'1' {
            return None;
        }
        return nanp_ok(nanp).then(|| Finding::new(start, end, DetectorKind::Phone));
    }
    let trunk = first.lead_digits[0] == b'0' && first.lead_digits[1] != b'0';
    if trunk
        && (9..=11).contains(&total)
        && (2..=5).contains(&window.len())
        && window.iter().all(|g| g.digits() >= 2)
        && uniform_sep(window, b" -")
        && !first.sep().contains(&b'.')
    {
        return Some(Finding::new(start, end, DetectorKind::Phone));
    }
    None
}

/// North American numbering: the area code starts with 2-9. (Real exchanges do too, but `555-123-4567` is how
/// people write example numbers, and they are still someone's number-shaped data.)
fn nanp_ok(window: &[Group]) -> bool {
    window
        .first()
        .is_some_and(|g| (b'2'..=b'9').contains(&g.lead_digits[0]))
}

/// IBAN lengths by country (SWIFT IBAN registry).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NL", 18),
    (b"NO", 15),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"SA", 24),
    (b"SC", 31),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
];

/// IBAN at `at` (two upper-case letters, then check digits): compact or in groups of four separated by single
/// spaces, the country's exact length, and the ISO 7064 mod-97 check.
fn iban_at(text: Text<'_>, at: usize) -> Option<Finding> {
    let country = text.bytes.get(at..at + 2)?;
    if !country.iter().all(u8::is_ascii_uppercase) || !is_boundary(text.before(at)) {
        return None;
    }
    let &(_, len) = IBAN_LENGTHS.iter().find(|(c, _)| c.as_slice() == country)?;
    let spaced = text.at(at + 4) == Some(b' ');
    let mut chars = [0u8; 34];
    let mut count = 0usize;
    let mut i = at;
    while count < len {
        let b = text.at(i)?;
        if b == b' ' && spaced && count % 4 == 0 && count > 0 {
            i += 1;
            continue;
        }
        if !(b.is_ascii_uppercase() || b.is_ascii_digit()) {
            return None;
        }
        *chars.get_mut(count)? = b;
        count += 1;
        i += 1;
    }
    if text.after(i).is_some_and(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let chars = chars.get(..len)?;
    if !chars.get(2..4)?.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Move the first four characters to the end, read letters as 10..=35, and reduce mod 97 as we go.
    let rearranged = chars.get(4..)?.iter().chain(chars.get(..4)?.iter());
    let mut rem = 0u32;
    for &b in rearranged {
        if b.is_ascii_digit() {
            rem = (rem * 10 + u32::from(b - b'0')) % 97;
        } else {
            rem = (rem * 100 + u32::from(b - b'A') + 10) % 97;
        }
    }
    (rem == 1).then(|| Finding::new(at, i, DetectorKind::Iban))
}
