//! The result being delivered and the outcome of each statement: rows and COPY data masked on their way to the
//! client and recorded up to the cap, then the completion or the error that ends the statement, recorded with its
//! duration, the values it was executed with and (when nothing came between) its rows and the statement itself.

use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use sluice_mask::Masker;
use sluice_record::{CommandComplete, ErrorEvent, Event, ResultRows, RowBatch, RowCap, RowsOmitted};
use sluice_wire_pg::backend::{CommandComplete as TargetCompletion, Notice};
use sluice_wire_pg::{BackendMessage, Frame};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{parse, unexpected, Downstream, Prepared, ROWS_PER_EVENT};
use crate::pg::expect::{BoundValue, Expect, Handling};
use crate::pg::messages::put;
use crate::pg::results::{self, Column};
use crate::GatewayError;

/// The result set being delivered.
#[derive(Debug)]
pub(super) struct Delivery {
    pub(super) statement: u64,
    pub(super) masker: Option<Masker>,
    pub(super) columns: Option<Arc<[Column]>>,
    pub(super) cap: RowCap,
    pub(super) batch: Vec<Vec<Option<String>>>,
    /// Column names not yet recorded (sent with the first batch).
    pub(super) names: Vec<String>,
    pub(super) started: Instant,
    /// The portal's bound values (extended protocol), recorded with the completion.
    pub(super) params: Option<Arc<[Option<String>]>>,
    /// A COPY TO in binary format under masking cannot be masked: refused when the first data arrives.
    pub(super) copy_binary: bool,
    /// Column rules on the fields of a COPY TO's rows (see `results::copy_fields`).
    pub(super) copy_fields: Option<results::CopyFields>,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Downstream<'_, R, W> {
    /// When the result about to open started at the target, as near as the gateway can tell: when its entry was
    /// sent, or when the result before it ended if that was later. The recorded duration runs from here.
    pub(super) fn result_since(&mut self) -> Instant {
        let sent = match self.head() {
            Some(Expect::Query { sent, .. } | Expect::Execute { sent, .. }) => Some(*sent),
            _ => None,
        };
        match (sent, self.last_finished) {
            (Some(sent), Some(finished)) => sent.max(finished),
            (Some(at), None) | (None, Some(at)) => at,
            (None, None) => Instant::now(),
        }
    }

    pub(super) fn start_result(
        &mut self,
        handling: &Handling,
        columns: Option<Arc<[Column]>>,
        params: Option<Arc<[Option<String>]>>,
    ) {
        let started = self.result_since();
        let names = columns
            .as_ref()
            .map(|c| c.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        self.result = Some(Delivery {
            statement: handling.statement,
            masker: handling.masker.clone(),
            columns,
            cap: RowCap::new(self.row_cap),
            batch: Vec::new(),
            names,
            started,
            params,
            copy_binary: false,
            copy_fields: handling
                .masker
                .as_ref()
                .and_then(|m| handling.sources.copy_fields(m)),
        });
    }

    /// Makes sure a result is open for the entry being answered (an Execute opens one at its first row).
    pub(super) fn ensure_result(&mut self) {
        if self.result.is_some() {
            return;
        }
        let portal = match self.head() {
            Some(Expect::Execute { portal, .. }) => portal.clone(),
            Some(Expect::Query { handling, .. }) => {
                let handling = handling.clone();
                self.start_result(&handling, None, None);
                return;
            }
            _ => return,
        };
        if let Some(p) = self.portals.get(&portal).cloned() {
            self.start_result(&p.handling, p.columns, p.params);
        }
    }

    pub(super) fn data_row(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<(), GatewayError> {
        self.ensure_result();
        let Some(result) = self.result.as_mut() else {
            // A row nobody asked for: forward it unmasked would be a leak if masking applied; mask with the
            // session masker by content instead.
            let BackendMessage::DataRow(row) = parse(frame)? else {
                return Err(unexpected());
            };
            let masked = results::mask_row(row, None, self.session_masker.as_ref(), false)?;
            match masked.frame {
                Some(f) => out.extend_from_slice(&f),
                None => out.extend_from_slice(frame.as_bytes()),
            }
            return Ok(());
        };
        let record = result.cap.admit();
        if result.masker.is_none() && !record {
            out.extend_from_slice(frame.as_bytes());
            return Ok(());
        }
        let BackendMessage::DataRow(row) = parse(frame)? else {
            return Err(unexpected());
        };
        let masked = results::mask_row(row, result.columns.as_deref(), result.masker.as_ref(), record)?;
        match masked.frame {
            Some(f) => out.extend_from_slice(&f),
            None => out.extend_from_slice(frame.as_bytes()),
        }
        if let Some(values) = masked.recorded {
            result.batch.push(values);
            if result.batch.len() >= ROWS_PER_EVENT {
                self.record_batch()?;
            }
        }
        Ok(())
    }

    pub(super) fn copy_data(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<(), GatewayError> {
        self.ensure_result();
        let BackendMessage::CopyData(data) = parse(frame)? else {
            return Err(unexpected());
        };
        let Some(result) = self.result.as_mut() else {
            out.extend_from_slice(frame.as_bytes());
            return Ok(());
        };
        let masked = match &result.masker {
            Some(_) if result.copy_binary => return Err(GatewayError::Unmaskable { type_oid: 0 }),
            Some(m) => {
                let fields = match result.copy_fields.as_mut() {
                    // A row that does not split as the statement says is not guessed at.
                    Some(fields) => fields.mask_row(&data.0, m).map_err(|()| {
                        GatewayError::TargetUnexpected("a COPY row whose fields sluice cannot read")
                    })?,
                    None => None,
                };
                match fields {
                    Some(row) => Some(results::mask_copy(&row, m).unwrap_or(row)),
                    None => results::mask_copy(&data.0, m),
                }
            }
            None => None,
        };
        let shown: &[u8] = masked.as_deref().unwrap_or(&data.0);
        if result.cap.admit() && !result.copy_binary {
            result.batch.push(results::copy_row_for_record(shown));
        }
        match &masked {
            Some(m) => put(
                out,
                &BackendMessage::CopyData(sluice_wire_pg::CopyData(bytes::Bytes::copy_from_slice(m))),
            ),
            None => out.extend_from_slice(frame.as_bytes()),
        }
        if result.batch.len() >= ROWS_PER_EVENT {
            self.record_batch()?;
        }
        Ok(())
    }

    pub(super) fn error(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<(), GatewayError> {
        let BackendMessage::ErrorResponse(notice) = parse(frame)? else {
            return Err(unexpected());
        };
        if let Some(Expect::Query {
            handling: Handling {
                prepare_undo: Some(undo),
                ..
            },
            ..
        }) = self.head()
        {
            // A Query that was one PREPARE prepared nothing: reported before the error reaches the client, so the
            // client's next statement is judged without it.
            let undo = Arc::clone(undo);
            self.shared.refused_prepares.report(undo);
        }
        let (statement, refusal, is_extended) = match self.head() {
            Some(Expect::Query { handling, .. }) => {
                (Some(handling.statement), handling.refusal.clone(), false)
            }
            Some(Expect::Parse { handling, .. } | Expect::Refused { handling }) => {
                (Some(handling.statement), handling.refusal.clone(), true)
            }
            Some(Expect::Sync) | None => (self.result.as_ref().map(|r| r.statement), None, false),
            Some(_) => (self.result.as_ref().map(|r| r.statement), None, true),
        };
        // An Execute that fails before its first row has no result open: the error still belongs to the
        // portal's statement, and the values it was executed with belong in the recording.
        // Likewise a Bind the target refuses (a bad value, or an error planning with the values).
        let open = self.result.as_ref().map(|r| r.params.clone());
        let (statement, params) = match (open, self.head()) {
            (Some(params), _) => (statement, params),
            (None, Some(Expect::Execute { portal, .. })) => {
                let portal = portal.clone();
                match self.portals.get(&portal) {
                    Some(p) => (Some(p.handling.statement), p.params.clone()),
                    None => (statement, None),
                }
            }
            (
                None,
                Some(Expect::Bind {
                    statement: name,
                    values,
                    ..
                }),
            ) => {
                let (name, values) = (name.clone(), values.clone());
                match self.statements.get(&name) {
                    Some(p) => (
                        Some(p.handling.statement),
                        shown_params(p, &values, self.session_masker.as_ref()),
                    ),
                    None => (statement, None),
                }
            }
            (None, _) => (statement, None),
        };
        let masker = self.current_masker();
        self.finish_result(None)?;
        // A refusal is masked like the target's errors: it quotes the statement, which may carry values.
        let shown: Notice = refusal.unwrap_or(notice);
        let shown = masker
            .as_ref()
            .and_then(|m| results::mask_notice(&shown, m))
            .unwrap_or(shown);
        self.recorder.append(&Event::Error(ErrorEvent {
            statement,
            code: shown.sqlstate().map(str::to_owned),
            message: shown.message().unwrap_or_default().to_owned(),
            fatal: matches!(shown.severity(), Some("FATAL" | "PANIC")),
            params: params.as_deref().map(<[_]>::to_vec),
        }))?;
        if is_extended {
            // The target now skips to the Sync; this entry gets no further answer.
            if let Some(Expect::Parse {
                name,
                handling,
                reviewed: true,
                ..
            }) = self.pop()
            {
                self.shared.parses.report(&name, handling.statement, false);
            }
            self.shared.parses.set_skipping(true);
        }
        put(out, &BackendMessage::ErrorResponse(shown));
        Ok(())
    }

    /// Appends the recorded rows of the current result, if any.
    pub(super) fn record_batch(&mut self) -> Result<(), GatewayError> {
        let Some(result) = self.result.as_mut() else {
            return Ok(());
        };
        if result.batch.is_empty() {
            return Ok(());
        }
        let event = Event::ResultRows(ResultRows {
            statement: result.statement,
            columns: std::mem::take(&mut result.names),
            rows: std::mem::take(&mut result.batch),
        });
        self.recorder.append(&event)
    }

    /// Closes the current result: remaining rows, the omitted count, and the completion tag. Rows still pending
    /// go into the completion's record when every row was recorded (one record fewer per statement; the replay
    /// reads them as a batch of their own), else into a batch before the omitted count, in delivery order.
    pub(super) fn finish_result(&mut self, completion: Option<TargetCompletion>) -> Result<(), GatewayError> {
        let fold = completion.is_some() && self.result.as_ref().is_some_and(|r| r.cap.omitted() == 0);
        if !fold {
            self.record_batch()?;
        }
        let Some(mut result) = self.result.take() else {
            return Ok(());
        };
        let finished = Instant::now();
        self.last_finished = Some(finished);
        if result.cap.omitted() > 0 {
            self.recorder.append(&Event::RowsOmitted(RowsOmitted {
                statement: result.statement,
                count: result.cap.omitted(),
            }))?;
        }
        if let Some(completion) = completion {
            self.recorder.append_completion(CommandComplete {
                statement: result.statement,
                rows: completion.rows(),
                tag: completion.tag,
                duration_us: u64::try_from(finished.saturating_duration_since(result.started).as_micros())
                    .unwrap_or(u64::MAX),
                params: result.params.as_deref().map(<[_]>::to_vec),
                last_rows: (!result.batch.is_empty()).then(|| RowBatch {
                    columns: std::mem::take(&mut result.names),
                    rows: std::mem::take(&mut result.batch),
                }),
                started: None,
            })?;
        }
        Ok(())
    }
}

/// Bound values as the recording shows them (see `results::shown_parameter`); `None` when nothing was bound.
pub(super) fn shown_params(
    prepared: &Prepared,
    values: &[BoundValue],
    masker: Option<&Masker>,
) -> Option<Arc<[Option<String>]>> {
    (!values.is_empty()).then(|| {
        let types = prepared.param_types.as_deref().unwrap_or_default();
        values
            .iter()
            .enumerate()
            .map(|(i, v)| results::shown_parameter(v, types.get(i).copied(), masker))
            .collect()
    })
}
