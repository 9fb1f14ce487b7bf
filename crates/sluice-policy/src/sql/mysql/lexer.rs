//! A MySQL-correct lexer and statement splitter.
//!
//! sqlparser's tokenizer is dialect-aware but not MySQL-exact, and the differences are exactly where guardrail
//! bypasses live: `/*! ... */` executable comments are code to MySQL and a comment to a generic lexer; `--` starts
//! a comment only when followed by whitespace or a control character (`1--1` is `1 - -1`); `#` starts a comment;
//! backslash escapes in strings depend on `NO_BACKSLASH_ESCAPES`; `"` quotes a string unless `ANSI_QUOTES`; only
//! ASCII letters form keywords (a full-width `ＤＲＯＰ` is an identifier to MySQL). This lexer follows the server's
//! rules and produces tokens with byte spans into the original text; [`super::normalize`] turns them into text
//! that sqlparser reads the same way MySQL does.
//!
//! It also understands the `mysql` command-line client's own commands, because payloads of `mysql -e` and typed
//! terminal lines go through the client first: `DELIMITER`, `\g`/`\G` terminators, `\!`/`system` (runs a shell
//! command on the client host) and `\.`/`source` (runs a file we cannot see). Over the wire these are syntax errors,
//! so recognising them everywhere only ever adds findings.

use std::ops::Range;

/// Token kinds, as far as classification needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An unquoted word: keyword or identifier. `plain` is true for `[A-Za-z_][A-Za-z0-9_]*`, the only words that
    /// can be keywords; anything else (digits first, `$`, non-ASCII) is an identifier to MySQL.
    Word { plain: bool },
    /// A backtick-quoted identifier (or a `"`-quoted one under `ANSI_QUOTES`).
    QuotedIdent,
    /// A string literal (single- or double-quoted); its decoded value is in [`Token::value`].
    Str,
    /// A numeric, hexadecimal or bit literal.
    Number,
    /// Operators and punctuation, including `@` and `@@`.
    Punct,
}

/// One token with its place in the original text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    /// Bytes of the original text the token covers.
    pub span: Range<usize>,
    /// Decoded value for [`TokenKind::Str`] and [`TokenKind::QuotedIdent`]; empty otherwise (read the text).
    pub value: String,
}

/// Something the `mysql` client does itself instead of sending it to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ClientCommand {
    /// `\! cmd` or `system cmd`: runs `cmd` in a shell on the client host. The span covers `cmd`.
    Shell(Range<usize>),
    /// `\. file` or `source file`: runs SQL from a file.
    Source,
    /// `DELIMITER x` or `\d x`: changes the statement terminator.
    Delimiter,
}

/// One statement as the server (or the client) would see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawStatement {
    /// From the first token to the last, in the original text.
    pub span: Range<usize>,
    pub tokens: Vec<Token>,
    /// Why the text cannot be trusted to mean what the tokens say (unterminated string, nested comment, ...).
    pub problem: Option<String>,
    /// Set when this "statement" is a client command.
    pub client: Option<ClientCommand>,
}

/// SQL modes that change lexing.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LexMode {
    pub no_backslash_escapes: bool,
    pub ansi_quotes: bool,
    /// Read version-gated comments (`/*!80000 ... */`, `/*M!100100 ... */`) as a server older than the version
    /// does: as comments. Unversioned `/*! ... */` stays code either way.
    pub skip_versioned: bool,
}

/// Splits `src` into statements, MySQL-style.
pub(crate) fn split(src: &str, mode: LexMode) -> Vec<RawStatement> {
    let mut lexer = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        mode,
        delimiter: None,
        in_exec: false,
    };
    lexer.run()
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    mode: LexMode,
    /// A client-set delimiter other than `;`.
    delimiter: Option<String>,
    /// Inside `/*! ... */`: the next `*/` closes it.
    in_exec: bool,
}

/// Whether the statement being read may contain a compound body whose `;` do not end it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compound {
    Unknown,
    Yes,
    No,
}

/// Tracks `BEGIN ... END` style nesting inside a compound statement.
#[derive(Debug)]
struct Blocks {
    compound: Compound,
    depth: usize,
    after_end: bool,
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

impl<'a> Lexer<'a> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.pos
            .checked_add(ahead)
            .and_then(|at| self.bytes.get(at).copied())
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn run(&mut self) -> Vec<RawStatement> {
        let mut out = Vec::new();
        let mut current = RawStatement::default();
        let mut blocks = Blocks {
            compound: Compound::Unknown,
            depth: 0,
            after_end: false,
        };
        loop {
            if let Err(problem) = self.skip_trivia() {
                current.problem.get_or_insert(problem);
            }
            if self.pos >= self.bytes.len() {
                break;
            }
            if current.tokens.is_empty() && current.client.is_none() && self.client_line_command(&mut out) {
                continue;
            }
            if self.at_delimiter(&blocks) {
                Self::finish(&mut out, &mut current);
                blocks = Blocks {
                    compound: Compound::Unknown,
                    depth: 0,
                    after_end: false,
                };
                continue;
            }
            if self.peek(0) == Some(b'\\') {
                if self.backslash_command(&mut out, &mut current) {
                    blocks = Blocks {
                        compound: Compound::Unknown,
                        depth: 0,
                        after_end: false,
                    };
                }
                continue;
            }
            match self.token() {
                // Every token consumes input; if one ever did not, stop rather than loop (fail closed).
                Ok(token) if token.span.is_empty() => {
                    current
                        .problem
                        .get_or_insert_with(|| "the lexer could not make progress".to_owned());
                    current.span.end = self.bytes.len();
                    self.pos = self.bytes.len();
                }
                Ok(token) => {
                    if current.tokens.is_empty() {
                        current.span = token.span.clone();
                    }
                    current.span.end = token.span.end;
                    current.tokens.push(token);
                    self.track_blocks(&mut blocks, &current.tokens);
                }
                Err(problem) => {
                    current.problem.get_or_insert(problem);
                    if current.tokens.is_empty() {
                        current.span = self.pos..self.bytes.len();
                    }
                    current.span.end = self.bytes.len();
                    self.pos = self.bytes.len();
                }
            }
        }
        if self.in_exec {
            current
                .problem
                .get_or_insert_with(|| "unterminated /*! executable comment".to_owned());
        }
        Self::finish(&mut out, &mut current);
        out
    }

    fn finish(out: &mut Vec<RawStatement>, current: &mut RawStatement) {
        let done = std::mem::take(current);
        if !done.tokens.is_empty() || done.problem.is_some() || done.client.is_some() {
            out.push(done);
        }
    }

    /// Whether a statement terminator starts here (and consumes it).
    fn at_delimiter(&mut self, blocks: &Blocks) -> bool {
        match &self.delimiter {
            Some(delimiter) => {
                let len = delimiter.len();
                let matches = self
                    .rest()
                    .get(..len)
                    .is_some_and(|head| head.eq_ignore_ascii_case(delimiter));
                if matches {
                    self.pos = self.pos.saturating_add(len);
                }
                matches
            }
            None => {
                let ends = self.peek(0) == Some(b';') && blocks.depth == 0;
                if ends {
                    self.pos = self.pos.saturating_add(1);
                }
                ends
            }
        }
    }

    /// Skips whitespace and comments; enters and leaves executable comments.
    fn skip_trivia(&mut self) -> Result<(), String> {
        loop {
            match (self.peek(0), self.peek(1), self.peek(2)) {
                (Some(byte), _, _) if is_space(byte) => self.pos = self.pos.saturating_add(1),
                (Some(b'#'), _, _) => self.skip_line_comment()?,
                (Some(b'-'), Some(b'-'), third) if third.is_none_or(|byte| byte <= b' ' || byte == 0x7f) => {
                    self.skip_line_comment()?;
                }
                (Some(b'*'), Some(b'/'), _) if self.in_exec => {
                    self.in_exec = false;
                    self.pos = self.pos.saturating_add(2);
                }
                (Some(b'/'), Some(b'*'), _) => self.skip_block_comment()?,
                _ => return Ok(()),
            }
        }
    }

    fn skip_line_comment(&mut self) -> Result<(), String> {
        let end = self
            .rest()
            .find('\n')
            .map_or(self.bytes.len(), |at| self.pos.saturating_add(at));
        let text = self.src.get(self.pos..end).unwrap_or("");
        self.pos = end;
        if self.in_exec && text.contains("*/") {
            return Err("a line comment hides the end of an executable comment".to_owned());
        }
        Ok(())
    }

    fn skip_block_comment(&mut self) -> Result<(), String> {
        let start = self.pos;
        let after_open = start.saturating_add(2);
        let executable = match (self.peek(2), self.peek(3)) {
            (Some(b'!'), _) => Some(3),
            (Some(b'M'), Some(b'!')) => Some(4),
            _ => None,
        };
        if let Some(prefix) = executable {
            if self.in_exec {
                return Err("executable comment nested in an executable comment".to_owned());
            }
            self.pos = start.saturating_add(prefix);
            // A version number: five digits (six in newer servers). A gateway cannot know which server build will
            // read it, so the classifier lexes twice (`skip_versioned` off and on) and keeps the strictest reading.
            let digits = self
                .bytes
                .get(self.pos..)
                .unwrap_or(&[])
                .iter()
                .take(6)
                .take_while(|b| b.is_ascii_digit());
            let count = digits.count();
            if count >= 5 {
                if self.mode.skip_versioned {
                    return self.skip_to_comment_end(after_open);
                }
                self.pos = self.pos.saturating_add(count);
            }
            self.in_exec = true;
            return Ok(());
        }
        if self.in_exec {
            return Err("comment nested in an executable comment".to_owned());
        }
        self.skip_to_comment_end(after_open)
    }

    /// Moves past the `*/` that closes a comment whose body starts at `after_open`.
    fn skip_to_comment_end(&mut self, after_open: usize) -> Result<(), String> {
        match self.src.get(after_open..).and_then(|rest| rest.find("*/")) {
            Some(at) => {
                self.pos = after_open.saturating_add(at).saturating_add(2);
                Ok(())
            }
            None => {
                self.pos = self.bytes.len();
                Err("unterminated comment".to_owned())
            }
        }
    }

    /// `DELIMITER x`, `system cmd` and `source file` are client commands when they open a statement.
    fn client_line_command(&mut self, out: &mut Vec<RawStatement>) -> bool {
        let rest = self.rest();
        let word_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let word = rest.get(..word_len).unwrap_or("");
        let followed_by_space = rest
            .as_bytes()
            .get(word_len)
            .is_some_and(|byte| *byte == b' ' || *byte == b'\t');
        let is_command = ["delimiter", "system", "source"]
            .iter()
            .any(|command| word.eq_ignore_ascii_case(command));
        if !followed_by_space || !is_command {
            return false;
        }
        // Only now look for the end of the line: scanning for it at every statement start would make a long
        // single-line request of many statements quadratic.
        let line_end = rest.find('\n').unwrap_or(rest.len());
        let argument_start = self.pos.saturating_add(word_len);
        let line_end_abs = self.pos.saturating_add(line_end);
        let command = if word.eq_ignore_ascii_case("delimiter") {
            let argument = self.src.get(argument_start..line_end_abs).unwrap_or("");
            let Some(new) = argument.split_ascii_whitespace().next() else {
                return false;
            };
            self.delimiter = (new != ";").then(|| new.to_owned());
            ClientCommand::Delimiter
        } else if word.eq_ignore_ascii_case("system") {
            ClientCommand::Shell(argument_start..line_end_abs)
        } else if word.eq_ignore_ascii_case("source") {
            ClientCommand::Source
        } else {
            return false;
        };
        out.push(RawStatement {
            span: self.pos..line_end_abs,
            tokens: Vec::new(),
            problem: None,
            client: Some(command),
        });
        self.pos = line_end_abs;
        true
    }

    /// Backslash commands are recognised by the client anywhere outside strings. Returns true when the current
    /// statement ended.
    fn backslash_command(&mut self, out: &mut Vec<RawStatement>, current: &mut RawStatement) -> bool {
        let start = self.pos;
        let letter = self.peek(1);
        let letter_len = self
            .src
            .get(start.saturating_add(1)..)
            .and_then(|rest| rest.chars().next())
            .map_or(0, char::len_utf8);
        self.pos = self.pos.saturating_add(1).saturating_add(letter_len);
        // Only the commands that take the rest of the line look for its end: scanning for it after every
        // backslash would make a long line of `\c\c\c...` quadratic.
        if !matches!(letter, Some(b'!' | b'.' | b'd')) {
            if matches!(letter, Some(b'g' | b'G')) {
                Self::finish(out, current);
                return true;
            }
            return false;
        }
        let line_end = self
            .rest()
            .find('\n')
            .map_or(self.bytes.len(), |at| self.pos.saturating_add(at));
        match letter {
            Some(b'!') => {
                Self::finish(out, current);
                out.push(RawStatement {
                    span: start..line_end,
                    tokens: Vec::new(),
                    problem: None,
                    client: Some(ClientCommand::Shell(self.pos..line_end)),
                });
                self.pos = line_end;
                true
            }
            Some(b'.') => {
                Self::finish(out, current);
                out.push(RawStatement {
                    span: start..line_end,
                    tokens: Vec::new(),
                    problem: None,
                    client: Some(ClientCommand::Source),
                });
                self.pos = line_end;
                true
            }
            Some(b'd') => {
                let argument = self.src.get(self.pos..line_end).unwrap_or("");
                if let Some(new) = argument.split_ascii_whitespace().next() {
                    self.delimiter = (new != ";").then(|| new.to_owned());
                }
                Self::finish(out, current);
                out.push(RawStatement {
                    span: start..line_end,
                    tokens: Vec::new(),
                    problem: None,
                    client: Some(ClientCommand::Delimiter),
                });
                self.pos = line_end;
                true
            }
            // Other client commands (\c clear, \q quit, \u use, ...) do not reach the server; ignoring them can
            // only make us see more SQL than runs, never less.
            _ => false,
        }
    }

    fn token(&mut self) -> Result<Token, String> {
        let start = self.pos;
        let Some(first) = self.peek(0) else {
            return Err("unexpected end of input".to_owned());
        };
        let kind = match first {
            b'\'' => return self.quoted(b'\'', TokenKind::Str),
            b'"' if self.mode.ansi_quotes => return self.quoted(b'"', TokenKind::QuotedIdent),
            b'"' => return self.quoted(b'"', TokenKind::Str),
            b'`' => return self.quoted(b'`', TokenKind::QuotedIdent),
            b'x' | b'X' | b'b' | b'B' if self.peek(1) == Some(b'\'') => {
                self.pos = self.pos.saturating_add(1);
                let mut literal = self.quoted(b'\'', TokenKind::Number)?;
                literal.span.start = start;
                literal.value.clear();
                return Ok(literal);
            }
            b'n' | b'N' if self.peek(1) == Some(b'\'') => {
                // National character set literal: a plain string to us.
                self.pos = self.pos.saturating_add(1);
                let mut literal = self.quoted(b'\'', TokenKind::Str)?;
                literal.span.start = start;
                return Ok(literal);
            }
            b'0'..=b'9' => self.number_or_word()?,
            b'.' if self.peek(1).is_some_and(|byte| byte.is_ascii_digit()) => self.number_or_word()?,
            byte if is_word_byte(byte) => self.word()?,
            _ => {
                self.pos = self.pos.saturating_add(punct_len(self.rest()));
                TokenKind::Punct
            }
        };
        Ok(Token {
            kind,
            span: start..self.pos,
            value: String::new(),
        })
    }

    fn word(&mut self) -> Result<TokenKind, String> {
        let start = self.pos;
        let mut plain = true;
        let mut chars = self.rest().char_indices();
        let mut end = self.bytes.len();
        for (offset, ch) in chars.by_ref() {
            let at = start.saturating_add(offset);
            if self.delimiter_starts(at) {
                end = at;
                break;
            }
            if ch.is_ascii_alphanumeric() || ch == '_' {
                if offset == 0 && ch.is_ascii_digit() {
                    plain = false;
                }
                continue;
            }
            if ch == '$' || (u32::from(ch) >= 0x80 && u32::from(ch) <= 0xffff) {
                plain = false;
                continue;
            }
            if u32::from(ch) > 0xffff {
                return Err(
                    "a character outside the Basic Multilingual Plane in an unquoted identifier".to_owned(),
                );
            }
            end = at;
            break;
        }
        self.pos = end;
        Ok(TokenKind::Word { plain })
    }

    fn delimiter_starts(&self, at: usize) -> bool {
        self.delimiter.as_deref().is_some_and(|delimiter| {
            let len = delimiter.len();
            self.src
                .get(at..at.saturating_add(len))
                .is_some_and(|head| head.eq_ignore_ascii_case(delimiter))
        })
    }

    /// Numbers, or identifiers that start with digits (`1abc` is a valid MySQL identifier).
    fn number_or_word(&mut self) -> Result<TokenKind, String> {
        let start = self.pos;
        let rest = self.rest().as_bytes();
        let run = rest.iter().take_while(|byte| is_word_byte(**byte)).count();
        let head = rest.get(..run).unwrap_or(&[]);
        let is_hex = head.len() > 2
            && (head.starts_with(b"0x") && head.iter().skip(2).all(u8::is_ascii_hexdigit)
                || head.starts_with(b"0b") && head.iter().skip(2).all(|byte| matches!(byte, b'0' | b'1')));
        if is_hex {
            self.pos = start.saturating_add(run);
            return Ok(TokenKind::Number);
        }
        let digits = rest.iter().take_while(|byte| byte.is_ascii_digit()).count();
        let mut at = digits;
        if rest.get(at) == Some(&b'.') {
            at = at.saturating_add(1);
            at = at.saturating_add(
                rest.iter()
                    .skip(at)
                    .take_while(|byte| byte.is_ascii_digit())
                    .count(),
            );
        }
        if matches!(rest.get(at), Some(b'e' | b'E')) {
            let mut exponent = at.saturating_add(1);
            if matches!(rest.get(exponent), Some(b'+' | b'-')) {
                exponent = exponent.saturating_add(1);
            }
            let exponent_digits = rest
                .iter()
                .skip(exponent)
                .take_while(|byte| byte.is_ascii_digit())
                .count();
            if exponent_digits > 0 {
                at = exponent.saturating_add(exponent_digits);
            }
        }
        let continues_as_word = rest.get(at).is_some_and(|byte| is_word_byte(*byte));
        if continues_as_word && digits > 0 && at == digits {
            // Digits followed by letters: an identifier such as `1abc` (MySQL allows it).
            self.pos = start;
            return self.word();
        }
        self.pos = start.saturating_add(at.max(1));
        Ok(TokenKind::Number)
    }

    /// A quoted string or identifier, decoding escapes and doubled quotes.
    fn quoted(&mut self, quote: u8, kind: TokenKind) -> Result<Token, String> {
        let start = self.pos;
        let backslash = kind == TokenKind::Str && !self.mode.no_backslash_escapes;
        let mut value: Vec<u8> = Vec::new();
        let mut at = start.saturating_add(1);
        loop {
            let Some(byte) = self.bytes.get(at).copied() else {
                self.pos = self.bytes.len();
                return Err(match kind {
                    TokenKind::QuotedIdent => "unterminated quoted identifier".to_owned(),
                    _ => "unterminated string literal".to_owned(),
                });
            };
            at = at.saturating_add(1);
            if byte == quote {
                if self.bytes.get(at) == Some(&quote) {
                    value.push(quote);
                    at = at.saturating_add(1);
                    continue;
                }
                break;
            }
            if byte == b'\\' && backslash {
                let Some(escaped) = self.bytes.get(at).copied() else {
                    continue;
                };
                at = at.saturating_add(1);
                match escaped {
                    b'0' => value.push(0),
                    b'b' => value.push(0x08),
                    b'n' => value.push(b'\n'),
                    b'r' => value.push(b'\r'),
                    b't' => value.push(b'\t'),
                    b'Z' => value.push(0x1a),
                    b'%' | b'_' => value.extend_from_slice(&[b'\\', escaped]),
                    other => value.push(other),
                }
                continue;
            }
            value.push(byte);
        }
        self.pos = at;
        let value = String::from_utf8(value)
            .unwrap_or_else(|bytes| String::from_utf8_lossy(bytes.as_bytes()).into_owned());
        Ok(Token {
            kind,
            span: start..at,
            value,
        })
    }

    /// Maintains the block depth of compound statements so that `;` inside `BEGIN ... END` does not split them.
    fn track_blocks(&self, blocks: &mut Blocks, tokens: &[Token]) {
        if blocks.compound == Compound::Unknown {
            blocks.compound = self.compound_kind(tokens);
            if blocks.compound == Compound::Yes {
                // Recount from the start: the opening tokens may already hold a BEGIN.
                let mut fresh = Blocks {
                    compound: Compound::Yes,
                    depth: 0,
                    after_end: false,
                };
                for index in 0..tokens.len() {
                    self.count_block(&mut fresh, tokens, index);
                }
                *blocks = fresh;
            }
            return;
        }
        if blocks.compound == Compound::Yes {
            self.count_block(blocks, tokens, tokens.len().saturating_sub(1));
        }
    }

    fn compound_kind(&self, tokens: &[Token]) -> Compound {
        let word = |index: usize| tokens.get(index).and_then(|token| keyword(self.src, token));
        let Some(first) = word(0) else { return Compound::No };
        let is =
            |text: Option<&str>, expected: &str| text.is_some_and(|text| text.eq_ignore_ascii_case(expected));
        if ["IF", "WHILE", "LOOP", "REPEAT", "CASE"]
            .iter()
            .any(|kw| first.eq_ignore_ascii_case(kw))
        {
            return Compound::Yes;
        }
        if tokens.len() >= 2 && tokens.get(1).is_some_and(|token| punct_is(self.src, token, ":")) {
            return Compound::Yes;
        }
        if first.eq_ignore_ascii_case("BEGIN") {
            return match word(1) {
                Some(second) if second.eq_ignore_ascii_case("NOT") => Compound::Yes,
                None if tokens.len() < 2 => Compound::Unknown,
                _ => Compound::No,
            };
        }
        if !(first.eq_ignore_ascii_case("CREATE") || first.eq_ignore_ascii_case("ALTER")) {
            return Compound::No;
        }
        let last = tokens.len().saturating_sub(1);
        if ["PROCEDURE", "FUNCTION", "TRIGGER", "EVENT"]
            .iter()
            .any(|kw| is(word(last), kw))
        {
            return Compound::Yes;
        }
        if tokens.len() > 16 {
            Compound::No
        } else {
            Compound::Unknown
        }
    }

    fn count_block(&self, blocks: &mut Blocks, tokens: &[Token], index: usize) {
        let Some(token) = tokens.get(index) else { return };
        let after_end = std::mem::replace(&mut blocks.after_end, false);
        let Some(word) = keyword(self.src, token) else {
            return;
        };
        let upper = word.to_ascii_uppercase();
        match upper.as_str() {
            "END" => {
                blocks.depth = blocks.depth.saturating_sub(1);
                blocks.after_end = true;
            }
            "IF" | "LOOP" | "WHILE" | "REPEAT" | "CASE" if after_end => {}
            "BEGIN" | "CASE" => blocks.depth = blocks.depth.saturating_add(1),
            "IF" | "LOOP" | "WHILE" | "REPEAT" => {
                let previous = index.checked_sub(1).and_then(|at| tokens.get(at));
                let opens_statement = previous.is_none_or(|prev| {
                    punct_is(self.src, prev, ";")
                        || punct_is(self.src, prev, ":")
                        || keyword(self.src, prev).is_some_and(|kw| {
                            ["BEGIN", "THEN", "ELSE", "DO", "LOOP", "REPEAT"]
                                .iter()
                                .any(|k| kw.eq_ignore_ascii_case(k))
                        })
                });
                if opens_statement {
                    blocks.depth = blocks.depth.saturating_add(1);
                }
            }
            _ => {}
        }
    }
}

/// Length in bytes of the operator or punctuation at the start of `rest` (at least one character).
fn punct_len(rest: &str) -> usize {
    const MULTI: [&str; 12] = [
        "<=>", "->>", "<=", ">=", "<>", "!=", ":=", "||", "&&", "<<", ">>", "->",
    ];
    if let Some(op) = MULTI.iter().find(|op| rest.starts_with(**op)) {
        return op.len();
    }
    if rest.starts_with("@@") {
        return 2;
    }
    rest.chars().next().map_or(1, char::len_utf8)
}

/// The token's text if it is a word that can be a keyword (plain ASCII).
pub(crate) fn keyword<'s>(src: &'s str, token: &Token) -> Option<&'s str> {
    match token.kind {
        TokenKind::Word { plain: true } => src.get(token.span.clone()),
        _ => None,
    }
}

/// Whether the token is the punctuation `text`.
pub(crate) fn punct_is(src: &str, token: &Token, text: &str) -> bool {
    token.kind == TokenKind::Punct && src.get(token.span.clone()) == Some(text)
}
