//! Session recordings: typed events, an append-only hash-chained log, its verifier, and asciicast export.
//!
//! * [`Event`]: everything a session can record (identity, statements and verdicts, result rows as delivered,
//!   errors, approvals, terminal I/O, ...).
//! * [`SegmentWriter`]: appends events as JSON lines to `DATA_DIR/recordings/…/<session>.log` (see
//!   [`recording_path`]), each line sealed with `hash = SHA-256(prev_hash || record bytes)`; explicit flush and
//!   `fdatasync` policy; size-based rotation; never rewrites; errors poison the writer so sessions fail closed.
//! * [`Reader`] / [`verify`]: stream records back with every link checked; report the first broken link.
//! * [`replay`] / [`TextReplay`]: a recording shown to a person, in order with timings; [`write_json_lines`]
//!   for scripts.
//! * [`export_asciicast`]: terminal sessions as asciicast v2.

mod asciicast;
mod base64_bytes;
mod chain;
mod error;
mod event;
mod json;
mod layout;
mod replay;
mod segment_file;
mod verify;
mod writer;

pub use asciicast::{export_asciicast, write_asciicast, DEFAULT_SIZE};
pub use chain::{chain_hash, from_hex, to_hex, Hash, Record, GENESIS};
pub use error::RecordError;
pub use event::{
    Approval, ApprovalOutcome, CommandComplete, Direction, ErrorEvent, Event, FileTransfer, Identity,
    NoticeEvent, ResultRows, RowBatch, RowCap, RowsOmitted, SessionClosed, SessionOpened, Statement,
    TerminalData, TlsInfo, Verdict, WindowSize,
};
pub use layout::recording_path;
pub use replay::{replay, write_json_lines, TextReplay};
pub use verify::{verify, BreakKind, BrokenLink, Reader, VerifyReport};
pub use writer::{segment_path, SegmentWriter, Stamp, SyncPolicy, WriterOptions};
