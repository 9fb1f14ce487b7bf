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

use std::collections::HashMap;
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

pub use super::MAX_INPUT_BYTES;

/// The most operator tokens one statement may hold. sqlparser builds a chain like `a OR b OR c ...` as a
/// left-deep tree without counting it against its recursion limit, and walking or dropping a tree hundreds of
/// thousands deep overflows the stack (a crash of the whole gateway). Statements with more operators are Opaque;
/// 1000 keeps a 2 MiB thread stack safe even in a debug build (4096 was not).
pub const MAX_OPERATORS: usize = 1000;

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
    if sql.len() > MAX_INPUT_BYTES {
        let span = 0..sql.len();
        let mut item = new_item(0, span.clone(), Kind::Opaque, "UNKNOWN");
        add_finding(
            &mut item,
            Category::Opaque,
            span,
            format!("the request is larger than the {MAX_INPUT_BYTES} bytes the gateway classifies"),
        );
        return Classified {
            source: Source::Mysql,
            items: vec![item],
        };
    }
    let mode = lexer::LexMode {
        no_backslash_escapes: opts.no_backslash_escapes,
        ansi_quotes: opts.ansi_quotes,
        skip_versioned: false,
    };
    let ctx = Ctx {
        src: sql,
        opts,
        depth,
    };
    let read = |mode| -> Vec<Item> {
        lexer::split(sql, mode)
            .iter()
            .enumerate()
            .map(|(index, raw)| statement::classify_raw(&ctx, raw, index))
            .collect()
    };
    let mut items = read(mode);
    if has_version_gate(sql) {
        // A server older than the gate skips the text (`DELETE FROM t /*!99999 WHERE id = 1 */` deletes every row
        // there), a newer one runs it: both readings are classified and every finding of either is kept.
        let skipped = read(lexer::LexMode {
            skip_versioned: true,
            ..mode
        });
        merge_readings(&mut items, skipped);
    }
    Classified {
        source: Source::Mysql,
        items,
    }
}

/// Whether `sql` may hold a version-gated executable comment (`/*!NNNNN`, `/*M!NNNNNN`). A match inside a string
/// literal only costs a second, identical reading.
fn has_version_gate(sql: &str) -> bool {
    sql.match_indices("/*").any(|(at, _)| {
        let rest = sql.get(at.saturating_add(2)..).unwrap_or("");
        let rest = rest.strip_prefix('M').unwrap_or(rest);
        rest.strip_prefix('!')
            .is_some_and(|gated| gated.starts_with(|ch: char| ch.is_ascii_digit()))
    })
}

/// Folds the reading of a server older than the version gates (`skipped`) into the reading of a newer one
/// (`items`): statements that start at the same place are one statement read two ways, and get the findings and
/// objects of both; a statement only one reading has (a gate that hides a whole statement, or moves a boundary) is
/// kept as its own item. Every statement any server version would run is thus classified. A statement of the older
/// reading that does not parse is left out (`/*!50000DROP*/ TABLE t` leaves `TABLE t`): the newer reading, which
/// the gateway holds to all its rules, already covers the text, and a syntax error there only fails on that server.
fn merge_readings(items: &mut Vec<Item>, skipped: Vec<Item>) {
    let parses = |item: &Item| {
        !item
            .findings
            .iter()
            .any(|finding| finding.detail.starts_with(ast::PARSE_FAILURE))
    };
    // Looked up by start offset: a linear search per statement would make a request of many statements behind
    // one version gate quadratic.
    let by_start: HashMap<usize, usize> = items
        .iter()
        .enumerate()
        .map(|(at, item)| (item.span.start, at))
        .collect();
    for mut other in skipped.into_iter().filter(parses) {
        match by_start.get(&other.span.start).and_then(|at| items.get_mut(*at)) {
            Some(item) => {
                for finding in other.findings {
                    add_finding(item, finding.category, finding.span, finding.detail);
                }
                for object in other.objects {
                    add_object(item, object.kind, object.name, object.access);
                }
                if item.kind == Kind::Read && other.kind != Kind::Read {
                    item.kind = other.kind;
                }
            }
            None => {
                other.index = items.len();
                items.push(other);
            }
        }
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
