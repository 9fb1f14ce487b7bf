//! What a review is about: the statement's normalised text and hash (what a later grant matches), and the
//! justification a user can give in a leading `/* reason: ... */` comment.
//!
//! Normalisation must make "the same statement" match even when the client re-sends it with other spacing or a
//! different justification comment, and never make two different statements match: comments before the first
//! token are dropped, whitespace runs outside quotes and comments become one space, trailing semicolons and spaces
//! are dropped. Quoted text (strings, identifiers, dollar quotes) is kept byte for byte.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The justification given in a leading `/* reason: ... */` comment (case-insensitive `reason:`), trimmed and
/// at most 500 characters; `None` when there is none or it is empty.
pub fn justification(sql: &str) -> Option<String> {
    let mut rest = sql.trim_start();
    while let Some(body) = rest.strip_prefix("/*") {
        let end = body.find("*/")?;
        let inner = body.get(..end)?.trim();
        if inner.len() >= 7 && inner.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("reason:")) {
            let text: String = inner.get(7..)?.split_whitespace().collect::<Vec<_>>().join(" ");
            let text: String = text.chars().take(500).collect();
            return (!text.is_empty()).then_some(text);
        }
        rest = body.get(end + 2..)?.trim_start();
    }
    None
}

/// The justification set for the rest of the session with `SET [SESSION] sluice.reason = '...'` (or `TO`), if
/// `sql` is exactly such a statement. PostgreSQL accepts the dotted name as a custom setting, so the statement
/// still runs on the target; the gateway only remembers the text for the session's later reviews.
pub fn session_reason(sql: &str) -> Option<String> {
    let text = normalise(sql);
    let mut rest = strip_word(&text, "set")?;
    rest = strip_word(rest, "session").unwrap_or(rest);
    rest = strip_word(rest, "sluice.reason")?;
    rest = rest
        .strip_prefix('=')
        .map(str::trim_start)
        .or_else(|| strip_word(rest, "to"))?;
    let body = rest.strip_prefix('\'')?.strip_suffix('\'')?;
    if body.replace("''", "").contains('\'') {
        return None;
    }
    let reason: String = body.replace("''", "'").chars().take(500).collect();
    let reason = reason.trim().to_owned();
    (!reason.is_empty()).then_some(reason)
}

/// `text` without a leading case-insensitive `word` followed by a space (or `=`, or the end), trimmed.
fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let tail = text.get(word.len()..)?;
    (head.eq_ignore_ascii_case(word) && (tail.is_empty() || tail.starts_with([' ', '='])))
        .then(|| tail.trim_start())
}

/// Skips leading whitespace and comments (`/* */`, possibly nested as PostgreSQL allows, and `--` lines).
fn skip_leading_comments(sql: &str) -> &str {
    let mut rest = sql.trim_start();
    loop {
        if let Some(body) = rest.strip_prefix("--") {
            rest = body
                .find('\n')
                .and_then(|i| body.get(i + 1..))
                .unwrap_or("")
                .trim_start();
        } else if rest.starts_with("/*") {
            let mut depth = 0usize;
            let mut end = None;
            let bytes = rest.as_bytes();
            let mut i = 0;
            while i + 1 < bytes.len() {
                match (bytes.get(i), bytes.get(i + 1)) {
                    (Some(b'/'), Some(b'*')) => {
                        depth += 1;
                        i += 2;
                    }
                    (Some(b'*'), Some(b'/')) => {
                        depth = depth.saturating_sub(1);
                        i += 2;
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    }
                    _ => i += 1,
                }
            }
            match end.and_then(|e| rest.get(e..)) {
                Some(after) => rest = after.trim_start(),
                // An unterminated comment: keep the text as it is, the target will reject it anyway.
                None => return rest,
            }
        } else {
            return rest;
        }
    }
}

/// The normalised statement text (see the module docs).
pub fn normalise(sql: &str) -> String {
    let text = skip_leading_comments(sql);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut pending_space = false;
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
        match c {
            '\'' | '"' => {
                // Copy up to the closing quote; a doubled quote is an escaped one and is simply copied twice.
                for q in chars.by_ref() {
                    out.push(q);
                    if q == c {
                        break;
                    }
                }
            }
            '$' => {
                // A dollar quote `$tag$ ... $tag$`: copy its body verbatim.
                let mut tag = String::from("$");
                while let Some(&t) = chars.peek() {
                    if t == '$' || t.is_alphanumeric() || t == '_' {
                        chars.next();
                        out.push(t);
                        tag.push(t);
                        if t == '$' {
                            break;
                        }
                    } else {
                        break;
                    }
                }
                if tag.len() >= 2 && tag.ends_with('$') {
                    let mut body = String::new();
                    for b in chars.by_ref() {
                        body.push(b);
                        out.push(b);
                        if body.ends_with(&tag) {
                            break;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    while out.ends_with(';') || out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Lower-case hex SHA-256 of the normalised statement (unkeyed: for texts a review shows in clear, such as SSH
/// commands; PostgreSQL statements, whose reviews show texts masked, use [`execution_hash`]).
pub fn statement_hash(sql: &str) -> String {
    hex::encode(Sha256::digest(normalise(sql).as_bytes()))
}

/// One bound parameter of an extended-protocol execution, as the client sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'a> {
    /// SQL NULL.
    Null,
    /// A text-format value.
    Text(&'a [u8]),
    /// A binary-format value.
    Binary(&'a [u8]),
}

/// Longest parameter text a review shows (characters); the hash always covers the whole value.
pub const MAX_SHOWN_PARAMETER: usize = 1000;

impl Param<'_> {
    /// How a review shows the value: `None` for NULL, text values through `mask` (the session's statement masker,
    /// so a card number is not stored in clear) and cut to [`MAX_SHOWN_PARAMETER`] characters after masking,
    /// binary values as `<binary, N bytes>`.
    pub fn shown(&self, mask: &dyn Fn(&str) -> String) -> Option<String> {
        match self {
            Param::Null => None,
            Param::Text(bytes) => {
                let masked = mask(&String::from_utf8_lossy(bytes));
                if masked.chars().count() <= MAX_SHOWN_PARAMETER {
                    return Some(masked);
                }
                let mut cut: String = masked.chars().take(MAX_SHOWN_PARAMETER).collect();
                cut.push_str(&format!("... ({} bytes)", bytes.len()));
                Some(cut)
            }
            Param::Binary(bytes) => Some(format!("<binary, {} bytes>", bytes.len())),
        }
    }
}

/// The hash of one execution: HMAC-SHA256 under `key` (the gateway's derived key) of the normalised statement and
/// its bound parameters, so an approval (or a grant after a timeout) is for exactly that execution. It is computed
/// over the real text and values while reviews show them masked, and it is keyed even without parameters: a card
/// number typed as a literal is masked in the review's text, and an unkeyed hash stored (and sent to webhooks) next
/// to it would let anyone who reads them test guesses of the masked value (a card number has few unknown digits).
/// A simple Query and an execution without parameters of the same text have the same hash, so an approval matches
/// the statement whichever protocol re-runs it.
pub fn execution_hash(sql: &str, params: &[Param<'_>], key: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        // HMAC takes keys of any length; this branch cannot be reached.
        return statement_hash(sql);
    };
    mac.update(normalise(sql).as_bytes());
    for param in params {
        let (tag, bytes): (u8, &[u8]) = match param {
            Param::Null => (b'N', &[]),
            Param::Text(b) => (b'T', b),
            Param::Binary(b) => (b'B', b),
        };
        mac.update(&[tag]);
        mac.update(&u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_be_bytes());
        mac.update(bytes);
    }
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn justification_from_a_leading_comment() {
        assert_eq!(
            justification("/* reason: INC-42   cleanup */ DELETE FROM t").as_deref(),
            Some("INC-42 cleanup")
        );
        assert_eq!(
            justification("/* app */ /* Reason: x */ DELETE FROM t").as_deref(),
            Some("x")
        );
        assert_eq!(justification("DELETE FROM t /* reason: late */"), None);
        assert_eq!(justification("/* reason:   */ DELETE"), None);
        assert_eq!(justification("/* reason: unterminated DELETE"), None);
    }

    #[test]
    fn session_reason_from_set() {
        assert_eq!(
            session_reason("SET sluice.reason = 'INC-42'").as_deref(),
            Some("INC-42")
        );
        assert_eq!(
            session_reason("set session sluice.reason to 'it''s late';").as_deref(),
            Some("it's late")
        );
        assert_eq!(session_reason("SET sluice.reason='x'").as_deref(), Some("x"));
        assert_eq!(session_reason("SET search_path = 'x'"), None);
        assert_eq!(session_reason("SET sluice.reasonable = 'x'"), None);
        assert_eq!(
            session_reason("SET sluice.reason = 'a'; DELETE FROM t; SELECT 'b'"),
            None
        );
        assert_eq!(session_reason("SET sluice.reason = ''"), None);
    }

    #[test]
    fn spacing_comments_and_semicolons_do_not_change_the_hash() {
        let a = statement_hash("DELETE FROM orders WHERE id = 1");
        assert_eq!(
            a,
            statement_hash("  /* reason: again */\n DELETE   FROM orders\n\tWHERE id = 1 ;")
        );
        assert_eq!(a, statement_hash("-- note\nDELETE FROM orders WHERE id = 1"));
        assert_ne!(a, statement_hash("DELETE FROM orders WHERE id = 2"));
        assert_ne!(
            a,
            statement_hash("delete from orders where id = 1"),
            "case is significant"
        );
    }

    #[test]
    fn an_execution_hash_covers_the_parameters_and_is_keyed() {
        let sql = "DELETE FROM orders WHERE id = $1";
        let one = execution_hash(sql, &[Param::Text(b"1")], b"k");
        assert_eq!(
            one,
            execution_hash("DELETE  FROM orders WHERE id = $1;", &[Param::Text(b"1")], b"k")
        );
        assert_ne!(
            one,
            execution_hash(sql, &[Param::Text(b"2")], b"k"),
            "other value"
        );
        assert_ne!(
            one,
            execution_hash(sql, &[Param::Binary(b"1")], b"k"),
            "other format"
        );
        assert_ne!(one, execution_hash(sql, &[Param::Null], b"k"));
        assert_ne!(one, execution_hash(sql, &[Param::Text(b"1")], b"other key"));
        assert_ne!(
            execution_hash(sql, &[Param::Text(b"ab"), Param::Text(b"c")], b"k"),
            execution_hash(sql, &[Param::Text(b"a"), Param::Text(b"bc")], b"k"),
            "values are length-delimited"
        );
        // Without parameters: still keyed (the text may hold a literal the review shows masked), and the same
        // whatever the spacing or justification comment.
        let bare = execution_hash("UPDATE t SET n = '4111111111111111'", &[], b"k");
        assert_ne!(bare, statement_hash("UPDATE t SET n = '4111111111111111'"));
        assert_ne!(
            bare,
            execution_hash("UPDATE t SET n = '4111111111111111'", &[], b"other key")
        );
        assert_ne!(
            bare,
            execution_hash("UPDATE t SET n = '5500005555551111'", &[], b"k"),
            "over the real text, not a masked one"
        );
        assert_eq!(
            bare,
            execution_hash("/* reason: x */ UPDATE  t SET n = '4111111111111111';", &[], b"k")
        );
    }

    #[test]
    fn parameters_are_shown_masked_and_binary_values_by_size() {
        let mask = |s: &str| s.replace("4111111111111111", "****");
        assert_eq!(
            Param::Text(b"4111111111111111").shown(&mask).as_deref(),
            Some("****")
        );
        assert_eq!(Param::Null.shown(&mask), None);
        assert_eq!(
            Param::Binary(&[0, 0, 0, 7]).shown(&mask).as_deref(),
            Some("<binary, 4 bytes>")
        );
        let long = "x".repeat(5000);
        let shown = Param::Text(long.as_bytes()).shown(&mask).unwrap();
        assert!(shown.ends_with("... (5000 bytes)"), "{shown}");
    }

    #[test]
    fn quoted_text_is_kept_exactly() {
        assert_eq!(
            normalise("SELECT 'a   b'  ,  \"x  y\""),
            "SELECT 'a   b' , \"x  y\""
        );
        assert_eq!(normalise("DO $f$ a    b $f$ ;"), "DO $f$ a    b $f$");
        assert_ne!(statement_hash("SELECT 'a  b'"), statement_hash("SELECT 'a b'"));
        assert_eq!(normalise("/* a /* nested */ still */ SELECT 1"), "SELECT 1");
        assert_eq!(normalise("/* never closed SELECT 1"), "/* never closed SELECT 1");
    }
}
