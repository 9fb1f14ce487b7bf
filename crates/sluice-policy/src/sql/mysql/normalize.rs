//! Rewrites one statement's MySQL tokens into text that sqlparser reads exactly as MySQL does, and maps
//! positions in that text back to the original request.
//!
//! The rewrite removes every place where the two lexers could disagree: comments are gone (executable comments
//! already unwrapped by the lexer), string literals are re-quoted in one canonical form (so backslash and
//! `NO_BACKSLASH_ESCAPES` questions cannot arise), `||`/`&&` become `OR`/`AND`, identifiers that MySQL would not read as keywords (non-ASCII,
//! leading digits, `$`) are backquoted so sqlparser cannot fold a lookalike into a keyword, and a space is put
//! between tokens wherever the original had a gap or where gluing them would start a comment (`1--1`). The text is
//! kept on one line so that sqlparser's line/column locations map back with a simple table.

use std::ops::Range;

use sqlparser::tokenizer::Span as AstSpan;

use super::lexer::{Token, TokenKind};

/// Normalised text of one statement plus the way back to the original.
#[derive(Debug)]
pub(crate) struct Normalized {
    pub text: String,
    /// One entry per emitted token, in order: character range in `text`, byte range in the original.
    map: Vec<(Range<usize>, Range<usize>)>,
}

/// Builds the normalised text for `tokens`. `replace_first` substitutes the first token's text (used to read
/// MySQL's `DO expr` as `SELECT expr`, which evaluates the same expressions).
pub(crate) fn normalize(src: &str, tokens: &[Token], replace_first: Option<&str>) -> Normalized {
    let mut out = Normalized {
        text: String::with_capacity(src.len().saturating_add(8)),
        map: Vec::new(),
    };
    let mut chars = 0usize;
    let mut previous_end: Option<usize> = None;
    let mut previous_dash = false;
    let mut index = 0usize;
    while let Some(token) = tokens.get(index) {
        index = index.saturating_add(1);
        let raw = src.get(token.span.clone()).unwrap_or("");
        let is_introducer = matches!(token.kind, TokenKind::Word { plain: true })
            && raw.starts_with('_')
            && tokens.get(index).is_some_and(|next| next.kind == TokenKind::Str);
        if is_introducer {
            // `_utf8mb4'text'`: a character-set introducer; the literal is what matters.
            continue;
        }
        let mut span = token.span.clone();
        let emitted = if index == 1 && replace_first.is_some() {
            replace_first.unwrap_or(raw).to_owned()
        } else {
            match token.kind {
                // `||` and `&&` are OR and AND in MySQL (without PIPES_AS_CONCAT), with OR's low precedence;
                // sqlparser reads `||` as concatenation, which binds tighter than `=`, so `id = 5 || 1` would
                // be misread as `id = (5 || 1)`.
                // A punctuation token rewritten by the classifier (a multi-table UPDATE's comma read as JOIN).
                TokenKind::Punct if !token.value.is_empty() => token.value.clone(),
                TokenKind::Punct if raw == "||" => " OR ".to_owned(),
                TokenKind::Punct if raw == "&&" => " AND ".to_owned(),
                TokenKind::Word { plain: true } | TokenKind::Number | TokenKind::Punct => raw.to_owned(),
                TokenKind::Word { plain: false } => quote_identifier(raw),
                TokenKind::QuotedIdent => quote_identifier(&token.value),
                TokenKind::Str => {
                    // Adjacent literals concatenate in MySQL (`'a' 'b'` is `'ab'`).
                    let mut value = token.value.clone();
                    while let Some(next) = tokens.get(index).filter(|next| next.kind == TokenKind::Str) {
                        value.push_str(&next.value);
                        span.end = next.span.end;
                        index = index.saturating_add(1);
                    }
                    quote_string(&value)
                }
            }
        };
        let gap = previous_end.is_some_and(|end| end < span.start);
        if previous_end.is_some() && (gap || (previous_dash && emitted.starts_with('-'))) {
            out.text.push(' ');
            chars = chars.saturating_add(1);
        }
        let start = chars;
        chars = chars.saturating_add(emitted.chars().count());
        out.text.push_str(&emitted);
        previous_dash = emitted.ends_with('-');
        previous_end = Some(span.end);
        out.map.push((start..chars, span));
    }
    out
}

fn quote_identifier(name: &str) -> String {
    let mut quoted = String::with_capacity(name.len().saturating_add(2));
    quoted.push('`');
    for ch in name.chars() {
        match ch {
            '`' => quoted.push_str("``"),
            // Keep the text on one line; a newline in an identifier changes nothing we classify.
            '\n' | '\r' => quoted.push(' '),
            other => quoted.push(other),
        }
    }
    quoted.push('`');
    quoted
}

fn quote_string(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len().saturating_add(2));
    quoted.push('\'');
    for ch in value.chars() {
        match ch {
            '\\' => quoted.push_str("\\\\"),
            '\'' => quoted.push_str("\\'"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            other => quoted.push(other),
        }
    }
    quoted.push('\'');
    quoted
}

impl Normalized {
    /// The original byte range for a sqlparser span, if it can be mapped.
    pub(crate) fn original(&self, span: AstSpan) -> Option<Range<usize>> {
        if span.start.line != 1 || span.end.line != 1 {
            return None;
        }
        let first = usize::try_from(span.start.column).ok()?.checked_sub(1)?;
        let last = usize::try_from(span.end.column).ok()?.checked_sub(2)?;
        let start = self.map.iter().find(|(chars, _)| chars.end > first)?.1.start;
        let end = self
            .map
            .iter()
            .rev()
            .find(|(chars, _)| chars.start <= last)?
            .1
            .end;
        (start <= end).then_some(start..end)
    }
}
