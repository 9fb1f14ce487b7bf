//! The sessions index: one row per proxied session (who, to which connection, from where, when, how much), pointing
//! at the session's recording.
//!
//! The recording (`sluice-record`) is the evidence; this index is how it is found and how a truncated recording is
//! told from a complete one: closing a session stores the recording's final chain hash, which a recording cut at a
//! record boundary no longer ends with. Opening and closing a session are not control-plane changes, so they write
//! no audit row (the session's own log records them).

use sluice_model::{Protocol, SessionId, TokenId, UserId};
use time::OffsetDateTime;

/// What the gateway knows when a session starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// The session's id (also the recording's file name).
    pub id: SessionId,
    /// Who.
    pub user_id: UserId,
    /// The user's name at the time (kept even if the user is later renamed).
    pub user_name: String,
    /// The API token used to log in, if one was.
    pub token_id: Option<TokenId>,
    /// The connection as the user addressed it.
    pub connection_name: String,
    /// Wire protocol.
    pub protocol: Protocol,
    /// The client's socket address (`ip:port`).
    pub client_addr: String,
    /// Whether the client leg was encrypted.
    pub tls: bool,
    /// Path of the recording's first segment (`sluice_record::recording_path`).
    pub recording_path: String,
    /// When the session started.
    pub started_at: OffsetDateTime,
}

/// Running totals of a session; stored periodically while it runs ([`crate::Store::bump_session`]) and finally
/// when it closes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SessionCounters {
    /// Statements (or commands) the client sent, allowed or not.
    pub statements: u64,
    /// Bytes received from the client.
    pub bytes_client: u64,
    /// Bytes received from the target.
    pub bytes_target: u64,
}

/// How a session ended, as the gateway reports it to [`crate::Store::close_session`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    /// When the session ended.
    pub ended_at: OffsetDateTime,
    /// Statements (or commands) the client sent, allowed or not.
    pub statements: u64,
    /// Bytes received from the client.
    pub bytes_client: u64,
    /// Bytes received from the target.
    pub bytes_target: u64,
    /// Lower-case hex of the recording's last chain hash (`SegmentWriter::finish`), so a verifier can prove the
    /// recording was not cut short after the fact. `None` when the recording could not be finished.
    pub final_hash: Option<String>,
    /// Why the session ended abnormally (client-safe text), if it did.
    pub error: Option<String>,
}

impl SessionSummary {
    /// The counters part of the summary.
    pub fn counters(&self) -> SessionCounters {
        SessionCounters {
            statements: self.statements,
            bytes_client: self.bytes_client,
            bytes_target: self.bytes_target,
        }
    }
}

/// The end of a closed session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionEnd {
    /// When it ended.
    pub ended_at: OffsetDateTime,
    /// Lower-case hex of the recording's last chain hash, when the recording was finished.
    pub final_hash: Option<String>,
    /// Why it ended abnormally, if it did.
    pub error: Option<String>,
}

/// A session as indexed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Who, what, from where, when, and where the recording is.
    pub start: NewSession,
    /// The latest counters (final once the session is closed).
    pub counters: SessionCounters,
    /// `None` while the session runs (or if the gateway stopped without closing it).
    pub end: Option<SessionEnd>,
}

/// Which sessions to list. All conditions must hold; `None` means "any".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFilter {
    /// Only this user's sessions, by id (what authorisation uses: "a user sees only their own").
    pub user_id: Option<UserId>,
    /// Only sessions of the user with this name.
    pub user: Option<String>,
    /// Only sessions to the connection with this name.
    pub connection: Option<String>,
    /// Only sessions started at or after this time.
    pub since: Option<OffsetDateTime>,
    /// At most this many sessions (capped at [`SessionFilter::MAX_LIMIT`]).
    pub limit: u32,
}

impl SessionFilter {
    /// The largest page the store returns, whatever the caller asks for.
    pub const MAX_LIMIT: u32 = 10_000;
}

impl Default for SessionFilter {
    /// The newest 100 sessions.
    fn default() -> Self {
        SessionFilter {
            user_id: None,
            user: None,
            connection: None,
            since: None,
            limit: 100,
        }
    }
}
