//! Detectors for secrets recognised by their context rather than their shape: values after secret-looking keys
//! (`password=`, `"api_key": "…"`, `Authorization: Basic …`), bearer tokens, SQL `IDENTIFIED BY '…'`, and the
//! password of `scheme://user:password@host` URLs.

use super::{is_boundary, Finding, Text};
use crate::config::DetectorKind;
use crate::render::{is_mask_output, REDACTED};

/// Key suffixes that mark the value as a secret. `strict` ones must start at a word boundary (`authToken`,
/// `auth_token`, but not `mytoken`); the others may follow anything (`dbpassword`).
const KEY_SUFFIXES: &[(&[u8], bool)] = &[
    (b"password", false),
    (b"passwd", false),
    (b"passphrase", false),
    (b"secret", false),
    (b"apikey", false),
    (b"api_key", false),
    (b"api-key", false),
    (b"accesskey", false),
    (b"access_key", false),
    (b"access-key", false),
    (b"secretkey", false),
    (b"secret_key", false),
    (b"secret-key", false),
    (b"privatekey", false),
    (b"private_key", false),
    (b"private-key", false),
    (b"authorization", true),
    (b"token", true),
    (b"pwd", true),
];

/// Bytes of a key identifier (`DB_PASSWORD`, `x-api-key`, `spring.datasource.password`, `--password`).
fn is_key(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// Bytes that end an unquoted value.
fn ends_value(b: u8) -> bool {
    b.is_ascii_whitespace()
        || b.is_ascii_control()
        || matches!(
            b,
            b',' | b';' | b'&' | b'"' | b'\'' | b'`' | b')' | b']' | b'}' | b'<' | b'>' | b'|'
        )
}

/// Whether `key` ends with a secret suffix, and which one.
fn secret_suffix(key: &[u8]) -> Option<&'static [u8]> {
    KEY_SUFFIXES.iter().find_map(|(suffix, strict)| {
        let cut = key.len().checked_sub(suffix.len())?;
        let tail = key.get(cut..)?;
        if !tail.eq_ignore_ascii_case(suffix) {
            return None;
        }
        if *strict && cut > 0 {
            let prev = key.get(cut - 1).copied()?;
            let first = key.get(cut).copied()?;
            // A boundary is a separator, or a camelCase hump (`authToken`).
            let camel = prev.is_ascii_lowercase() && first.is_ascii_uppercase();
            if prev.is_ascii_alphanumeric() && !camel {
                return None;
            }
        }
        Some(*suffix)
    })
}

/// A value that is not a secret even after a secret key: empty, a literal, a placeholder, or already masked.
fn is_benign_value(value: &[u8], suffix: &[u8]) -> bool {
    const LITERALS: &[&[u8]] = &[
        b"null",
        b"none",
        b"nil",
        b"true",
        b"false",
        b"undefined",
        b"required",
        b"optional",
    ];
    value.is_empty()
        || matches!(value, b"{" | b"[" | b"{}" | b"[]")
        || LITERALS.iter().any(|l| value.eq_ignore_ascii_case(l))
        || value.starts_with(b"$")
        || value.starts_with(b"{{")
        || value.starts_with(b"%(")
        || value.starts_with(b"<")
        || is_mask_output(value)
        || (suffix == b"pwd" && (value.starts_with(b"/") || value.starts_with(b"~")))
}

/// Where the value after a separator ends: a quoted value to its closing quote (honouring backslash escapes, or
/// to the end of the segment if unterminated), an unquoted one to the next delimiter. Returns (start, end).
fn value_span(text: Text<'_>, pos: usize) -> Option<(usize, usize)> {
    match text.at(pos) {
        Some(q @ (b'"' | b'\'' | b'`')) => {
            let start = pos + 1;
            let mut i = start;
            while let Some(b) = text.at(i) {
                if b == b'\\' {
                    i += 2;
                    continue;
                }
                if b == q || b == b'\n' {
                    return Some((start, i));
                }
                i += 1;
            }
            Some((start, text.len().max(start)))
        }
        Some(_) => {
            let len = text.run(pos, usize::MAX, |b| !ends_value(b));
            Some((pos, pos + len))
        }
        None => None,
    }
}

/// Validates `KEY SEP VALUE` around a secret keyword matched at `kw_start..kw_end`.
pub(crate) fn secret_after_key(text: Text<'_>, kw_start: usize, kw_end: usize) -> Option<Finding> {
    let key_start = kw_start - text.run_back(kw_start, 128, is_key);
    let key_end = kw_end + text.run(kw_end, 128, is_key);
    let key = text.bytes.get(key_start..key_end)?;
    let key_trimmed = key.strip_suffix(b".").unwrap_or(key);
    let suffix = secret_suffix(key_trimmed.trim_ascii_start())?;
    let key_end = key_start + key_trimmed.len();
    let mut pos = key_end;
    // A closing quote of a quoted key: `"password": …`.
    if matches!(text.at(pos), Some(b'"' | b'\'')) {
        pos += 1;
    }
    pos += text.run(pos, 8, |b| b == b' ' || b == b'\t');
    let separated = match (text.at(pos), text.at(pos + 1)) {
        (Some(b':'), Some(b'=')) | (Some(b'='), Some(b'>')) => {
            pos += 2;
            true
        }
        (Some(b'=' | b':'), _) => {
            pos += 1;
            true
        }
        _ => false,
    };
    if separated {
        pos += text.run(pos, 8, |b| b == b' ' || b == b'\t');
    } else {
        // No separator: `PASSWORD 'x'` (SQL) needs a quote; `--password hunter2` (a CLI flag) needs the dashes.
        let gap = pos - key_end;
        let quoted = matches!(text.at(pos), Some(b'\'' | b'"'));
        let flag = key.starts_with(b"--") && gap == 1 && text.at(pos).is_some_and(|b| !ends_value(b));
        if gap == 0 || !(quoted || flag) {
            return None;
        }
    }
    if suffix.eq_ignore_ascii_case(b"authorization") {
        // `Authorization: Basic dXNlcjpwYXNz` / `Bearer …`: the scheme stays readable.
        let scheme = text.run(pos, 16, |b| b.is_ascii_alphabetic());
        if scheme > 0 && text.at(pos + scheme) == Some(b' ') {
            pos += scheme + 1;
        }
    }
    if text.starts_with_at(pos, REDACTED) {
        return None;
    }
    let (start, end) = value_span(text, pos)?;
    let value = text.bytes.get(start..end)?;
    if is_benign_value(value, suffix) {
        return None;
    }
    let kind = if is_aws_secret(key, value) {
        DetectorKind::AwsSecretKey
    } else {
        DetectorKind::GenericSecret
    };
    Some(Finding::guarded(key_start, start, end, kind))
}

/// An AWS secret access key: 40 base64 characters under a key that names AWS or a secret access key.
fn is_aws_secret(key: &[u8], value: &[u8]) -> bool {
    let lower = key.to_ascii_lowercase();
    let labelled = memchr::memmem::find(&lower, b"aws").is_some()
        || memchr::memmem::find(&lower, b"secretaccesskey").is_some()
        || memchr::memmem::find(&lower, b"secret_access_key").is_some();
    labelled
        && value.len() == 40
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'/' || *b == b'+')
}

/// Bytes of an RFC 6750 bearer token.
fn is_token68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// `Bearer <token>` anywhere (curl command lines, logged headers).
pub(crate) fn bearer(text: Text<'_>, at: usize, end: usize) -> Option<Finding> {
    if !text.starts_with_at_ci(at, b"bearer ") || !is_boundary(text.before(at)) {
        return None;
    }
    let start = end + text.run(end, 4, |b| b == b' ');
    let len = text.run(start, usize::MAX, is_token68);
    let value = text.bytes.get(start..start + len)?;
    if len < 8 || is_mask_output(value) {
        return None;
    }
    Some(Finding::guarded(
        at,
        start,
        start + len,
        DetectorKind::GenericSecret,
    ))
}

/// SQL `IDENTIFIED BY 'secret'` (MySQL, Oracle).
pub(crate) fn identified_by(text: Text<'_>, at: usize, end: usize) -> Option<Finding> {
    if !text.starts_with_at_ci(at, b"identified by") || !is_boundary(text.before(at)) {
        return None;
    }
    let pos = end + text.run(end, 8, |b| b == b' ' || b == b'\t');
    if pos == end || !matches!(text.at(pos), Some(b'\'' | b'"')) {
        return None;
    }
    let (start, stop) = value_span(text, pos)?;
    let value = text.bytes.get(start..stop)?;
    if value.is_empty() || is_mask_output(value) {
        return None;
    }
    Some(Finding::guarded(at, start, stop, DetectorKind::GenericSecret))
}

/// Bytes that end a URL in running text.
fn ends_url(b: u8) -> bool {
    b.is_ascii_whitespace() || b.is_ascii_control() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'`')
}

/// The password of `scheme://user:password@host`, with `sep` the offset of `://`.
///
/// Passwords are often not percent-encoded, so the password runs to the *last* `@` before the host part ends
/// (`p@ss@host/db` has password `p@ss`).
pub(crate) fn url_password(text: Text<'_>, sep: usize) -> Option<Finding> {
    let scheme_len = text.run_back(sep, 32, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')
    });
    let scheme_start = sep - scheme_len;
    if scheme_len < 2 || !text.at(scheme_start).is_some_and(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let user_start = sep + 3;
    let user_len = text.run(user_start, 256, |b| {
        !matches!(b, b':' | b'@' | b'/') && !ends_url(b)
    });
    let colon = user_start + user_len;
    if text.at(colon) != Some(b':') {
        return None;
    }
    let rest = text.bytes.get(colon + 1..)?;
    let url_len = rest.iter().position(|b| ends_url(*b)).unwrap_or(rest.len());
    let url = rest.get(..url_len)?;
    let first_at = memchr::memchr(b'@', url)?;
    let host_end = url
        .get(first_at..)?
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .map_or(url.len(), |p| first_at + p);
    let last_at = memchr::memrchr(b'@', url.get(..host_end)?)?;
    let password = url.get(..last_at)?;
    if password.is_empty() || is_mask_output(password) || text.bytes.get(colon + 1 + last_at + 1).is_none() {
        return None;
    }
    Some(Finding::guarded(
        scheme_start,
        colon + 1,
        colon + 1 + last_at,
        DetectorKind::UrlPassword,
    ))
}
