//! What a review is about: the statement's normalised text and hash (what a later grant matches), and the
//! justification a user can give in a leading `/* reason: ... */` comment.
//!
//! Normalisation must make "the same statement" match even when the client re-sends it with other spacing or a
//! different justification comment, and never make two different statements match: comments before the first
//! token are dropped, whitespace runs outside quotes and comments become one space, trailing semicolons and spaces
//! are dropped. Quoted text (strings, identifiers, dollar quotes) is kept byte for byte.

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

/// Lower-case hex SHA-256 of the normalised statement.
pub fn statement_hash(sql: &str) -> String {
    hex::encode(Sha256::digest(normalise(sql).as_bytes()))
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
