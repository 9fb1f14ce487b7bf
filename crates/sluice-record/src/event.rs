//! The typed events of a session recording.
//!
//! One enum for every protocol: database sessions use statements and rows, terminal sessions use input/output
//! and resizes. Events describe what the client *saw* (rows as delivered, after masking), because the recording
//! is what an auditor replays and must never hold more than the user was allowed to see.

use serde::{Deserialize, Serialize};
use sluice_model::{ConnectionId, Protocol, SessionId, TokenId, UserId};

/// Something that happened in a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// The first event of every recording.
    SessionOpened(SessionOpened),
    /// A statement (SQL, shell command, API call) and the policy's verdict on it.
    Statement(Statement),
    /// Result rows as delivered to the client (masked), up to the per-statement cap.
    ResultRows(ResultRows),
    /// Rows delivered beyond the per-statement cap: counted, not stored.
    RowsOmitted(RowsOmitted),
    /// A statement completed on the target.
    CommandComplete(CommandComplete),
    /// An error reported to the client.
    Error(ErrorEvent),
    /// A notice or warning passed to the client.
    Notice(NoticeEvent),
    /// A just-in-time approval was decided.
    Approval(Approval),
    /// Bytes the client typed (terminal sessions).
    TerminalInput(TerminalData),
    /// Bytes shown to the client (terminal sessions).
    TerminalOutput(TerminalData),
    /// The client's terminal changed size.
    WindowResize(WindowSize),
    /// The remote command or shell exited.
    ExitStatus {
        /// Exit code.
        code: i32,
    },
    /// A file moved through the session (scp/sftp, COPY to a file, ...).
    FileTransfer(FileTransfer),
    /// The last event of a complete recording.
    SessionClosed(SessionClosed),
}

/// Who opened the session, to what, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionOpened {
    /// The session.
    pub session_id: SessionId,
    /// The authenticated identity.
    pub identity: Identity,
    /// The target connection.
    pub connection_id: ConnectionId,
    /// The connection's name as the user addressed it.
    pub connection: String,
    /// Wire protocol.
    pub protocol: Protocol,
    /// Client socket address (`ip:port`).
    pub client_addr: String,
    /// TLS on the client leg, if any.
    pub tls: Option<TlsInfo>,
}

/// The identity a session runs as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// User id.
    pub user_id: UserId,
    /// User name.
    pub user: String,
    /// Groups at the time of login.
    pub groups: Vec<String>,
    /// The API token used, if the user authenticated with one.
    pub token_id: Option<TokenId>,
}

/// The negotiated TLS parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsInfo {
    /// e.g. `TLSv1.3`.
    pub version: String,
    /// e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
}

/// The policy's verdict on a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Sent to the target.
    Allowed,
    /// Sent to the target; results masked.
    AllowedMasked,
    /// Refused.
    Denied,
    /// Held for approval.
    PendingApproval,
}

/// A statement and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// 0-based index of the statement in the session; later events refer to it.
    pub index: u64,
    /// The statement text as received.
    pub text: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The rule that decided, if any.
    pub rule: Option<String>,
    /// Time spent deciding, in microseconds.
    pub decision_us: u64,
}

/// A batch of result rows of one statement, as delivered (masked). `None` is SQL NULL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultRows {
    /// The statement index.
    pub statement: u64,
    /// Column names, in the first batch of a result set only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Rows of text values.
    pub rows: Vec<Vec<Option<String>>>,
}

/// Rows beyond the per-statement cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowsOmitted {
    /// The statement index.
    pub statement: u64,
    /// How many rows were delivered but not recorded.
    pub count: u64,
}

/// A completed statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandComplete {
    /// The statement index.
    pub statement: u64,
    /// The command tag (`SELECT 3`, `INSERT 0 1`).
    pub tag: String,
    /// Rows returned or affected, when the command reports it.
    pub rows: Option<u64>,
    /// Wall time from sending to completion, in microseconds. When the target was still answering an earlier
    /// statement (pipelined, or one Query holding several), from the end of that one's result instead.
    pub duration_us: u64,
    /// The values bound to this execution's parameters (`$1`, `$2`, ...; `None` for NULL) as the gateway shows
    /// them: masked like statement texts and cut to 1,000 characters; binary-format values decoded by their type
    /// when the gateway knows it (else `<binary, N bytes>`; `<masked>` for a number it would mask). Absent when
    /// nothing was bound (every simple Query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<Option<String>>>,
    /// The result's last rows, when they reached the client in the same response as this completion and every
    /// row of the result was recorded: carried here instead of in a `result_rows` record before it. Most
    /// statements return a few rows, and a record costs a serialisation, a hash and bytes on disk on the data
    /// path; folding saves one per statement. Readers treat it exactly like a `result_rows` record of the same
    /// statement placed just before this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rows: Option<RowBatch>,
    /// The statement itself, when it had not been written yet as this completion was recorded (the usual case:
    /// a statement's record reaches the file with the response to it): carried here instead of in a
    /// `statement` record before it, which saves a record per statement on the data path. Readers treat it
    /// exactly like a `statement` record placed before this one, `duration_us` earlier (see
    /// [`Event::unfold`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<Statement>,
}

/// Rows folded into a [`CommandComplete`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowBatch {
    /// Column names, when no earlier batch of the result carried them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Rows of text values (`None` is SQL NULL).
    pub rows: Vec<Vec<Option<String>>>,
}

impl Event {
    /// The events this one stands for, in order: a completion carrying its statement ([`CommandComplete::started`])
    /// is that statement followed by the completion; anything else is itself. Rows folded into a completion stay
    /// there ([`CommandComplete::folded_rows`]).
    pub fn unfold(self) -> Vec<Event> {
        match self {
            Event::CommandComplete(CommandComplete {
                started: Some(statement),
                statement: index,
                tag,
                rows,
                duration_us,
                params,
                last_rows,
            }) => vec![
                Event::Statement(statement),
                Event::CommandComplete(CommandComplete {
                    statement: index,
                    tag,
                    rows,
                    duration_us,
                    params,
                    last_rows,
                    started: None,
                }),
            ],
            other => vec![other],
        }
    }
}

impl CommandComplete {
    /// The rows folded into this completion as the `result_rows` record they stand for.
    pub fn folded_rows(&self) -> Option<ResultRows> {
        self.last_rows.as_ref().map(|batch| ResultRows {
            statement: self.statement,
            columns: batch.columns.clone(),
            rows: batch.rows.clone(),
        })
    }
}

/// An error shown to the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorEvent {
    /// The statement index, if the error belongs to one.
    pub statement: Option<u64>,
    /// Protocol error code (SQLSTATE for PostgreSQL).
    pub code: Option<String>,
    /// The message as shown (masked).
    pub message: String,
    /// Whether it ended the session.
    pub fatal: bool,
    /// The values bound to the execution that failed (extended protocol), shown as in
    /// [`CommandComplete::params`]: what a failed `UPDATE ... SET x = $1` tried to write is in the recording
    /// too. Absent when nothing was bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<Option<String>>>,
}

/// A notice shown to the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeEvent {
    /// Severity (`NOTICE`, `WARNING`, ...).
    pub severity: String,
    /// The message as shown (masked).
    pub message: String,
}

/// How an approval ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalOutcome {
    /// Granted by a reviewer.
    Granted,
    /// Rejected by a reviewer.
    Rejected,
    /// Nobody decided in time.
    Expired,
}

/// An approval decision for a held statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The statement index.
    pub statement: u64,
    /// The review's id.
    pub review_id: String,
    /// The outcome.
    pub outcome: ApprovalOutcome,
    /// Who decided (absent when expired).
    pub reviewer: Option<String>,
}

/// Terminal bytes. Stored base64-encoded: terminal streams are not guaranteed to be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalData {
    /// The raw bytes.
    #[serde(with = "crate::base64_bytes")]
    pub data: Vec<u8>,
}

/// A terminal size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSize {
    /// Columns.
    pub width: u16,
    /// Rows.
    pub height: u16,
}

/// Direction of a file transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the client to the target.
    Upload,
    /// From the target to the client.
    Download,
}

/// A file transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTransfer {
    /// Direction.
    pub direction: Direction,
    /// Path on the target.
    pub path: String,
    /// Bytes transferred.
    pub bytes: u64,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionClosed {
    /// Why (`client disconnected`, `target closed`, `shutdown`, an error message).
    pub reason: String,
    /// Bytes received from the client.
    pub bytes_from_client: u64,
    /// Bytes sent to the client.
    pub bytes_to_client: u64,
}

/// Decides which result rows of a statement are recorded: the first `cap` rows are, the rest are only counted.
///
/// The proxy asks [`RowCap::admit`] for each delivered row and, when the statement completes, emits
/// [`RowCap::omitted`] as a [`RowsOmitted`] event if it is non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowCap {
    cap: u64,
    seen: u64,
}

impl RowCap {
    /// A fresh budget of `cap` rows.
    pub fn new(cap: u64) -> Self {
        RowCap { cap, seen: 0 }
    }

    /// Counts one row; `true` if it should be recorded.
    pub fn admit(&mut self) -> bool {
        self.seen = self.seen.saturating_add(1);
        self.seen <= self.cap
    }

    /// Rows counted beyond the cap.
    pub fn omitted(&self) -> u64 {
        self.seen.saturating_sub(self.cap)
    }
}
