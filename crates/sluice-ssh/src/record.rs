//! One SSH connection's session log and its row in the sessions index.
//!
//! Everything the session records goes through [`SessionLog`]: events are appended (buffered) before the bytes they
//! describe are forwarded, so the recording is never behind what a side has seen. Durability differs by event:
//! decisions ([`SessionLog::append_durable`]: statements, refusals, forwards, file transfers) are synced before the
//! request reaches the target; terminal bytes are synced by a flush at most every [`FLUSH_INTERVAL`] (an
//! `fdatasync` per keystroke or per output chunk would cap throughput at the disk's sync rate). Any write error
//! poisons the log and the session ends: it never continues unrecorded.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use sluice_model::{Protocol, SessionId};
use sluice_record::{Event, Identity, RecordError, SegmentWriter, SessionClosed, SessionOpened};
use sluice_store::{NewSession, SessionCounters, SessionSummary, Store};
use time::OffsetDateTime;

use crate::login::{Authorized, Credential};
use crate::SshError;

/// How long appended terminal bytes may stay unsynced.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(250);

/// A session's recording and counters, shared by its channels.
#[derive(Debug)]
pub struct SessionLog {
    /// The session's id (also the recording's file name).
    pub id: SessionId,
    writer: Mutex<Option<SegmentWriter>>,
    dirty: AtomicBool,
    store: Store,
    /// Commands and typed lines judged.
    pub statements: AtomicU64,
    /// Bytes received from the client (channel data).
    pub bytes_client: AtomicU64,
    /// Bytes received from the target (channel data).
    pub bytes_target: AtomicU64,
    /// The cap on recorded terminal output.
    output_cap: OutputCap,
}

/// How much of an output chunk the session's output cap lets the recording take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputShare {
    /// Record this many leading bytes of the chunk (all of it below the cap).
    pub record: usize,
    /// This chunk is the first one the cap cut: the caller warns (once per session).
    pub first_cut: bool,
}

impl SessionLog {
    /// Creates the recording, writes `SessionOpened` durably, and indexes the session.
    pub async fn open(
        store: &Store,
        recording: &sluice_gateway::RecordingSettings,
        who: &Authorized,
        client_addr: String,
        output_limit: Option<u64>,
    ) -> Result<Arc<SessionLog>, SshError> {
        let id = SessionId::new();
        let started = SystemTime::now();
        let path = sluice_record::recording_path(&recording.data_dir, id, started);
        let mut writer = SegmentWriter::create(&path, recording.writer)?;
        let token_id = match &who.credential {
            Credential::Token(t) => Some(t.id),
            Credential::Key(_) => None,
        };
        writer.append_durable(&Event::SessionOpened(SessionOpened {
            session_id: id,
            identity: Identity {
                user_id: who.user.id,
                user: who.user.name.clone(),
                groups: who.user.groups.clone(),
                token_id,
            },
            connection_id: who.connection.id,
            connection: who.connection.name.clone(),
            protocol: Protocol::Ssh,
            client_addr: client_addr.clone(),
            tls: None,
        }))?;
        store
            .open_session(NewSession {
                id,
                user_id: who.user.id,
                user_name: who.user.name.clone(),
                token_id,
                connection_name: who.connection.name.clone(),
                protocol: Protocol::Ssh,
                client_addr,
                // The SSH transport is encrypted, though not with TLS; the index's flag means "encrypted leg".
                tls: true,
                recording_path: path.to_string_lossy().into_owned(),
                started_at: OffsetDateTime::now_utc(),
            })
            .await?;
        let log = Arc::new(SessionLog {
            id,
            writer: Mutex::new(Some(writer)),
            dirty: AtomicBool::new(false),
            store: store.clone(),
            statements: AtomicU64::new(0),
            bytes_client: AtomicU64::new(0),
            bytes_target: AtomicU64::new(0),
            output_cap: OutputCap::new(output_limit),
        });
        spawn_flusher(Arc::downgrade(&log));
        Ok(log)
    }

    /// Appends an event (synced within [`FLUSH_INTERVAL`]).
    pub fn append(&self, event: &Event) -> Result<(), SshError> {
        let mut guard = self.writer.lock().map_err(|_| RecordError::Poisoned)?;
        guard.as_mut().ok_or(RecordError::Poisoned)?.append(event)?;
        self.dirty.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Appends an event and syncs the log before returning.
    pub fn append_durable(&self, event: &Event) -> Result<(), SshError> {
        let mut guard = self.writer.lock().map_err(|_| RecordError::Poisoned)?;
        guard
            .as_mut()
            .ok_or(RecordError::Poisoned)?
            .append_durable(event)?;
        self.dirty.store(false, Ordering::Relaxed);
        Ok(())
    }

    /// Counts an output chunk of `len` bytes against the session's output cap (shared by all its channels) and says
    /// how much of it may be recorded.
    pub fn share_output(&self, len: usize) -> OutputShare {
        self.output_cap.share(len)
    }

    /// The cap on recorded output, when there is one.
    pub fn output_limit(&self) -> Option<u64> {
        self.output_cap.limit
    }

    /// Syncs what was appended, if anything.
    pub fn flush(&self) -> Result<(), SshError> {
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        let mut guard = self.writer.lock().map_err(|_| RecordError::Poisoned)?;
        if let Some(writer) = guard.as_mut() {
            writer.flush()?;
        }
        Ok(())
    }

    fn counters(&self) -> SessionCounters {
        SessionCounters {
            statements: self.statements.load(Ordering::Relaxed),
            bytes_client: self.bytes_client.load(Ordering::Relaxed),
            bytes_target: self.bytes_target.load(Ordering::Relaxed),
        }
    }

    /// Appends `SessionClosed`, finishes the recording and closes the index row. Logs failures: the session is
    /// over either way, and the file stays a valid prefix.
    pub async fn close(&self, reason: &str, error: Option<String>) {
        let counters = self.counters();
        let final_hash = {
            let writer = self.writer.lock().ok().and_then(|mut g| g.take());
            writer.and_then(|mut w| {
                let closed = Event::SessionClosed(SessionClosed {
                    reason: reason.to_owned(),
                    bytes_from_client: counters.bytes_client,
                    bytes_to_client: counters.bytes_target,
                });
                match w.append(&closed).and_then(|_| w.finish()) {
                    Ok(hash) => Some(sluice_record::to_hex(&hash)),
                    Err(error) => {
                        tracing::error!(%error, "could not close the session recording");
                        None
                    }
                }
            })
        };
        let summary = SessionSummary {
            ended_at: OffsetDateTime::now_utc(),
            statements: counters.statements,
            bytes_client: counters.bytes_client,
            bytes_target: counters.bytes_target,
            final_hash,
            error,
        };
        if let Err(error) = self.store.close_session(self.id, summary).await {
            tracing::error!(%error, session = %self.id, "could not close the session in the index");
        }
    }
}

/// A session's budget of recorded terminal output, shared by its channels.
#[derive(Debug)]
struct OutputCap {
    /// `None`: no cap.
    limit: Option<u64>,
    /// Bytes recorded so far.
    recorded: AtomicU64,
    /// Set when the first byte was left unrecorded.
    cut: AtomicBool,
}

impl OutputCap {
    fn new(limit: Option<u64>) -> OutputCap {
        OutputCap {
            limit,
            recorded: AtomicU64::new(0),
            cut: AtomicBool::new(false),
        }
    }

    fn share(&self, len: usize) -> OutputShare {
        let Some(limit) = self.limit else {
            return OutputShare {
                record: len,
                first_cut: false,
            };
        };
        let wanted = len as u64;
        let before = match self
            .recorded
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |recorded| {
                (recorded < limit).then(|| recorded.saturating_add(wanted).min(limit))
            }) {
            Ok(before) | Err(before) => before,
        };
        let record = usize::try_from(limit.saturating_sub(before).min(wanted)).unwrap_or(len);
        let first_cut = record < len && !self.cut.swap(true, Ordering::Relaxed);
        OutputShare { record, first_cut }
    }
}

/// Syncs the log every [`FLUSH_INTERVAL`] while it lives; bumps the index counters every few seconds.
fn spawn_flusher(log: std::sync::Weak<SessionLog>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FLUSH_INTERVAL);
        let mut ticks: u32 = 0;
        loop {
            tick.tick().await;
            let Some(log) = log.upgrade() else { return };
            if let Err(error) = log.flush() {
                tracing::error!(%error, "session recording failed");
                return;
            }
            ticks = ticks.wrapping_add(1);
            if ticks % 20 == 0 {
                let _ = log.store.bump_session(log.id, log.counters()).await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::{OutputCap, OutputShare};

    fn share(record: usize, first_cut: bool) -> OutputShare {
        OutputShare { record, first_cut }
    }

    #[test]
    fn output_cap_records_up_to_the_limit_and_reports_the_first_cut_once() {
        let cap = OutputCap::new(Some(10));
        assert_eq!(cap.share(4), share(4, false));
        assert_eq!(cap.share(6), share(6, false));
        // Exactly full: nothing was cut yet. The next byte is the first one left out.
        assert_eq!(cap.share(0), share(0, false));
        assert_eq!(cap.share(3), share(0, true));
        assert_eq!(cap.share(3), share(0, false));
    }

    #[test]
    fn output_cap_splits_the_chunk_that_crosses_the_limit() {
        let cap = OutputCap::new(Some(10));
        assert_eq!(cap.share(7), share(7, false));
        assert_eq!(cap.share(7), share(3, true));
        assert_eq!(cap.share(1), share(0, false));
    }

    #[test]
    fn no_limit_records_everything() {
        let cap = OutputCap::new(None);
        assert_eq!(cap.share(usize::MAX), share(usize::MAX, false));
        assert_eq!(cap.share(5), share(5, false));
    }
}
