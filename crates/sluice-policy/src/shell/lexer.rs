//! Splits a POSIX shell command line into simple commands, the way `sh` would before running anything.
//!
//! Handles quoting (`'...'`, `"..."`, `$'...'` with its escapes, backslashes, line continuations), the list and
//! pipeline operators (`;`, `&`, `&&`, `||`, `|`, `|&`, newlines), subshells and groups (`( )`, `{ }`),
//! comments, redirections (with here-documents, whose bodies are kept for the classifier) and leading
//! `NAME=value` assignments. It does not expand anything: a word that depends on an expansion is marked, and the
//! expansions that run code (`$(...)`, backticks, process substitution) make the command Opaque.

use std::ops::Range;

/// One word after quote removal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Word {
    /// The word with quotes removed and `$'...'` escapes decoded; expansions left as written (`$HOME`).
    pub text: String,
    pub span: Range<usize>,
    /// Contains an unquoted or double-quoted `$NAME`/`${...}` parameter expansion.
    pub expands: bool,
    /// Contains an unquoted glob character (`*`, `?`, `[`).
    pub globs: bool,
}

/// A redirection such as `> file`, `2>&1` or `<<EOF`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Redirect {
    /// The operator without the file descriptor number (`>`, `>>`, `<`, `<<`, `<<<`, `>&`, `&>`, ...).
    pub op: String,
    pub target: Word,
    /// A here-document's body.
    pub body: Option<Range<usize>>,
}

/// One simple command: `NAME=x prog arg... > file`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Command {
    pub span: Range<usize>,
    pub assignments: Vec<Word>,
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
    /// Why this command cannot be known before it runs (`$(...)`, backticks, process substitution).
    pub opaque: Vec<(Range<usize>, String)>,
    /// Reads the previous command's output (`prev | this`).
    pub piped: bool,
}

/// The result of splitting a line.
#[derive(Clone, Debug, Default)]
pub(crate) struct Split {
    pub commands: Vec<Command>,
    /// Set when the line as a whole cannot be read (unbalanced quotes); the line is then Opaque.
    pub problem: Option<String>,
    /// Function definitions seen (`name() { ... }`): their bodies run when the name is called.
    pub functions: Vec<String>,
}

/// Splits `line` into simple commands.
pub(crate) fn split(line: &str) -> Split {
    let mut lexer = Lexer {
        src: line,
        bytes: line.as_bytes(),
        pos: 0,
        out: Split::default(),
        heredocs: Vec::new(),
    };
    lexer.run();
    lexer.out
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    out: Split,
    /// Here-documents waiting for the next newline: (command index, redirect index, delimiter, strip tabs).
    heredocs: Vec<(usize, usize, String)>,
}

fn is_meta(byte: u8) -> bool {
    matches!(
        byte,
        b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>'
    )
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.pos
            .checked_add(ahead)
            .and_then(|at| self.bytes.get(at).copied())
    }

    fn run(&mut self) {
        let mut current = Command::default();
        let mut at_command_start = true;
        let mut last_pos = None;
        while let Some(byte) = self.peek(0) {
            // Every step consumes input; if one ever did not, stop rather than loop (fail closed).
            if last_pos == Some(self.pos) {
                self.out
                    .problem
                    .get_or_insert_with(|| "the line could not be split".to_owned());
                break;
            }
            last_pos = Some(self.pos);
            match byte {
                b' ' | b'\t' => self.pos = self.pos.saturating_add(1),
                b'\\' if self.peek(1) == Some(b'\n') => self.pos = self.pos.saturating_add(2),
                b'#' if at_command_start || self.prev_is_blank() => self.skip_comment(),
                b'\n' => {
                    self.end_command(&mut current);
                    self.pos = self.pos.saturating_add(1);
                    self.read_heredocs();
                    at_command_start = true;
                }
                b';' | b'&' | b'|' | b'(' | b')' => {
                    if byte == b'(' && current.words.len() == 1 && self.peek(1) == Some(b')') {
                        // `name() { ... }`: a function definition.
                        if let Some(name) = current.words.first() {
                            self.out.functions.push(name.text.clone());
                        }
                        current = Command::default();
                        self.pos = self.pos.saturating_add(2);
                        continue;
                    }
                    self.end_command(&mut current);
                    self.pos = self.pos.saturating_add(1);
                    if matches!(
                        (byte, self.peek(0)),
                        (b'&', Some(b'&' | b'>')) | (b'|', Some(b'|' | b'&')) | (b';', Some(b';'))
                    ) {
                        if byte == b'&' && self.peek(0) == Some(b'>') {
                            // `&>file`: a redirection, not a separator. Step back and read it as one.
                            self.pos = self.pos.saturating_sub(1);
                            self.redirect(&mut current);
                            continue;
                        }
                        self.pos = self.pos.saturating_add(1);
                    }
                    // `a | b` and `a |& b` (not `a || b`): b reads a's output.
                    let consumed = self.src.get(self.pos.saturating_sub(2)..self.pos).unwrap_or("");
                    current.piped = byte == b'|' && (consumed.ends_with("|&") || !consumed.ends_with("||"));
                    at_command_start = true;
                }
                b'<' | b'>' => {
                    if self.peek(1) == Some(b'(') {
                        let start = self.pos;
                        let end = self.skip_balanced(self.pos.saturating_add(1));
                        current
                            .opaque
                            .push((start..end, "process substitution runs a command".to_owned()));
                        self.note_span(&mut current, start..end);
                        continue;
                    }
                    self.redirect(&mut current);
                }
                _ => {
                    let digits_then_redirect = {
                        let digits = self
                            .bytes
                            .get(self.pos..)
                            .unwrap_or(&[])
                            .iter()
                            .take_while(|b| b.is_ascii_digit())
                            .count();
                        digits > 0 && matches!(self.peek(digits), Some(b'<' | b'>'))
                    };
                    if digits_then_redirect {
                        self.redirect(&mut current);
                        continue;
                    }
                    let word = self.word(&mut current);
                    if self.out.problem.is_some() {
                        return;
                    }
                    let is_assignment = current.words.is_empty() && is_assignment(&word.text);
                    let is_group = current.words.is_empty()
                        && current.assignments.is_empty()
                        && matches!(
                            word.text.as_str(),
                            "{" | "}"
                                | "!"
                                | "then"
                                | "do"
                                | "else"
                                | "elif"
                                | "if"
                                | "while"
                                | "until"
                                | "fi"
                                | "done"
                                | "esac"
                        )
                        && word.span.len() == word.text.len();
                    self.note_span(&mut current, word.span.clone());
                    if is_group {
                        // Reserved words and group braces: the command starts after them.
                    } else if is_assignment {
                        current.assignments.push(word);
                    } else {
                        current.words.push(word);
                    }
                    at_command_start = false;
                }
            }
        }
        self.end_command(&mut current);
        if !self.heredocs.is_empty() {
            // A here-document without its body: the command reads nothing we can see.
            self.heredocs.clear();
        }
    }

    fn prev_is_blank(&self) -> bool {
        self.pos
            .checked_sub(1)
            .and_then(|at| self.bytes.get(at))
            .is_none_or(|byte| is_meta(*byte))
    }

    fn skip_comment(&mut self) {
        while let Some(byte) = self.peek(0) {
            if byte == b'\n' {
                break;
            }
            self.pos = self.pos.saturating_add(1);
        }
    }

    fn note_span(&self, command: &mut Command, span: Range<usize>) {
        if command.span.is_empty()
            && command.words.is_empty()
            && command.assignments.is_empty()
            && command.redirects.is_empty()
        {
            command.span = span;
        } else {
            command.span.end = command.span.end.max(span.end);
        }
    }

    fn end_command(&mut self, current: &mut Command) {
        let done = std::mem::take(current);
        if !done.words.is_empty()
            || !done.assignments.is_empty()
            || !done.redirects.is_empty()
            || !done.opaque.is_empty()
        {
            self.out.commands.push(done);
        }
    }

    /// Skips from an opening `(` to its matching `)`, respecting quotes. Returns the end position.
    fn skip_balanced(&mut self, open: usize) -> usize {
        let mut depth = 0usize;
        let mut at = open;
        let mut quote: Option<u8> = None;
        while let Some(byte) = self.bytes.get(at).copied() {
            at = at.saturating_add(1);
            match (quote, byte) {
                (Some(q), b) if b == q => quote = None,
                (Some(b'"'), b'\\') => at = at.saturating_add(1),
                (Some(_), _) => {}
                (None, b'\'' | b'"') => quote = Some(byte),
                (None, b'\\') => at = at.saturating_add(1),
                (None, b'(') => depth = depth.saturating_add(1),
                (None, b')') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        if depth > 0 || quote.is_some() {
            self.out
                .problem
                .get_or_insert_with(|| "unbalanced parentheses or quotes in a substitution".to_owned());
        }
        self.pos = at.min(self.bytes.len());
        self.pos
    }

    fn redirect(&mut self, current: &mut Command) {
        let start = self.pos;
        while self.peek(0).is_some_and(|byte| byte.is_ascii_digit()) {
            self.pos = self.pos.saturating_add(1);
        }
        let op_start = self.pos;
        while self
            .peek(0)
            .is_some_and(|byte| matches!(byte, b'<' | b'>' | b'&' | b'|' | b'-'))
        {
            let byte = self.peek(0);
            // `>&-` closes a descriptor; `<<-` strips tabs. A `-` only belongs to the operator right after it.
            if byte == Some(b'-')
                && !(self.src.get(op_start..self.pos) == Some("<<")
                    || self.src.get(op_start..self.pos) == Some(">&"))
            {
                break;
            }
            self.pos = self.pos.saturating_add(1);
        }
        let op = self
            .src
            .get(op_start..self.pos)
            .unwrap_or("")
            .trim_end_matches('-')
            .to_owned();
        while matches!(self.peek(0), Some(b' ' | b'\t')) {
            self.pos = self.pos.saturating_add(1);
        }
        let target = if self.peek(0).is_some_and(|byte| !is_meta(byte) || byte == b'(')
            && self.peek(0) != Some(b'(')
        {
            self.word(current)
        } else {
            Word {
                span: self.pos..self.pos,
                ..Word::default()
            }
        };
        self.note_span(current, start..target.span.end.max(self.pos));
        if op == "<<" {
            let index = current.redirects.len();
            // The command is not yet in the output list; it will be at this index once ended.
            let command_index = self.out.commands.len();
            self.heredocs.push((command_index, index, target.text.clone()));
        }
        current.redirects.push(Redirect {
            op,
            target,
            body: None,
        });
    }

    /// After a newline, reads the bodies of pending here-documents.
    fn read_heredocs(&mut self) {
        let pending = std::mem::take(&mut self.heredocs);
        for (command_index, redirect_index, delimiter) in pending {
            let body_start = self.pos;
            let mut body_end = self.bytes.len();
            while self.pos < self.bytes.len() {
                let line_end = self
                    .src
                    .get(self.pos..)
                    .and_then(|rest| rest.find('\n'))
                    .map_or(self.bytes.len(), |at| self.pos.saturating_add(at));
                let line = self.src.get(self.pos..line_end).unwrap_or("");
                let done = line.trim_start_matches('\t') == delimiter;
                if done {
                    body_end = self.pos;
                }
                self.pos = line_end.saturating_add(1).min(self.bytes.len());
                if done {
                    break;
                }
            }
            if let Some(redirect) = self
                .out
                .commands
                .get_mut(command_index)
                .and_then(|command| command.redirects.get_mut(redirect_index))
            {
                redirect.body = Some(body_start..body_end);
            }
        }
    }

    /// Reads one word, removing quotes.
    fn word(&mut self, current: &mut Command) -> Word {
        let start = self.pos;
        let mut word = Word::default();
        while let Some(byte) = self.peek(0) {
            match byte {
                _ if is_meta(byte) => break,
                b'\\' => match self.peek(1) {
                    Some(b'\n') | None => self.pos = self.pos.saturating_add(2).min(self.bytes.len()),
                    Some(_) => self.push_char_at(self.pos.saturating_add(1), &mut word),
                },
                b'\'' => self.single_quoted(&mut word),
                b'"' => self.double_quoted(&mut word, current),
                b'$' if self.peek(1) == Some(b'\'') => self.ansi_c_quoted(&mut word),
                b'$' if self.peek(1) == Some(b'(') => {
                    let at = self.pos;
                    let end = self.skip_balanced(self.pos.saturating_add(1));
                    current
                        .opaque
                        .push((at..end, "command substitution $(...) runs a command".to_owned()));
                    word.text.push_str(self.src.get(at..end).unwrap_or(""));
                    word.expands = true;
                }
                b'`' => self.backtick(&mut word, current),
                b'$' => {
                    word.expands = true;
                    word.text.push('$');
                    self.pos = self.pos.saturating_add(1);
                }
                b'*' | b'?' | b'[' => {
                    word.globs = true;
                    word.text.push(char::from(byte));
                    self.pos = self.pos.saturating_add(1);
                }
                _ => self.push_char_at(self.pos, &mut word),
            }
            if self.out.problem.is_some() {
                break;
            }
        }
        word.span = start..self.pos;
        word
    }

    /// Pushes the (possibly multi-byte) character at `at` and moves past it.
    fn push_char_at(&mut self, at: usize, word: &mut Word) {
        let ch = self.src.get(at..).and_then(|rest| rest.chars().next());
        match ch {
            Some(ch) => {
                word.text.push(ch);
                self.pos = at.saturating_add(ch.len_utf8());
            }
            None => self.pos = self.bytes.len(),
        }
    }

    fn single_quoted(&mut self, word: &mut Word) {
        let open = self.pos.saturating_add(1);
        match self.src.get(open..).and_then(|rest| rest.find('\'')) {
            Some(len) => {
                word.text
                    .push_str(self.src.get(open..open.saturating_add(len)).unwrap_or(""));
                self.pos = open.saturating_add(len).saturating_add(1);
            }
            None => self.unbalanced("'"),
        }
    }

    fn double_quoted(&mut self, word: &mut Word, current: &mut Command) {
        self.pos = self.pos.saturating_add(1);
        loop {
            match self.peek(0) {
                None => return self.unbalanced("\""),
                Some(b'"') => {
                    self.pos = self.pos.saturating_add(1);
                    return;
                }
                Some(b'\\') => match self.peek(1) {
                    Some(b'$' | b'`' | b'"' | b'\\') => self.push_char_at(self.pos.saturating_add(1), word),
                    Some(b'\n') => self.pos = self.pos.saturating_add(2),
                    _ => {
                        word.text.push('\\');
                        self.pos = self.pos.saturating_add(1);
                    }
                },
                Some(b'$') if self.peek(1) == Some(b'(') => {
                    let at = self.pos;
                    let end = self.skip_balanced(self.pos.saturating_add(1));
                    current
                        .opaque
                        .push((at..end, "command substitution $(...) runs a command".to_owned()));
                    word.text.push_str(self.src.get(at..end).unwrap_or(""));
                    word.expands = true;
                    if self.out.problem.is_some() {
                        return;
                    }
                }
                Some(b'`') => {
                    self.backtick(word, current);
                    if self.out.problem.is_some() {
                        return;
                    }
                }
                Some(b'$') => {
                    word.expands = true;
                    word.text.push('$');
                    self.pos = self.pos.saturating_add(1);
                }
                Some(_) => self.push_char_at(self.pos, word),
            }
        }
    }

    fn backtick(&mut self, word: &mut Word, current: &mut Command) {
        let start = self.pos;
        let open = start.saturating_add(1);
        match self.src.get(open..).and_then(|rest| rest.find('`')) {
            Some(len) => {
                let end = open.saturating_add(len).saturating_add(1);
                current
                    .opaque
                    .push((start..end, "command substitution `...` runs a command".to_owned()));
                word.text.push_str(self.src.get(start..end).unwrap_or(""));
                word.expands = true;
                self.pos = end;
            }
            None => self.unbalanced("`"),
        }
    }

    /// `$'...'`: bash's ANSI-C quoting, decoded because `$'\x72\x6d'` is `rm`.
    fn ansi_c_quoted(&mut self, word: &mut Word) {
        let mut at = self.pos.saturating_add(2);
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            let Some(byte) = self.bytes.get(at).copied() else {
                return self.unbalanced("$'");
            };
            at = at.saturating_add(1);
            match byte {
                b'\'' => break,
                b'\\' => {
                    let Some(escaped) = self.bytes.get(at).copied() else {
                        return self.unbalanced("$'");
                    };
                    at = at.saturating_add(1);
                    match escaped {
                        b'n' => bytes.push(b'\n'),
                        b't' => bytes.push(b'\t'),
                        b'r' => bytes.push(b'\r'),
                        b'a' => bytes.push(0x07),
                        b'b' => bytes.push(0x08),
                        b'e' | b'E' => bytes.push(0x1b),
                        b'f' => bytes.push(0x0c),
                        b'v' => bytes.push(0x0b),
                        b'x' => {
                            let digits = self
                                .bytes
                                .get(at..)
                                .unwrap_or(&[])
                                .iter()
                                .take(2)
                                .take_while(|b| b.is_ascii_hexdigit())
                                .count();
                            let text = self.src.get(at..at.saturating_add(digits)).unwrap_or("");
                            bytes.push(u8::from_str_radix(text, 16).unwrap_or(0));
                            at = at.saturating_add(digits);
                        }
                        b'0'..=b'7' => {
                            let digits = self
                                .bytes
                                .get(at.saturating_sub(1)..)
                                .unwrap_or(&[])
                                .iter()
                                .take(3)
                                .take_while(|b| (b'0'..=b'7').contains(*b))
                                .count();
                            let text = self
                                .src
                                .get(at.saturating_sub(1)..at.saturating_sub(1).saturating_add(digits))
                                .unwrap_or("0");
                            bytes.push(u8::from_str_radix(text, 8).unwrap_or(0));
                            at = at.saturating_sub(1).saturating_add(digits);
                        }
                        other => bytes.push(other),
                    }
                }
                other => bytes.push(other),
            }
        }
        word.text.push_str(&String::from_utf8_lossy(&bytes));
        self.pos = at;
    }

    fn unbalanced(&mut self, quote: &str) {
        self.out
            .problem
            .get_or_insert_with(|| format!("unbalanced {quote} quote"));
        self.pos = self.bytes.len();
    }
}

/// `NAME=value` with a valid shell name.
pub(crate) fn is_assignment(text: &str) -> bool {
    let Some((name, _)) = text.split_once('=') else {
        return false;
    };
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}
