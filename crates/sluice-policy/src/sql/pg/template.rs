//! Statement templates: the key under which the gateway may reuse one classification for statements that differ
//! only in numeric literals whose value the classifier never looks at.
//!
//! `SELECT abalance FROM pgbench_accounts WHERE aid = 48211` and `... WHERE aid = 90733` classify identically, but
//! an exact-text cache never sees the same text twice, so every such statement paid for a full parse (about two
//! thirds of the gateway's own CPU time per simple-protocol query). [`literal_template`] replaces those literals
//! with a byte that cannot occur in UTF-8 text, so the key is injective over everything else.
//!
//! Soundness rests on which literals are replaced: the classifier reads literal *values* only when it folds
//! constants (tautology detection: `WHERE 1 = 1`, `WHERE 2 > 1`) and in utility-statement options. A literal is
//! replaced only where no constant folding can reach it:
//! - directly after a comparison or arithmetic operator whose left operand ends in a column reference (an unquoted
//!   identifier that is not a keyword, or a quoted one, not part of a `::` type cast): `aid = 5`, `t.x <= 2.5`,
//!   `abalance + 7`. An expression with a column in it is never a constant, whatever the literal;
//! - as a whole element of a `VALUES` row: `VALUES (1, 2, now())`. The classifier never evaluates VALUES lists.
//!
//! A sign written apart from the operator before it goes with its literal (`abalance + -17`, `VALUES (1, -4)`: the
//! value is replaced, the sign stays in the key); `x =-5` is one operator to PostgreSQL's lexer and to ours, and
//! keeps its literal.
//!
//! Everything else keeps its literals (`WHERE 1 = 1`, `LIMIT 10`, `x IN (1, 2)`, `SELECT -5`), and only statements that
//! start with a data keyword (SELECT, INSERT, UPDATE, DELETE, WITH, VALUES, TABLE) get a template at all: utility
//! statements (SET, EXPLAIN options, DDL) keep their exact text. Text the scanner cannot follow with certainty
//! (escape strings `E'..'`, Unicode escapes `U&'..'`, backslashes in strings, which mean something else when
//! `standard_conforming_strings` is off, unterminated quotes or comments) gets no template either. The caller also
//! skips templates when the policy has pattern rules, which see the raw text.

/// The byte that stands for a replaced literal (never part of UTF-8).
const LITERAL: u8 = 0xFF;

/// The statement's template, or `None` when it has no literal that can be replaced safely or cannot be scanned
/// with certainty (the caller then keys on the exact text).
pub fn literal_template(sql: &str) -> Option<Vec<u8>> {
    let tokens = scan(sql.as_bytes())?;
    // Every statement of a multi-statement string must start with a data keyword.
    let mut statement_start = true;
    for token in &tokens {
        match token.kind {
            Kind::Punct(b';') => statement_start = true,
            _ if statement_start => {
                let word = sql.get(token.span.0..token.span.1)?;
                if token.kind != Kind::Word || !DATA_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word)) {
                    return None;
                }
                statement_start = false;
            }
            _ => {}
        }
    }
    let replace = replaceable(sql.as_bytes(), &tokens);
    if replace.is_empty() {
        return None;
    }
    let bytes = sql.as_bytes();
    let mut key = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for span in replace {
        key.extend_from_slice(bytes.get(at..span.0)?);
        key.push(LITERAL);
        at = span.1;
    }
    key.extend_from_slice(bytes.get(at..)?);
    Some(key)
}

const DATA_KEYWORDS: &[&str] = &["select", "insert", "update", "delete", "with", "values", "table"];

/// Operators after which a literal may be replaced when their left operand ends in a column reference.
const OPERATORS: &[&[u8]] = &[
    b"=", b"<>", b"!=", b"<", b">", b"<=", b">=", b"+", b"-", b"*", b"/", b"%",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// An unquoted identifier or keyword.
    Word,
    /// A double-quoted identifier.
    QuotedIdent,
    /// A numeric literal.
    Number,
    /// A string (or dollar-quoted string) literal.
    Text,
    /// `$1`.
    Param,
    /// An operator (maximal run of operator characters).
    Operator,
    /// `::`.
    Cast,
    /// Any other single character: `(`, `)`, `,`, `.`, `;`, `[`, `]`, `:`.
    Punct(u8),
}

#[derive(Clone, Copy, Debug)]
struct Token {
    kind: Kind,
    span: (usize, usize),
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_char(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

fn is_operator_char(b: u8) -> bool {
    b"+-*/<>=~!@#%^&|`?".contains(&b)
}

/// Splits `s` into tokens, skipping whitespace and comments; `None` when something cannot be followed with
/// certainty.
fn scan(s: &[u8]) -> Option<Vec<Token>> {
    let mut tokens = Vec::with_capacity(32);
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        let start = i;
        let kind = match b {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                i += 1;
                continue;
            }
            b'-' if s.get(i + 1) == Some(&b'-') => {
                while s.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
                continue;
            }
            b'/' if s.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(s, i)?;
                continue;
            }
            b'\'' => {
                i = skip_string(s, i)?;
                Kind::Text
            }
            b'"' => {
                i += 1;
                loop {
                    match s.get(i)? {
                        b'"' if s.get(i + 1) == Some(&b'"') => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                i += 1;
                Kind::QuotedIdent
            }
            b'$' => {
                if s.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                    while s.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                    Kind::Param
                } else {
                    i = skip_dollar_quote(s, i)?;
                    Kind::Text
                }
            }
            b'0'..=b'9' => {
                i = scan_number(s, i)?;
                Kind::Number
            }
            b'.' if s.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i = scan_number(s, i)?;
                Kind::Number
            }
            b':' if s.get(i + 1) == Some(&b':') => {
                i += 2;
                Kind::Cast
            }
            _ if is_ident_start(b) => {
                while s.get(i).copied().is_some_and(is_ident_char) {
                    i += 1;
                }
                let word = s.get(start..i)?;
                match s.get(i) {
                    // E'..' (backslash escapes) and U&'..' / U&".." (Unicode escapes): not followed here.
                    Some(b'\'') if word.eq_ignore_ascii_case(b"e") => return None,
                    Some(b'&') if word.eq_ignore_ascii_case(b"u") => return None,
                    _ => {}
                }
                Kind::Word
            }
            _ if is_operator_char(b) => {
                while s.get(i).copied().is_some_and(is_operator_char) {
                    // A comment start ends the operator, as in PostgreSQL's lexer.
                    if matches!(
                        (s.get(i), s.get(i + 1)),
                        (Some(b'-'), Some(b'-')) | (Some(b'/'), Some(b'*'))
                    ) && i > start
                    {
                        break;
                    }
                    i += 1;
                }
                Kind::Operator
            }
            b'(' | b')' | b',' | b'.' | b';' | b'[' | b']' | b':' => {
                i += 1;
                Kind::Punct(b)
            }
            _ => return None,
        };
        tokens.push(Token {
            kind,
            span: (start, i),
        });
    }
    Some(tokens)
}

/// End of a `/* */` comment starting at `i` (they nest in PostgreSQL).
fn skip_block_comment(s: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match (s.get(i)?, s.get(i + 1)) {
            (b'/', Some(b'*')) => {
                depth += 1;
                i += 2;
            }
            (b'*', Some(b'/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
}

/// End of a `'...'` string starting at `i`; `None` if it contains a backslash or does not end.
fn skip_string(s: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match s.get(i)? {
            b'\'' if s.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return Some(i + 1),
            b'\\' => return None,
            _ => i += 1,
        }
    }
}

/// End of a `$tag$...$tag$` string starting at `i`.
fn skip_dollar_quote(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while s.get(j).copied().is_some_and(|b| is_ident_char(b) && b != b'$') {
        j += 1;
    }
    if s.get(j) != Some(&b'$') {
        return None;
    }
    let tag = s.get(i..=j)?;
    let body = j + 1;
    let end = s.get(body..)?.windows(tag.len()).position(|w| w == tag)?;
    Some(body + end + tag.len())
}

/// End of a numeric literal starting at `i`: digits, an optional fraction, an optional exponent. `None` when
/// identifier characters follow at once (`0x1F`, `1_000`, `5abc`: left to PostgreSQL's own lexer).
fn scan_number(s: &[u8], mut i: usize) -> Option<usize> {
    while s.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    if s.get(i) == Some(&b'.') && s.get(i + 1) != Some(&b'.') {
        i += 1;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if s.get(j).is_some_and(u8::is_ascii_digit) {
            i = j;
            while s.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
    }
    if s.get(i).copied().is_some_and(|b| is_ident_char(b) || b == b'.') {
        return None;
    }
    Some(i)
}

/// The spans of the number tokens that may be replaced, in order.
fn replaceable(s: &[u8], tokens: &[Token]) -> Vec<(usize, usize)> {
    let text = |t: &Token| s.get(t.span.0..t.span.1).unwrap_or_default();
    let is_keyword = |t: &Token| {
        t.kind == Kind::Word && {
            let word = text(t).to_ascii_lowercase();
            std::str::from_utf8(&word).is_ok_and(super::keywords::is_keyword)
        }
    };
    // Whether the token at `k` ends a column reference: a non-keyword word or a quoted identifier, possibly
    // qualified, not the type name of a `::` cast.
    let column_ends_at = |k: usize| -> bool {
        let mut k = k;
        loop {
            let Some(t) = tokens.get(k) else { return false };
            let ident = match t.kind {
                Kind::Word => !is_keyword(t),
                Kind::QuotedIdent => true,
                _ => false,
            };
            if !ident {
                return false;
            }
            // Walk back over `a.b.c`.
            match k.checked_sub(1).and_then(|p| tokens.get(p)) {
                Some(Token {
                    kind: Kind::Punct(b'.'),
                    ..
                }) => match k.checked_sub(2) {
                    Some(p) => k = p,
                    None => return false,
                },
                Some(Token { kind: Kind::Cast, .. }) => return false,
                _ => return true,
            }
        }
    };
    // Parenthesis stack: whether each open `(` starts a VALUES row.
    let mut parens: Vec<bool> = Vec::new();
    // Whether the last `)` closed a VALUES row (so a `,` then `(` starts the next row).
    let mut closed_row = false;
    let mut out = Vec::new();
    for (k, t) in tokens.iter().enumerate() {
        let prev = k.checked_sub(1).and_then(|p| tokens.get(p));
        match t.kind {
            Kind::Punct(b'(') => {
                let row = match prev {
                    Some(p) if p.kind == Kind::Word && text(p).eq_ignore_ascii_case(b"values") => true,
                    Some(Token {
                        kind: Kind::Punct(b','),
                        ..
                    }) => closed_row,
                    _ => false,
                };
                parens.push(row);
                closed_row = false;
            }
            Kind::Punct(b')') => {
                closed_row = parens.pop().unwrap_or(false);
            }
            Kind::Punct(b',') => {}
            Kind::Number => {
                closed_row = false;
                // A sign of its own (`+ -17`, `VALUES (1, -4)`) goes with the literal: what decides is the token
                // before it. A sign run into the operator before it (`=-5`) is one operator token and decides nothing.
                // It is a sign only where no operand precedes it (`b + 17` is an addition).
                let signed = prev.is_some_and(|p| p.kind == Kind::Operator && matches!(text(p), b"-" | b"+"))
                    && k.checked_sub(2)
                        .and_then(|b| tokens.get(b))
                        .is_some_and(|b| matches!(b.kind, Kind::Operator | Kind::Punct(b'(' | b',')));
                let before_at = if signed {
                    k.checked_sub(2)
                } else {
                    k.checked_sub(1)
                };
                let before = before_at.and_then(|b| tokens.get(b));
                let after_operator = before_at.is_some_and(|b| {
                    b >= 1
                        && before.is_some_and(|p| p.kind == Kind::Operator && OPERATORS.contains(&text(p)))
                        && column_ends_at(b - 1)
                });
                let next = tokens.get(k + 1).map(|n| n.kind);
                let in_row = parens.last() == Some(&true)
                    && matches!(before.map(|p| p.kind), Some(Kind::Punct(b'(' | b',')))
                    && matches!(next, Some(Kind::Punct(b',' | b')')));
                if after_operator || in_row {
                    out.push(t.span);
                }
            }
            _ => closed_row = false,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(sql: &str) -> Option<String> {
        literal_template(sql).map(|k| String::from_utf8_lossy(&k).replace('\u{fffd}', "?"))
    }

    #[test]
    fn literals_compared_with_columns_are_replaced() {
        assert_eq!(
            key("SELECT abalance FROM pgbench_accounts WHERE aid = 48211;").as_deref(),
            Some("SELECT abalance FROM pgbench_accounts WHERE aid = ?;")
        );
        assert_eq!(
            key("UPDATE pgbench_accounts SET abalance = abalance + -17 WHERE aid = 5;").as_deref(),
            Some("UPDATE pgbench_accounts SET abalance = abalance + -? WHERE aid = ?;")
        );
        assert_eq!(
            key("UPDATE t SET b = b + 17 WHERE t.\"Id\"<=2.5e3").as_deref(),
            Some("UPDATE t SET b = b + ? WHERE t.\"Id\"<=?")
        );
        assert_eq!(
            key("INSERT INTO h (tid, bid, aid, delta, mtime) VALUES (1, 2, 3, -4, CURRENT_TIMESTAMP), (5, 6.5, 7, 8, now())")
                .as_deref(),
            Some("INSERT INTO h (tid, bid, aid, delta, mtime) VALUES (?, ?, ?, -?, CURRENT_TIMESTAMP), (?, ?, ?, ?, now())")
        );
        assert_eq!(
            key("SELECT abalance FROM a WHERE aid = 1"),
            key("SELECT abalance FROM a WHERE aid = 999999")
        );
        // A signed literal keeps its sign in the key; its value is replaced like any other.
        assert_eq!(
            key("SELECT * FROM t WHERE x = -5 AND y < + 2.5").as_deref(),
            Some("SELECT * FROM t WHERE x = -? AND y < + ?")
        );
        assert_eq!(key("VALUES (- 4)").as_deref(), Some("VALUES (- ?)"));
    }

    #[test]
    fn literals_the_classifier_may_fold_are_kept() {
        // Constant comparisons (tautologies), casts, keywords, unary minus, LIMIT, IN lists, function arguments.
        for sql in [
            "DELETE FROM t WHERE 1 = 1",
            "DELETE FROM t WHERE 2 > 1",
            "DELETE FROM t WHERE true = 1",
            "DELETE FROM t WHERE NULL IS NULL OR 5 = 5",
            "DELETE FROM t WHERE '1'::int = 1",
            "DELETE FROM t WHERE 1::pg_catalog.int4 = 1",
            "DELETE FROM t WHERE CAST('1' AS int) = 1",
            "DELETE FROM t WHERE (1) = 1",
            "DELETE FROM t WHERE (SELECT 1) = 1",
            "DELETE FROM t WHERE CASE WHEN true THEN 1 END = 1",
            "SELECT -5",
            "SELECT * FROM t LIMIT 10",
            "SELECT * FROM t WHERE x IN (1, 2)",
            "SELECT pg_sleep(5)",
            "SELECT * FROM t WHERE x =- 5",
            "SELECT * FROM t WHERE x =-5",
            "SELECT * FROM t WHERE 1 = -5",
            "SELECT * FROM t WHERE x IN (-5)",
            "SELECT * FROM t WHERE x = - -5",
            "SELECT -5 = x FROM t",
            "SELECT a[1] = 2 FROM t",
            "SELECT * FROM t WHERE EXISTS (SELECT 1)",
            "DELETE FROM t WHERE 1 = (1)",
        ] {
            assert_eq!(key(sql), None, "{sql}");
        }
    }

    #[test]
    fn utility_statements_and_uncertain_text_get_no_template() {
        for sql in [
            "SET statement_timeout = 5",
            "SELECT * FROM t WHERE x = 1; SET statement_timeout = 5",
            "SELECT * FROM t WHERE x = 1; (SELECT 1)",
            "EXPLAIN (ANALYZE 1) SELECT * FROM t WHERE x = 1",
            "CREATE TABLE t (x int) WITH (fillfactor = 70)",
            "COPY (SELECT * FROM t WHERE x = 1) TO PROGRAM 'cat'",
            "DO $$ BEGIN PERFORM 1; END $$",
            "SELECT * FROM t WHERE s = E'\\'' AND x = 5",
            "SELECT * FROM t WHERE s = 'a\\' AND x = 5 --' ",
            "SELECT * FROM t WHERE s = U&'\\0041' AND x = 5",
            "SELECT * FROM t WHERE x = 5 AND s = 'unterminated",
            "SELECT * FROM t WHERE x = 5 /* unterminated",
            "SELECT * FROM t WHERE x = 0x1F",
            "SELECT * FROM t WHERE x = 1_000",
            "SELECT * FROM t WHERE x = 5abc",
        ] {
            assert_eq!(key(sql), None, "{sql}");
        }
    }

    #[test]
    fn strings_comments_and_dollar_quotes_are_not_scanned_for_literals() {
        assert_eq!(
            key("SELECT 'x = 5' FROM t /* y = 6 /* nested */ z = 7 */ WHERE x = 8 -- w = 9").as_deref(),
            Some("SELECT 'x = 5' FROM t /* y = 6 /* nested */ z = 7 */ WHERE x = ? -- w = 9")
        );
        assert_eq!(
            key("SELECT $fn$ a = 1 $fn$, $$ b = 2 $$ FROM t WHERE c = 3 AND d = $1").as_deref(),
            Some("SELECT $fn$ a = 1 $fn$, $$ b = 2 $$ FROM t WHERE c = ? AND d = $1")
        );
        assert_eq!(
            key("SELECT 'it''s' FROM t WHERE x = 1").as_deref(),
            Some("SELECT 'it''s' FROM t WHERE x = ?")
        );
    }

    #[test]
    fn the_key_is_injective_outside_replaced_literals() {
        // A text that spells the replacement some other way must not collide with a template.
        let a = literal_template("SELECT * FROM t WHERE x = 5").unwrap();
        let b = literal_template("SELECT * FROM t WHERE x = 6 ").unwrap();
        let c = literal_template("SELECT * FROM u WHERE x = 5").unwrap();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert!(std::str::from_utf8(&a).is_err(), "the marker is not UTF-8");
    }

    /// What the policy reads of a classification: kinds, findings and objects per statement.
    fn summary(sql: &str) -> String {
        let classified = super::super::classify(sql);
        let items: Vec<_> = classified
            .items
            .iter()
            .map(|item| {
                let findings: Vec<_> = item.findings.iter().map(|f| f.category).collect();
                format!("{:?} {findings:?} {:?}", item.kind, item.objects)
            })
            .collect();
        items.join("; ")
    }

    /// Soundness against the classifier itself: for every template, statements that share it classify the same.
    #[test]
    fn statements_sharing_a_template_classify_identically() {
        let cases = [
            [
                "SELECT abalance FROM pgbench_accounts WHERE aid = 1",
                "SELECT abalance FROM pgbench_accounts WHERE aid = 0",
            ],
            ["DELETE FROM t WHERE id = 1", "DELETE FROM t WHERE id = 0"],
            [
                "DELETE FROM t WHERE id = 1 OR x = 1",
                "DELETE FROM t WHERE id = 0 OR x = 2",
            ],
            [
                "UPDATE t SET a = a + 1 WHERE k = 1",
                "UPDATE t SET a = a + 0 WHERE k = 99",
            ],
            ["DELETE FROM t WHERE id <> 1", "DELETE FROM t WHERE id <> 2"],
            ["INSERT INTO t VALUES (1, 2)", "INSERT INTO t VALUES (0, 0)"],
            ["INSERT INTO t VALUES (-1, 2)", "INSERT INTO t VALUES (-0, 0)"],
            [
                "UPDATE t SET a = a + -1 WHERE k = -1",
                "UPDATE t SET a = a + -0 WHERE k = -99",
            ],
            [
                "DELETE FROM t WHERE id = -1 OR x = -1",
                "DELETE FROM t WHERE id = -0 OR x = -2",
            ],
            [
                "SELECT * FROM t WHERE EXISTS (VALUES (1))",
                "SELECT * FROM t WHERE EXISTS (VALUES (0))",
            ],
            [
                "DELETE FROM t WHERE (VALUES (1)) = x",
                "DELETE FROM t WHERE (VALUES (0)) = x",
            ],
        ];
        for [a, b] in cases {
            assert_eq!(literal_template(a), literal_template(b), "{a} / {b}");
            assert!(literal_template(a).is_some(), "{a}");
            assert_eq!(summary(a), summary(b), "{a} / {b}");
        }
    }

    /// Every replaced literal, set to values that flip constant folding wherever folding could reach them, leaves
    /// the template and the classification unchanged.
    #[test]
    fn replaced_literals_never_change_the_classification() {
        let statements = [
            "DELETE FROM t WHERE id = 1 OR 1 = 1",
            "DELETE FROM t WHERE x = 1 AND y = 2 OR z <> 3",
            "DELETE FROM t WHERE x + 1 = 2",
            "DELETE FROM t WHERE 1 + x = 2",
            "UPDATE t SET a = 1, b = b * 2 WHERE c >= 3 AND d < 4",
            "UPDATE t SET a = a - 1 WHERE NOT (k = 0)",
            "DELETE FROM t USING u WHERE t.id = u.id AND u.flag = 1",
            "DELETE FROM t WHERE \"weird col\" = 1",
            "DELETE FROM t WHERE id = 1 RETURNING id, x % 2",
            "WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d WHERE x = 2",
            "INSERT INTO t (a, b) VALUES (1, 2), (3, 4) ON CONFLICT (a) DO UPDATE SET b = excluded.b + 1",
            "INSERT INTO t SELECT * FROM u WHERE id = 1",
            "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = 5)",
            "SELECT x = 1 FROM t WHERE (SELECT true) AND y = 2",
            "SELECT * FROM t WHERE a = 1; DELETE FROM t WHERE b = 2",
            "SELECT * FROM (VALUES (1, 2)) v(a, b) WHERE a = 1",
            "DELETE FROM t WHERE x = 0 AND 1 = 1",
            "DELETE FROM t WHERE coalesce(x, 1) = 1",
            "DELETE FROM t WHERE x = 1 IS TRUE",
            "DELETE FROM t WHERE x = 1 IS NOT NULL",
            "SELECT pg_sleep(1) FROM t WHERE x = 1",
            "DELETE FROM t WHERE x = -1 OR 1 = -1",
            "UPDATE t SET a = a + -1 WHERE k = - 2 AND j < +3",
            "INSERT INTO t VALUES (-1, +2), (3, - 4)",
            "DELETE FROM t WHERE x * -1 = 2",
            "TABLE t",
            "VALUES (1), (2)",
        ];
        let mut templated = 0;
        for sql in statements {
            let Some(template) = literal_template(sql) else {
                continue;
            };
            templated += 1;
            let tokens = scan(sql.as_bytes()).unwrap();
            let spans = replaceable(sql.as_bytes(), &tokens);
            let original = summary(sql);
            for value in ["0", "1", "2", "3.5", "1e9", "00"] {
                let mut variant = String::new();
                let mut at = 0;
                for (start, end) in &spans {
                    variant.push_str(&sql[at..*start]);
                    variant.push_str(value);
                    at = *end;
                }
                variant.push_str(&sql[at..]);
                assert_eq!(literal_template(&variant).as_ref(), Some(&template), "{variant}");
                assert_eq!(summary(&variant), original, "{sql} vs {variant}");
            }
        }
        // `TABLE t` has no literal and `coalesce(x, 1) = 1` none that may be replaced.
        assert_eq!(templated, statements.len() - 2);
    }
}
