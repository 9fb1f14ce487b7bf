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
}

impl SessionLog {
    /// Creates the recording, writes `SessionOpened` durably, and indexes the session.
    pub async fn open(
        store: &Store,
        recording: &sluice_gateway::RecordingSettings,
        who: &Authorized,
        client_addr: String,
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
