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

use std::collections::HashMap;

use pg_query::protobuf::{self, DiscardMode};
use pg_query::NodeEnum;

/// Most names a session keeps; beyond that new names are ambiguous (a client preparing without end).
const MAX_NAMES: usize = 1024;

/// One session's SQL-level prepared statements, by name as the server folds it.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// The text of the `PREPARE` statement for each name; `None` when the text the server runs under the name is
    /// not known (prepared twice, or with the extended protocol).
    statements: HashMap<String, Option<String>>,
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
        if !mentions_prepared_statements(sql) {
            return false;
        }
        let Ok(Ok(parsed)) = std::panic::catch_unwind(|| pg_query::parse(sql, 0)) else {
            return false;
        };
        let mut changed = false;
        for raw in &parsed.protobuf.stmts {
            if let Some(node) = raw.stmt.as_deref() {
                let span = super::statement_span(sql, raw.stmt_location, raw.stmt_len);
                changed |= self.apply(node, sql.get(span).unwrap_or_default());
            }
        }
        changed
    }

    /// A Parse message named `name` went to the target. Statements prepared with the extended protocol share the
    /// server's namespace with `PREPARE`, so SQL can `EXECUTE` them too, and a named Parse can take a name a
    /// `PREPARE` had once the client closed it. What such a name runs is not followed here (the gateway judges the
    /// Parse itself when it arrives): an `EXECUTE` of it is opaque. Returns whether a known text was dropped
    /// (an `EXECUTE` of a name that was not known was opaque already, and still is).
    pub fn parsed(&mut self, name: &str) -> bool {
        let full = self.statements.len() >= MAX_NAMES;
        match self.statements.get_mut(name) {
            Some(entry) => entry.take().is_some(),
            // The unnamed statement cannot be executed from SQL, and past the bound an unknown name stays
            // unknown: opaque either way.
            None if name.is_empty() || full => false,
            None => {
                self.statements.insert(name.to_owned(), None);
                false
            }
        }
    }

    /// A Close of the statement `name` went to the target, which forgets the name whichever way it was prepared.
    /// Returns whether a known text was dropped.
    pub fn closed(&mut self, name: &str) -> bool {
        matches!(self.statements.remove(name), Some(Some(_)))
    }

    /// Applies one statement (`text` is its source). Returns whether anything changed.
    pub(super) fn apply(&mut self, node: &protobuf::Node, text: &str) -> bool {
        match node.node.as_ref() {
            Some(NodeEnum::PrepareStmt(prepare)) => {
                let known = self.statements.len() >= MAX_NAMES || self.statements.contains_key(&prepare.name);
                let entry = (!known).then(|| text.to_owned());
                self.statements.insert(prepare.name.clone(), entry);
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
        match self.statements.get(name) {
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
