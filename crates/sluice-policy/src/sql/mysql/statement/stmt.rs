//! [`Stmt`]: a statement's tokens and the keyword look-ups the classifiers are written in.

use std::ops::Range;

use crate::sql::mysql::lexer::{keyword, punct_is, Token};

/// A statement's tokens with keyword helpers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stmt<'a> {
    pub src: &'a str,
    pub tokens: &'a [Token],
}

impl<'a> Stmt<'a> {
    /// The upper-cased keyword at `index`, if that token can be a keyword.
    pub(crate) fn word(&self, index: usize) -> Option<String> {
        self.tokens
            .get(index)
            .and_then(|token| keyword(self.src, token))
            .map(str::to_ascii_uppercase)
    }

    pub(crate) fn is(&self, index: usize, expected: &str) -> bool {
        self.tokens
            .get(index)
            .and_then(|token| keyword(self.src, token))
            .is_some_and(|word| word.eq_ignore_ascii_case(expected))
    }

    pub(crate) fn punct(&self, index: usize, expected: &str) -> bool {
        self.tokens
            .get(index)
            .is_some_and(|token| punct_is(self.src, token, expected))
    }

    /// The first index at or after `from` holding keyword `expected`.
    pub(crate) fn find(&self, from: usize, expected: &str) -> Option<usize> {
        (from..self.tokens.len()).find(|index| self.is(*index, expected))
    }

    pub(crate) fn span(&self) -> Range<usize> {
        match (self.tokens.first(), self.tokens.last()) {
            (Some(first), Some(last)) => first.span.start..last.span.end,
            _ => 0..0,
        }
    }

    /// From token `from` to the end of the statement.
    pub(crate) fn span_from(&self, from: usize) -> Range<usize> {
        let end = self.span().end;
        self.tokens
            .get(from)
            .map_or(end..end, |token| token.span.start..end)
    }

    /// Original text from token `from` to the end, shortened for messages.
    pub(crate) fn text_from(&self, from: usize) -> String {
        let text = self.src.get(self.span_from(from)).unwrap_or("");
        let short: String = text.chars().take(120).collect();
        let short = short.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.chars().count() > 120 {
            format!("{short}...")
        } else {
            short
        }
    }

    pub(crate) fn sub(&self, from: usize) -> Stmt<'a> {
        Stmt {
            src: self.src,
            tokens: self.tokens.get(from..).unwrap_or(&[]),
        }
    }
}
