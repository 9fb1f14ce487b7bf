//! Detectors for self-identifying values: vendor tokens with a fixed prefix, JWTs and e-mail addresses.

use super::{is_boundary, Finding, Text};
use crate::config::DetectorKind;

/// A vendor token family, told apart by its literal prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenPrefix {
    /// `AKIA` (long-term) and `ASIA` (temporary) access key ids: exactly 16 upper-case alphanumerics follow.
    AwsKeyId,
    /// `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`: 36 alphanumerics follow (at least 30 accepted).
    GithubClassic,
    /// `github_pat_`: fine-grained tokens, alphanumerics and `_`.
    GithubFineGrained,
    /// `glpat-`, `glrt-`, `gldt-`.
    Gitlab,
    /// `xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xoxe-`, `xapp-`.
    Slack,
    /// `hooks.slack.com/services/`: the path is the credential.
    SlackWebhook,
    /// `sk_live_`, `rk_live_`, `sk_test_`, `rk_test_`.
    Stripe,
}

impl TokenPrefix {
    /// The detector kind this family reports.
    pub(crate) fn kind(self) -> DetectorKind {
        match self {
            TokenPrefix::AwsKeyId => DetectorKind::AwsAccessKeyId,
            TokenPrefix::GithubClassic | TokenPrefix::GithubFineGrained => DetectorKind::GithubToken,
            TokenPrefix::Gitlab => DetectorKind::GitlabToken,
            TokenPrefix::Slack | TokenPrefix::SlackWebhook => DetectorKind::SlackToken,
            TokenPrefix::Stripe => DetectorKind::StripeKey,
        }
    }

    /// Which body bytes the family allows, and how many (min, max).
    fn body(self) -> (fn(u8) -> bool, usize, usize) {
        match self {
            TokenPrefix::AwsKeyId => (|b| b.is_ascii_uppercase() || b.is_ascii_digit(), 16, 16),
            TokenPrefix::GithubClassic => (|b| b.is_ascii_alphanumeric(), 30, 255),
            TokenPrefix::GithubFineGrained => (|b| b.is_ascii_alphanumeric() || b == b'_', 22, 255),
            TokenPrefix::Gitlab => (|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-', 20, 255),
            TokenPrefix::Slack => (|b| b.is_ascii_alphanumeric() || b == b'-', 10, 255),
            TokenPrefix::SlackWebhook => (|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'_', 20, 255),
            TokenPrefix::Stripe => (|b| b.is_ascii_alphanumeric(), 16, 255),
        }
    }
}

/// Literal prefixes (matched case-insensitively by the automaton, re-checked exactly here).
pub(crate) const PREFIXES: &[(&str, TokenPrefix)] = &[
    ("AKIA", TokenPrefix::AwsKeyId),
    ("ASIA", TokenPrefix::AwsKeyId),
    ("ghp_", TokenPrefix::GithubClassic),
    ("gho_", TokenPrefix::GithubClassic),
    ("ghu_", TokenPrefix::GithubClassic),
    ("ghs_", TokenPrefix::GithubClassic),
    ("ghr_", TokenPrefix::GithubClassic),
    ("github_pat_", TokenPrefix::GithubFineGrained),
    ("glpat-", TokenPrefix::Gitlab),
    ("glrt-", TokenPrefix::Gitlab),
    ("gldt-", TokenPrefix::Gitlab),
    ("xoxb-", TokenPrefix::Slack),
    ("xoxp-", TokenPrefix::Slack),
    ("xoxa-", TokenPrefix::Slack),
    ("xoxr-", TokenPrefix::Slack),
    ("xoxs-", TokenPrefix::Slack),
    ("xoxe-", TokenPrefix::Slack),
    ("xapp-", TokenPrefix::Slack),
    ("hooks.slack.com/services/", TokenPrefix::SlackWebhook),
    ("sk_live_", TokenPrefix::Stripe),
    ("rk_live_", TokenPrefix::Stripe),
    ("sk_test_", TokenPrefix::Stripe),
    ("rk_test_", TokenPrefix::Stripe),
];

/// Length of the public prefix of a credential (kept by partial masking), 0 if it has none.
pub(crate) fn public_prefix_len(value: &[u8]) -> usize {
    PREFIXES
        .iter()
        .filter(|(_, family)| *family != TokenPrefix::SlackWebhook)
        .find(|(p, _)| value.starts_with(p.as_bytes()) && value.len() > p.len())
        .map_or(0, |(p, _)| p.len())
}

/// Validates a prefixed token whose prefix starts at `at`.
pub(crate) fn prefixed(text: Text<'_>, at: usize, family: TokenPrefix) -> Option<Finding> {
    let prefix = PREFIXES
        .iter()
        .find(|(p, f)| *f == family && text.starts_with_at(at, p.as_bytes()))?
        .0;
    let body_start = at + prefix.len();
    let (allowed, min, max) = family.body();
    let len = text.run(body_start, max + 1, allowed);
    if len < min || len > max {
        return None;
    }
    let end = body_start + len;
    if family == TokenPrefix::SlackWebhook {
        // The URL host stays readable; the path (team, channel, secret) is the credential.
        return Some(Finding::guarded(at, body_start, end, DetectorKind::SlackToken));
    }
    if !is_boundary(text.before(at))
        || text
            .after(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    Some(Finding::new(at, end, family.kind()))
}

/// Bytes of a base64url segment.
fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Validates a JWT starting at `at` (`eyJ` is base64url of `{"`): three base64url parts, the header decoding to a
/// complete JSON object that has an `alg` member. The signature may be empty (`alg: none` tokens still carry claims).
pub(crate) fn jwt(text: Text<'_>, at: usize) -> Option<Finding> {
    if !text.starts_with_at(at, b"eyJ") || text.before(at).is_some_and(|b| is_b64url(b) || b == b'.') {
        return None;
    }
    let header_len = text.run(at, 4096, is_b64url);
    let dot1 = at + header_len;
    if header_len < 10 || text.at(dot1) != Some(b'.') {
        return None;
    }
    let payload_len = text.run(dot1 + 1, 1 << 16, is_b64url);
    let dot2 = dot1 + 1 + payload_len;
    if payload_len < 2 || text.at(dot2) != Some(b'.') {
        return None;
    }
    let sig_len = text.run(dot2 + 1, 4096, is_b64url);
    let end = dot2 + 1 + sig_len;
    if text.after(end).is_some_and(|b| is_b64url(b) || b == b'.') {
        return None;
    }
    let header = text.bytes.get(at..dot1)?;
    let decoded = decode_b64url(header)?;
    // A complete JSON object, not just a prefix of one: `eyJhbGciOi` alone decodes to `{"alg":"`.
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&decoded).ok()?;
    if !object.contains_key("alg") {
        return None;
    }
    Some(Finding::new(at, end, DetectorKind::Jwt))
}

/// Decodes unpadded base64url (only used on short JWT headers).
fn decode_b64url(input: &[u8]) -> Option<Vec<u8>> {
    fn value(b: u8) -> Option<u32> {
        match b {
            b'A'..=b'Z' => Some(u32::from(b - b'A')),
            b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
            b'-' => Some(62),
            b'_' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(input.len() * 3 / 4 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in input {
        acc = (acc << 6) | value(*b)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xFF).ok()?);
        }
    }
    Some(out)
}

/// Bytes allowed in the local part of an address. `*` is deliberately absent: `j****@*****.com` (our own output)
/// must not be detected again.
fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// Validates an e-mail address around the `@` at `at`: a non-empty local part, at least two domain labels, an
/// alphabetic top-level domain of two or more letters. `git@host` remote specs are not personal data.
pub(crate) fn email(text: Text<'_>, at: usize) -> Option<Finding> {
    let local_len = text.run_back(at, 64, is_local);
    let start = at - local_len;
    if local_len == 0 || text.before(start).is_some_and(is_local) {
        return None;
    }
    let local = text.bytes.get(start..at)?;
    if local.starts_with(b".") || local.ends_with(b".") || local == b"git" {
        return None;
    }
    // Domain: labels of [A-Za-z0-9-] separated by single dots.
    let mut pos = at + 1;
    let mut labels = 0usize;
    let mut end = at + 1;
    let mut tld_alpha = false;
    loop {
        let len = text.run(pos, 63, |b| b.is_ascii_alphanumeric() || b == b'-');
        if len == 0 {
            break;
        }
        let label = text.bytes.get(pos..pos + len)?;
        if label.starts_with(b"-") || label.ends_with(b"-") {
            break;
        }
        labels += 1;
        end = pos + len;
        tld_alpha = len >= 2 && label.iter().all(u8::is_ascii_alphabetic);
        if text.at(end) == Some(b'.') && text.at(end + 1).is_some_and(|b| b.is_ascii_alphanumeric()) {
            pos = end + 1;
        } else {
            break;
        }
    }
    if labels < 2 || !tld_alpha || end - at > 254 {
        return None;
    }
    if text
        .after(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return None;
    }
    Some(Finding::new(start, end, DetectorKind::Email))
}
