//! MySQL / MariaDB statement classification: a MySQL-correct lexer feeding sqlparser's MySQL dialect.
//!
//! What it sees: every statement of a multi-statement string (split on `;` the way the server and the `mysql`
//! client split, with `DELIMITER` and compound `BEGIN ... END` bodies respected); the content of `/*! ... */`,
//! `/*!50001 ... */` and `/*M! ... */` comments, which the server executes (regardless of the version number: the
//! gateway cannot know which server build will read them, so it assumes the one that runs them); strings with or
//! without backslash escapes and `"` as string or identifier, per [`MysqlOptions`]; the `mysql` client's own
//! commands (`\!`/`system` run a shell command and are classified with [`crate::shell`], `source` is Opaque).
//!
//! What it cannot see, and therefore reports as Opaque: dynamic SQL (`PREPARE ... FROM @var`, `EXECUTE`),
//! stored procedure calls (`CALL`), anything sqlparser does not parse (including keywords spelt with look-alike
//! characters, which MySQL reads as identifiers), control flow inside stored programs. Calls to functions that are
//! not known built-ins are reported as [`Category::UnknownFunction`](crate::facts::Category::UnknownFunction),
//! because a stored function may write. It trusts the session's SQL mode as given: if a client changes
//! `sql_mode` mid-session, the caller must pass the new options.

mod ast;
mod functions;
mod lexer;
mod normalize;
mod routine;
mod statement;
mod tautology;

use std::ops::Range;

use crate::facts::{Access, Category, Classified, Finding, Item, Kind, ObjectKind, ObjectRef, Source};

/// Session SQL modes that change how text is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MysqlOptions {
    /// `NO_BACKSLASH_ESCAPES`: a backslash in a string is an ordinary character.
    pub no_backslash_escapes: bool,
    /// `ANSI_QUOTES`: `"` quotes identifiers, not strings.
    pub ansi_quotes: bool,
}

/// How deep statement text may nest (PREPARE of a literal, stored program bodies, `\!` running `mysql -e`).
const MAX_DEPTH: u8 = 3;

/// Classification context shared by one call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx<'a> {
    pub src: &'a str,
    pub opts: &'a MysqlOptions,
    pub depth: u8,
}

impl Ctx<'_> {
    fn deeper(&self) -> Self {
        Ctx {
            depth: self.depth.saturating_add(1),
            ..*self
        }
    }
}

/// Classifies every statement in `sql`. Never panics; anything it cannot understand is an Opaque item.
pub fn classify(sql: &str, opts: &MysqlOptions) -> Classified {
    classify_at_depth(sql, opts, 0)
}

fn classify_at_depth(sql: &str, opts: &MysqlOptions, depth: u8) -> Classified {
    let mode = lexer::LexMode {
        no_backslash_escapes: opts.no_backslash_escapes,
        ansi_quotes: opts.ansi_quotes,
    };
    let ctx = Ctx {
        src: sql,
        opts,
        depth,
    };
    let items = lexer::split(sql, mode)
        .iter()
        .enumerate()
        .map(|(index, raw)| statement::classify_raw(&ctx, raw, index))
        .collect();
    Classified {
        source: Source::Mysql,
        items,
    }
}

fn new_item(index: usize, span: Range<usize>, kind: Kind, tag: &str) -> Item {
    Item {
        index,
        span,
        kind,
        tag: tag.to_owned(),
        objects: Vec::new(),
        findings: Vec::new(),
    }
}

fn add_finding(item: &mut Item, category: Category, span: Range<usize>, detail: impl Into<String>) {
    let detail = detail.into();
    let duplicate = item
        .findings
        .iter()
        .any(|found| found.category == category && found.detail == detail);
    if !duplicate {
        item.findings.push(Finding {
            category,
            span,
            detail,
        });
    }
}

fn add_object(item: &mut Item, kind: ObjectKind, name: String, access: Access) {
    let object = ObjectRef { kind, name, access };
    if !item.objects.contains(&object) {
        item.objects.push(object);
    }
}
