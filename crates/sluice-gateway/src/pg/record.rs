//! The session's recording handle: one hash-chained log per session under `DATA_DIR/recordings`, shared by the
//! two halves of a running session.
//!
//! Recording is on the data path (DESIGN.md invariant 5): events are appended as they happen and the log is
//! flushed before the bytes they describe are written to the client. Any failure poisons the writer and ends the
//! session with an error, never a session that carries on unrecorded.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use sluice_model::SessionId;
use sluice_record::{CommandComplete, Event, RecordError, SegmentWriter, Stamp, Statement};

use crate::deps::RecordingSettings;
use crate::GatewayError;

/// A shared, append-only session log.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    /// `None` once closed.
    writer: Option<SegmentWriter>,
    /// Whether events were appended since the last flush (a flush with nothing new would still `fdatasync`).
    dirty: bool,
    /// The latest statement, not serialised yet, with its time: if its completion is the next event, both go
    /// into one record (`CommandComplete::started`), which saves a serialisation, a hash and ~200 bytes per
    /// statement. Anything else appended, a flush or the close writes it first, so the order of events and
    /// what reaches the file before a response is released stay as if it had been appended at once.
    held: Option<(Statement, Stamp)>,
}

impl State {
    fn writer(&mut self) -> Result<&mut SegmentWriter, RecordError> {
        self.writer.as_mut().ok_or(RecordError::Poisoned)
    }

    /// Writes the held statement, if any, as a record of its own.
    fn release_held(&mut self) -> Result<(), RecordError> {
        if let Some((statement, at)) = self.held.take() {
            self.writer()?.append_stamped(&Event::Statement(statement), at)?;
        }
        Ok(())
    }
}

impl Recorder {
    /// Creates the session's log file; also returns its path, which the sessions index stores.
    pub(crate) fn create(
        settings: &RecordingSettings,
        session: SessionId,
    ) -> Result<(Recorder, PathBuf), GatewayError> {
        let path = sluice_record::recording_path(&settings.data_dir, session, SystemTime::now());
        let writer = SegmentWriter::create(&path, settings.writer)?;
        let recorder = Recorder {
            state: Arc::new(Mutex::new(State {
                writer: Some(writer),
                dirty: false,
                held: None,
            })),
        };
        Ok((recorder, path))
    }

    /// Appends an event (durable at the next [`Recorder::flush`]).
    pub(crate) fn append(&self, event: &Event) -> Result<(), GatewayError> {
        let mut state = self.state.lock().map_err(|_| RecordError::Poisoned)?;
        state.release_held()?;
        state.writer()?.append(event)?;
        state.dirty = true;
        Ok(())
    }

    /// Appends a statement sent to the target; it may be written together with its completion (see
    /// `State::held`).
    pub(crate) fn append_statement(&self, statement: Statement) -> Result<(), GatewayError> {
        let mut state = self.state.lock().map_err(|_| RecordError::Poisoned)?;
        state.release_held()?;
        let now = state.writer()?.stamp();
        state.held = Some((statement, now));
        state.dirty = true;
        Ok(())
    }

    /// Appends a statement's completion, carrying the statement when it is the one held.
    pub(crate) fn append_completion(&self, mut completion: CommandComplete) -> Result<(), GatewayError> {
        let mut state = self.state.lock().map_err(|_| RecordError::Poisoned)?;
        match state.held.take() {
            Some((statement, _)) if statement.index == completion.statement => {
                completion.started = Some(statement);
            }
            other => {
                state.held = other;
                state.release_held()?;
            }
        }
        state.writer()?.append(&Event::CommandComplete(completion))?;
        state.dirty = true;
        Ok(())
    }

    /// Makes everything appended so far durable (per the sync policy). Call before releasing a response.
    pub(crate) fn flush(&self) -> Result<(), GatewayError> {
        let mut state = self.state.lock().map_err(|_| RecordError::Poisoned)?;
        if state.dirty {
            state.release_held()?;
            state.writer()?.flush()?;
            state.dirty = false;
        }
        Ok(())
    }

    /// Appends the closing event and closes the log. Returns the chain's final hash (lower-case hex), which the
    /// sessions index keeps so a recording cut short afterwards can be told from one that ended there; `None` if
    /// the log was already closed.
    pub(crate) fn close(&self, event: &Event) -> Result<Option<String>, GatewayError> {
        let mut state = self.state.lock().map_err(|_| RecordError::Poisoned)?;
        if state.writer.is_none() {
            return Ok(None);
        }
        state.release_held()?;
        let Some(mut writer) = state.writer.take() else {
            return Ok(None);
        };
        writer.append(event)?;
        let head = writer.finish()?;
        Ok(Some(sluice_record::to_hex(&head)))
    }
}
