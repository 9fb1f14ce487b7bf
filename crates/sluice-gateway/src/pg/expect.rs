//! What the target will answer, in order: the client-facing half of a session tells the target-facing half, for
//! every message it forwards, which statement the answer belongs to and how to treat it.
//!
//! PostgreSQL answers messages strictly in order, so a queue is enough: the target-facing half pops an entry
//! when the answer that completes it arrives (ParseComplete for a Parse, ReadyForQuery for a Sync or a Query). An
//! error in an extended-protocol batch makes the target skip to the next Sync; the entries in between get no
//! answer and are dropped when the ReadyForQuery arrives.

use std::sync::Arc;
use std::time::Instant;

use sluice_mask::Masker;
use sluice_policy::sql::pg::PrepareUndo;
use sluice_wire_pg::backend::Notice;
use sluice_wire_pg::frontend::Target;
use sluice_wire_pg::Format;

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

/// One value of a Bind as the client sent it (`None`: SQL NULL); the bytes are slices of the client's frame.
#[derive(Debug, Clone)]
pub(crate) struct BoundValue {
    pub format: Format,
    pub value: Option<bytes::Bytes>,
}

impl BoundValue {
    /// The values of `bind` with their formats (none given: all text; one: all of that format).
    pub(crate) fn of(bind: &sluice_wire_pg::frontend::Bind) -> Vec<BoundValue> {
        bind.params
            .iter()
            .enumerate()
            .map(|(i, value)| BoundValue {
                format: match bind.param_formats.as_slice() {
                    [] => Format::Text,
                    [one] => *one,
                    many => many.get(i).copied().unwrap_or(Format::Binary),
                },
                value: value.clone(),
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
