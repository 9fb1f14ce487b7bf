//! What the target will answer, in order: the client-facing half of a session tells the target-facing half, for
//! every message it forwards, which statement the answer belongs to and how to treat it.
//!
//! PostgreSQL answers messages strictly in order, so a queue is enough: the target-facing half pops an entry
//! when the answer that completes it arrives (ParseComplete for a Parse, ReadyForQuery for a Sync or a Query). An
//! error in an extended-protocol batch makes the target skip to the next Sync; the entries in between get no
//! answer and are dropped when the ReadyForQuery arrives.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use sluice_mask::Masker;
use sluice_policy::sql::pg::PrepareUndo;
use sluice_wire_pg::backend::Notice;
use sluice_wire_pg::frontend::Target;
use sluice_wire_pg::Format;

/// The entries the client-facing half has pushed and the target-facing half has not taken yet.
///
/// Both halves run in one task (`session::relay` selects over them), so the lock is never contended, and the
/// target-facing half never waits on the queue: it takes what is there when an answer arrives. A channel did the
/// same with more bookkeeping per entry (its atomics and blocks: about 1,000 instructions per `-M extended`
/// transaction of five entries, under callgrind).
#[derive(Debug, Default)]
pub(crate) struct ExpectQueue(Mutex<VecDeque<Expect>>);

impl ExpectQueue {
    /// Adds an entry behind every entry pushed before.
    pub(crate) fn push(&self, entry: Expect) {
        // Nothing panics while the lock is held, so a poisoned lock still holds a consistent queue.
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(entry);
    }

    /// Moves every entry pushed so far, in order, to the back of `into`.
    pub(crate) fn take_into(&self, into: &mut VecDeque<Expect>) {
        into.append(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// How the answers of one statement are handled.
#[derive(Debug, Clone)]
pub(crate) struct Handling {
    /// Statement index in the session (recording).
    pub statement: u64,
    /// Mask results with this, if the statement was allowed with masking.
    pub masker: Option<Masker>,
    /// What its result columns come from (for column rules).
    pub sources: Arc<super::results::ColumnSources>,
    /// The refusal to show instead of the target's error for the sentinel sent in the statement's place.
    pub refusal: Option<Notice>,
    /// For a Query that is one SQL `PREPARE`: how the judge takes it back if the target answers with an error.
    pub prepare_undo: Option<Arc<PrepareUndo>>,
}

/// One value of a Bind as the client sent it (`None`: SQL NULL).
#[derive(Debug, Clone)]
pub(crate) struct BoundValue {
    pub format: Format,
    pub value: Option<bytes::Bytes>,
}

/// Up to this many bytes of values in all, a Bind's values are copied out of the client's read buffer (see
/// [`BoundValue::of`]).
const COPIED_VALUES: usize = 4096;

impl BoundValue {
    /// The values of `bind` with their formats (none given: all text; one: all of that format).
    ///
    /// The entry holding them waits for the target's BindComplete, while the client-facing half already reads the
    /// client's next bytes into the same buffer: a slice of it kept alive makes that read allocate a fresh buffer
    /// (16 KiB) every time. Small values are copied instead; large ones stay slices, where a copy would cost more
    /// than the buffer.
    pub(crate) fn of(bind: &sluice_wire_pg::frontend::Bind) -> Vec<BoundValue> {
        let total: usize = bind.params.iter().flatten().map(bytes::Bytes::len).sum();
        let copy = total <= COPIED_VALUES;
        bind.params
            .iter()
            .enumerate()
            .map(|(i, value)| BoundValue {
                format: match bind.param_formats.as_slice() {
                    [] => Format::Text,
                    [one] => *one,
                    many => many.get(i).copied().unwrap_or(Format::Binary),
                },
                value: value.as_ref().map(|v| {
                    if copy {
                        bytes::Bytes::copy_from_slice(v)
                    } else {
                        v.clone()
                    }
                }),
            })
            .collect()
    }
}

/// One expected answer.
#[derive(Debug)]
pub(crate) enum Expect {
    /// A simple Query: everything up to ReadyForQuery. `sent`: when it went to the target, where the recorded
    /// duration of its first result starts.
    Query { handling: Handling, sent: Instant },
    /// Parse: ParseComplete (or an error). `reviewed`: a statement the policy sends to review, whose outcome the
    /// target-facing half reports (see `review::ParseOutcomes`).
    Parse {
        name: String,
        handling: Handling,
        reviewed: bool,
        /// The parameter types the Parse declared (0: left to the server). Until a Describe reports the
        /// target's, binary values bound to the statement are shown decoded by these.
        declared: Vec<u32>,
    },
    /// Bind: BindComplete. `values`: what was bound, shown in the recording with each execution's completion
    /// once the target-facing half knows the parameter types (see `results::shown_parameter`).
    Bind {
        portal: String,
        statement: String,
        formats: Vec<Format>,
        values: Vec<BoundValue>,
    },
    /// Describe: [ParameterDescription] RowDescription | NoData.
    Describe { target: Target, name: String },
    /// Execute: rows, then CommandComplete | EmptyQueryResponse | PortalSuspended. `sent` as for `Query`.
    Execute { portal: String, sent: Instant },
    /// Close: CloseComplete.
    Close { target: Target, name: String },
    /// Sync: ReadyForQuery.
    Sync,
    /// An extended-protocol message replaced by one that fails by construction (a Bind of a statement under review
    /// that will not run): its ErrorResponse, shown as `handling.refusal`.
    Refused { handling: Handling },
}

impl Expect {
    /// Whether a ReadyForQuery completes this entry.
    pub(crate) fn ends_with_ready(&self) -> bool {
        matches!(self, Expect::Query { .. } | Expect::Sync)
    }
}

/// Text sent to the target in place of a refused statement: a syntax error by construction, so the target
/// itself fails the statement exactly where it stood — a transaction block goes to the failed state, an implicit
/// transaction is rolled back, an extended batch is skipped to its Sync — and the gateway only swaps the error
/// text for its refusal. No state is emulated, so none can drift from the target's.
pub(crate) const SENTINEL_SQL: &str = "SLUICE_REFUSED_THIS_STATEMENT";

#[cfg(test)]
mod tests {
    use super::*;

    fn sync_or_close(name: &str) -> Expect {
        match name {
            "" => Expect::Sync,
            _ => Expect::Close {
                target: Target::Portal,
                name: name.to_owned(),
            },
        }
    }

    fn names(queue: &VecDeque<Expect>) -> Vec<String> {
        queue
            .iter()
            .map(|e| match e {
                Expect::Close { name, .. } => name.clone(),
                _ => String::new(),
            })
            .collect()
    }

    /// Small values are copied (nothing of the client's buffer is kept), large ones sliced, and each value reads
    /// back as sent, NULLs included.
    #[test]
    fn bound_values_read_back_as_sent() {
        use bytes::Bytes;
        use sluice_wire_pg::frontend::Bind;
        let frame = Bytes::from(vec![b'x'; COPIED_VALUES + 1]);
        let bind = |params: Vec<Option<Bytes>>| Bind {
            portal: String::new(),
            statement: String::new(),
            param_formats: vec![Format::Text, Format::Binary],
            params,
            result_formats: vec![],
        };
        let small = bind(vec![
            Some(frame.slice(0..3)),
            None,
            Some(Bytes::from_static(b"42")),
        ]);
        let values = BoundValue::of(&small);
        let shown: Vec<_> = values.iter().map(|v| v.value.clone()).collect();
        assert_eq!(
            shown,
            [
                Some(Bytes::from_static(b"xxx")),
                None,
                Some(Bytes::from_static(b"42"))
            ]
        );
        assert_eq!(
            values.iter().map(|v| v.format).collect::<Vec<_>>(),
            [Format::Text, Format::Binary, Format::Binary]
        );
        // A copy points outside the client's buffer; a slice points into it.
        let inside = |b: &Bytes| frame.as_ptr_range().contains(&b.as_ptr());
        assert!(!inside(values[0].value.as_ref().unwrap()));
        let large = bind(vec![Some(frame.clone())]);
        let values = BoundValue::of(&large);
        assert_eq!(values[0].value.as_ref(), Some(&frame));
        assert!(inside(values[0].value.as_ref().unwrap()));
    }

    /// Entries come out in the order they were pushed, behind what the taker already holds, and each once.
    #[test]
    fn entries_are_taken_in_push_order_behind_local_ones() {
        let shared = ExpectQueue::default();
        let mut local = VecDeque::from([sync_or_close("a")]);
        shared.push(sync_or_close("b"));
        shared.push(sync_or_close(""));
        shared.take_into(&mut local);
        shared.push(sync_or_close("c"));
        shared.take_into(&mut local);
        shared.take_into(&mut local);
        assert_eq!(names(&local), ["a", "b", "", "c"]);
    }
}
