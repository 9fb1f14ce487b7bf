//! SQL-level prepared statements (`PREPARE name AS ...`, `EXECUTE name(...)`), as one session has them.
//!
//! A text that says `EXECUTE q(1)` shows nothing of what runs: the statement was named earlier in the session. A
//! classifier that sees texts one at a time can only call it opaque, which blocks every client that prepares in
//! SQL — `pg_dump` does, for its catalogue queries. So the session keeps the text of each statement it prepared
//! ([`Prepared::track`], fed with every text that went to the target), and [`classify_in`](super::classify_in)
//! classifies an `EXECUTE` of a known name as its body would be, with the arguments walked like any expression.
//!
//! The map follows what the server does with the names: `PREPARE` adds one (prepared statements outlive a rolled
//! back transaction, so does the entry), `DEALLOCATE name`, `DEALLOCATE ALL` and `DISCARD ALL` remove them. What
//! the gateway cannot know is whether the server accepted a `PREPARE`: one naming a statement that exists fails
//! there, and so would an entry replacing the existing one. A name prepared twice without a `DEALLOCATE` between
//! is therefore ambiguous, and its `EXECUTE`s stay opaque until it is deallocated: the map can lack a statement
//! the server has (then the `EXECUTE` is opaque, the safe side), but never hold another text for a name than the
//! server runs.
//!
//! When the server does answer a text that was one `PREPARE` with an error, the gateway takes that `PREPARE` back
//! ([`Prepared::refused`], with the [`PrepareUndo`] [`Prepared::follow`] gave): the name is as it was before, so a
//! `PREPARE` fixed after a typo, or one repeated by mistake, does not leave its name ambiguous. Only when nothing
//! else touched the name since; a failed statement among several is not taken back (the safe side again).

use std::collections::HashMap;

use pg_query::protobuf::{self, DiscardMode};
use pg_query::NodeEnum;

/// Most names a session keeps; beyond that new names stay unknown, their `EXECUTE`s opaque (a client preparing
/// without end).
const MAX_NAMES: usize = 1024;

/// One session's SQL-level prepared statements, by name as the server folds it.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    statements: HashMap<String, Entry>,
    /// Counts changes to names, so that a `PREPARE` is only taken back while its entry is the one it made.
    changes: u64,
}

/// What the session knows about one name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// The text of the `PREPARE` statement; `None` when the text the server runs under the name is not known
    /// (prepared twice, or with the extended protocol).
    text: Option<String>,
    /// The change that made this entry.
    change: u64,
}

/// What following one text did.
#[derive(Debug)]
pub struct Tracked {
    /// Whether anything changed (decisions about `EXECUTE` texts made before may no longer hold).
    pub changed: bool,
    /// When the text was one `PREPARE`: how to take it back if the server refuses it.
    pub undo: Option<PrepareUndo>,
}

/// How to take back one `PREPARE` the server refused (see [`Prepared::refused`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareUndo {
    name: String,
    /// The change the `PREPARE` made.
    change: u64,
    /// The entry before it.
    before: Option<Entry>,
}

/// What a name refers to.
pub(super) enum Lookup<'a> {
    /// The `PREPARE` statement that defined it.
    Known(&'a str),
    /// Prepared twice, with the extended protocol, or past the bound: the text the server runs is not known.
    Ambiguous,
    /// Never prepared through this session.
    Unknown,
}

impl Prepared {
    /// Whether no name is known.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Follows the `PREPARE`, `DEALLOCATE` and `DISCARD ALL` statements of `sql`, a text sent to the server.
    /// Returns whether anything changed (decisions about `EXECUTE` texts made before may no longer hold).
    pub fn track(&mut self, sql: &str) -> bool {
        self.follow(sql).changed
    }

    /// As [`track`](Self::track), and when `sql` is a single `PREPARE`, how to take it back (see
    /// [`refused`](Self::refused)).
    pub fn follow(&mut self, sql: &str) -> Tracked {
        let mut tracked = Tracked {
            changed: false,
            undo: None,
        };
        if !mentions_prepared_statements(sql) {
            return tracked;
        }
        let Ok(Ok(parsed)) = std::panic::catch_unwind(|| pg_query::parse(sql, 0)) else {
            return tracked;
        };
        let single = parsed.protobuf.stmts.len() == 1;
        for raw in &parsed.protobuf.stmts {
            if let Some(node) = raw.stmt.as_deref() {
                let before = match node.node.as_ref() {
                    Some(NodeEnum::PrepareStmt(prepare)) if single => {
                        Some((prepare.name.clone(), self.statements.get(&prepare.name).cloned()))
                    }
                    _ => None,
                };
                let span = super::statement_span(sql, raw.stmt_location, raw.stmt_len);
                let changed = self.apply(node, sql.get(span).unwrap_or_default());
                tracked.changed |= changed;
                tracked.undo = before.filter(|_| changed).map(|(name, before)| PrepareUndo {
                    name,
                    change: self.changes,
                    before,
                });
            }
        }
        tracked
    }

    /// The server answered the single `PREPARE` `undo` came from with an error: it prepared nothing, so the name
    /// is put back as it was, unless something changed it since. Returns whether anything changed.
    pub fn refused(&mut self, undo: &PrepareUndo) -> bool {
        if self.statements.get(&undo.name).map(|entry| entry.change) != Some(undo.change) {
            return false;
        }
        match &undo.before {
            Some(before) => self.statements.insert(undo.name.clone(), before.clone()),
            None => self.statements.remove(&undo.name),
        };
        true
    }

    /// Records `text` (or that the text is unknown) for `name` as a new change.
    fn set(&mut self, name: &str, text: Option<String>) {
        self.changes += 1;
        let change = self.changes;
        self.statements.insert(name.to_owned(), Entry { text, change });
    }

    /// A Parse message named `name` went to the target. Statements prepared with the extended protocol share the
    /// server's namespace with `PREPARE`, so SQL can `EXECUTE` them too, and a named Parse can take a name a
    /// `PREPARE` had once the client closed it. What such a name runs is not followed here (the gateway judges the
    /// Parse itself when it arrives): an `EXECUTE` of it is opaque. Returns whether a known text was dropped
    /// (an `EXECUTE` of a name that was not known was opaque already, and still is).
    pub fn parsed(&mut self, name: &str) -> bool {
        let full = self.statements.len() >= MAX_NAMES;
        match self.statements.get(name) {
            Some(entry) => {
                let was_known = entry.text.is_some();
                self.set(name, None);
                was_known
            }
            // The unnamed statement cannot be executed from SQL, and past the bound an unknown name stays
            // unknown: opaque either way.
            None if name.is_empty() || full => false,
            None => {
                self.set(name, None);
                false
            }
        }
    }

    /// A Close of the statement `name` went to the target, which forgets the name whichever way it was prepared.
    /// Returns whether a known text was dropped.
    pub fn closed(&mut self, name: &str) -> bool {
        matches!(self.statements.remove(name), Some(Entry { text: Some(_), .. }))
    }

    /// Applies one statement (`text` is its source). Returns whether anything changed.
    pub(super) fn apply(&mut self, node: &protobuf::Node, text: &str) -> bool {
        match node.node.as_ref() {
            Some(NodeEnum::PrepareStmt(prepare)) => {
                let known = self.statements.contains_key(&prepare.name);
                if !known && self.statements.len() >= MAX_NAMES {
                    // Past the bound a new name stays unknown: its `EXECUTE` is opaque, as an ambiguous one's.
                    return false;
                }
                self.set(&prepare.name, (!known).then(|| text.to_owned()));
                true
            }
            Some(NodeEnum::DeallocateStmt(deallocate)) if deallocate.isall || deallocate.name.is_empty() => {
                let changed = !self.statements.is_empty();
                self.statements.clear();
                changed
            }
            Some(NodeEnum::DeallocateStmt(deallocate)) => self.statements.remove(&deallocate.name).is_some(),
            Some(NodeEnum::DiscardStmt(discard)) if discard.target == DiscardMode::DiscardAll as i32 => {
                let changed = !self.statements.is_empty();
                self.statements.clear();
                changed
            }
            _ => false,
        }
    }

    /// What `name` refers to.
    pub(super) fn lookup(&self, name: &str) -> Lookup<'_> {
        match self.statements.get(name).map(|entry| entry.text.as_deref()) {
            Some(Some(text)) => Lookup::Known(text),
            Some(None) => Lookup::Ambiguous,
            None => Lookup::Unknown,
        }
    }
}

/// Whether `node` is a statement [`Prepared::apply`] follows.
pub(super) fn names_statements(node: &protobuf::Node) -> bool {
    matches!(
        node.node,
        Some(NodeEnum::PrepareStmt(_) | NodeEnum::DeallocateStmt(_) | NodeEnum::DiscardStmt(_))
    )
}

/// Whether `sql` may hold a statement [`Prepared::track`] follows: a cheap test that spares the parser for the
/// texts that cannot (nearly all of them).
fn mentions_prepared_statements(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    ["prepare", "deallocate", "discard"].iter().any(|word| {
        bytes
            .windows(word.len())
            .any(|window| window.eq_ignore_ascii_case(word.as_bytes()))
    })
}
