//! The target-facing half of a running session: reads the target's answers, attributes them to statements
//! (see [`super::expect`]), masks rows, COPY output and error texts, swaps sentinel errors for refusals, records
//! what the client is shown, and writes it to the client.
//!
//! Backpressure: answers are read in bounded chunks and the next chunk is only read once the previous output has
//! been written to the client, so a slow client slows the target read and a session holds at most one chunk
//! plus one message. Frames that need no change are forwarded as received.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use sluice_mask::Masker;
use sluice_record::{Event, NoticeEvent};
use sluice_wire_pg::frontend::Target;
use sluice_wire_pg::{BackendDecoder, BackendMessage, Format, Frame, TransactionStatus};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use super::expect::{Expect, ExpectQueue, Handling};
use super::fast_hash::FastMap;
use super::messages::put;
use super::record::Recorder;
use super::results::{self, Column, ColumnSources};
use super::stream::read_some;
use super::upstream::Shared;
use crate::runtime::{Drain, OnWake};
use crate::GatewayError;

mod delivery;

use delivery::{shown_params, Delivery};

/// Rows per recorded batch.
const ROWS_PER_EVENT: usize = 100;
/// Output is written to the client once this much has accumulated, even if more answers are buffered.
const OUT_HIGH_WATER: usize = 64 * 1024;
/// Bytes read from the target at a time.
const READ_CHUNK: usize = 32 * 1024;

/// A prepared statement the target has.
#[derive(Debug, Clone)]
struct Prepared {
    handling: Handling,
    /// Its result columns, once a Describe told us (formats not yet bound: text).
    columns: Option<Arc<[Column]>>,
    /// Its parameter types, once a Describe told us: binary values bound to it are then shown decoded.
    param_types: Option<Arc<[u32]>>,
}

/// A portal the target has.
#[derive(Debug, Clone)]
struct Portal {
    handling: Handling,
    columns: Option<Arc<[Column]>>,
    /// The values bound to it, as recorded with each execution's completion.
    params: Option<Arc<[Option<String>]>>,
}

/// The target-facing half.
pub(crate) struct Downstream<'a, R, W> {
    pub target: &'a mut R,
    pub buf: BytesMut,
    pub decoder: BackendDecoder,
    pub client: &'a mut W,
    pub expect: Arc<ExpectQueue>,
    pub shared: Arc<Shared>,
    pub recorder: Recorder,
    pub drain: Drain,
    /// For notices and errors that belong to no masked statement.
    pub session_masker: Option<Masker>,
    pub row_cap: u64,
    queue: VecDeque<Expect>,
    statements: FastMap<String, Prepared>,
    portals: FastMap<String, Portal>,
    result: Option<Delivery>,
    /// The client has left and a write to it failed: answers still due are recorded, not sent.
    client_unreachable: bool,
    /// When the last result ended: the target answers in order, so the next result cannot have started earlier
    /// (a later statement of a multi-statement Query, an Execute pipelined behind another).
    last_finished: Option<Instant>,
    /// The last RowDescription resolved, with what it was resolved for (whether masked, the statement's tables):
    /// a session repeating one query shape gets byte-identical descriptions, resolved once.
    last_description: Option<Described>,
}

/// A resolved RowDescription and what it was resolved for.
#[derive(Debug)]
struct Described {
    frame: Vec<u8>,
    masked: bool,
    sources: Arc<ColumnSources>,
    columns: Arc<[Column]>,
}

impl<'a, R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Downstream<'a, R, W> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        target: &'a mut R,
        buf: BytesMut,
        decoder: BackendDecoder,
        client: &'a mut W,
        expect: Arc<ExpectQueue>,
        shared: Arc<Shared>,
        recorder: Recorder,
        drain: Drain,
        session_masker: Option<Masker>,
        row_cap: u64,
    ) -> Self {
        Downstream {
            target,
            buf,
            decoder,
            client,
            expect,
            shared,
            recorder,
            drain,
            session_masker,
            row_cap,
            queue: VecDeque::new(),
            statements: FastMap::default(),
            portals: FastMap::default(),
            result: None,
            client_unreachable: false,
            last_finished: None,
            last_description: None,
        }
    }

    pub(crate) async fn run(mut self) -> Result<(), GatewayError> {
        let mut out = BytesMut::with_capacity(OUT_HIGH_WATER);
        // Waited for across the loop and polled only when notified (see `OnWake`): the loop turns at every answer.
        let shared = Arc::clone(&self.shared);
        let mut notices = OnWake::new(shared.held_notices.ready());
        loop {
            // A notice queued by a hold ("running under approval ...") was queued before its statement went to the
            // target, so it goes out before any answer read after it: a client that stops reading at
            // ReadyForQuery (psql -c) must still see it.
            for notice in self.shared.held_notices.take() {
                put(&mut out, &BackendMessage::NoticeResponse(notice));
            }
            let mut ready_idle = false;
            while let Some(frame) = self
                .decoder
                .decode_frame(&mut self.buf)
                .map_err(GatewayError::TargetProtocol)?
            {
                ready_idle |= self.handle(frame, &mut out)?;
                if out.len() >= OUT_HIGH_WATER {
                    self.release(&mut out).await?;
                }
            }
            self.release(&mut out).await?;
            let idle = self.shared.pending.load(Ordering::Acquire) == 0;
            if idle && self.shared.client_done.load(Ordering::Acquire) {
                return Ok(());
            }
            if ready_idle && self.drain.is_draining() && idle {
                return Err(GatewayError::ShuttingDown);
            }
            let n = tokio::select! {
                read = read_some(self.target, &mut self.buf, READ_CHUNK) => read.map_err(GatewayError::TargetIo)?,
                // A held statement's notice (see `review`): written at once, between answers.
                () = &mut notices => {
                    notices.set(shared.held_notices.ready());
                    for notice in self.shared.held_notices.take() {
                        put(&mut out, &BackendMessage::NoticeResponse(notice));
                    }
                    self.release(&mut out).await?;
                    continue;
                }
            };
            if n == 0 {
                // After the client's Terminate the target closes once it has answered everything before it.
                if self.shared.client_done.load(Ordering::Acquire) {
                    return Ok(());
                }
                return Err(GatewayError::TargetClosed);
            }
            self.shared
                .bytes_from_target
                .fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    /// Records what is pending, makes the recording durable, then writes `out` to the client.
    async fn release(&mut self, out: &mut BytesMut) -> Result<(), GatewayError> {
        if out.is_empty() {
            return Ok(());
        }
        self.record_batch()?;
        self.recorder.flush()?;
        if self.client_unreachable {
            out.clear();
            return Ok(());
        }
        let written = async {
            self.client.write_all(out).await?;
            self.client.flush().await
        }
        .await;
        match written {
            Ok(()) => {}
            // A client that has left may still read what was due before its Terminate; if it cannot, the rest
            // is only recorded.
            Err(_) if self.shared.client_done.load(Ordering::Acquire) => {
                self.client_unreachable = true;
                out.clear();
                return Ok(());
            }
            Err(e) => return Err(GatewayError::ClientIo(e)),
        }
        self.shared
            .bytes_to_client
            .fetch_add(out.len() as u64, Ordering::Relaxed);
        out.clear();
        Ok(())
    }

    /// The entry the next answer belongs to. The shared queue is read only when the local one is empty: what it
    /// holds was pushed after everything here, so it cannot come first.
    fn head(&mut self) -> Option<&Expect> {
        if self.queue.is_empty() {
            self.expect.take_into(&mut self.queue);
        }
        self.queue.front()
    }

    fn pop(&mut self) -> Option<Expect> {
        self.head();
        let entry = self.queue.pop_front();
        if entry.is_some() {
            self.shared.pending.fetch_sub(1, Ordering::AcqRel);
        }
        entry
    }

    /// Handles one target message; `true` when it was a ReadyForQuery that left nothing pending.
    fn handle(&mut self, frame: Frame, out: &mut BytesMut) -> Result<bool, GatewayError> {
        let forward = |out: &mut BytesMut, frame: &Frame| out.extend_from_slice(frame.as_bytes());
        let Some(tag) = frame.tag() else {
            return Err(GatewayError::TargetUnexpected("an untagged message"));
        };
        match tag {
            b'D' => self.data_row(&frame, out)?,
            b'd' => self.copy_data(&frame, out)?,
            b'N' => {
                let BackendMessage::NoticeResponse(notice) = parse(&frame)? else {
                    return Err(unexpected());
                };
                let masker = self.current_masker();
                let shown = masker.as_ref().and_then(|m| results::mask_notice(&notice, m));
                let notice = shown.unwrap_or(notice);
                self.recorder.append(&Event::Notice(NoticeEvent {
                    severity: notice.severity().unwrap_or("NOTICE").to_owned(),
                    message: notice.message().unwrap_or_default().to_owned(),
                }))?;
                put(out, &BackendMessage::NoticeResponse(notice));
            }
            b'A' => self.notification(&frame, out)?,
            b't' => {
                let BackendMessage::ParameterDescription(description) = parse(&frame)? else {
                    return Err(unexpected());
                };
                // The answer to a Describe of a prepared statement (its RowDescription or NoData follows).
                if let Some(Expect::Describe {
                    target: Target::Statement,
                    name,
                }) = self.head()
                {
                    let name = name.clone();
                    if let Some(prepared) = self.statements.get_mut(&name) {
                        prepared.param_types = Some(Arc::from(description.types));
                    }
                }
                forward(out, &frame);
            }
            b'S' | b'G' | b'c' | b'V' => forward(out, &frame),
            b'E' => self.error(&frame, out)?,
            b'Z' => {
                let BackendMessage::ReadyForQuery(status) = parse(&frame)? else {
                    return Err(unexpected());
                };
                self.finish_result(None)?;
                // Everything up to the Sync or Query this answers is done (entries after an error got no answer).
                while let Some(entry) = self.pop() {
                    if entry.ends_with_ready() {
                        break;
                    }
                    // Skipped after an error: the target never prepared it.
                    if let Expect::Parse {
                        name,
                        handling,
                        reviewed: true,
                        ..
                    } = &entry
                    {
                        self.shared.parses.report(name, handling.statement, false);
                    }
                }
                self.shared.parses.set_skipping(false);
                if status == TransactionStatus::Idle {
                    // Portals do not outlive a transaction.
                    self.portals.clear();
                }
                forward(out, &frame);
                return Ok(self.queue.is_empty() && self.shared.pending.load(Ordering::Acquire) == 0);
            }
            b'1' => {
                if let Some(Expect::Parse {
                    name,
                    handling,
                    reviewed,
                    declared,
                }) = self.pop()
                {
                    if reviewed {
                        self.shared.parses.report(&name, handling.statement, true);
                    }
                    // Declared types are the ones the target uses for those parameters: an unnamed statement
                    // executed at once, as pgJDBC does, is never described.
                    let param_types = declared.iter().any(|&t| t != 0).then(|| Arc::from(declared));
                    self.statements.insert(
                        name,
                        Prepared {
                            handling,
                            columns: None,
                            param_types,
                        },
                    );
                }
                forward(out, &frame);
            }
            b'2' => {
                if let Some(Expect::Bind {
                    portal,
                    statement,
                    formats,
                    values,
                }) = self.pop()
                {
                    if let Some(prepared) = self.statements.get(&statement) {
                        let params = shown_params(prepared, &values, self.session_masker.as_ref());
                        let columns = prepared
                            .columns
                            .as_ref()
                            .map(|c| results::with_formats(c, &formats));
                        self.portals.insert(
                            portal,
                            Portal {
                                handling: prepared.handling.clone(),
                                columns,
                                params,
                            },
                        );
                    }
                }
                forward(out, &frame);
            }
            b'3' => {
                if let Some(Expect::Close { target, name }) = self.pop() {
                    match target {
                        Target::Statement => self.statements.remove(&name),
                        Target::Portal => self.portals.remove(&name).map(|p| Prepared {
                            handling: p.handling,
                            columns: p.columns,
                            param_types: None,
                        }),
                    };
                }
                forward(out, &frame);
            }
            b'n' => {
                if matches!(self.head(), Some(Expect::Describe { .. })) {
                    self.pop();
                }
                forward(out, &frame);
            }
            b'T' => {
                match self.head() {
                    Some(Expect::Describe { .. }) => {
                        if let Some(Expect::Describe { target, name }) = self.pop() {
                            self.described(target, &name, &frame)?;
                        }
                    }
                    Some(Expect::Query { handling, .. }) => {
                        let handling = handling.clone();
                        self.finish_result(None)?;
                        let columns = self.describe(&frame, handling.masker.as_ref(), &handling.sources)?;
                        self.start_result(&handling, Some(columns), None);
                    }
                    _ => {
                        // Validated even when nobody needs its columns.
                        parse(&frame)?;
                    }
                }
                forward(out, &frame);
            }
            b'C' | b'I' | b's' => {
                let completion = match parse(&frame)? {
                    BackendMessage::CommandComplete(c) => Some(c),
                    _ => None,
                };
                self.ensure_result();
                self.finish_result(completion)?;
                if matches!(self.head(), Some(Expect::Execute { .. })) {
                    self.pop();
                }
                forward(out, &frame);
            }
            b'H' => {
                let BackendMessage::CopyOutResponse(copy) = parse(&frame)? else {
                    return Err(unexpected());
                };
                self.ensure_result();
                if let Some(result) = self.result.as_mut() {
                    result.copy_binary = copy.format == Format::Binary;
                }
                forward(out, &frame);
            }
            b'W' => {
                return Err(GatewayError::Unsupported(
                    "COPY BOTH (replication) is not supported through sluice",
                ))
            }
            _ => return Err(unexpected()),
        }
        Ok(false)
    }

    /// A NOTIFY for a channel this session listens on (LISTEN/NOTIFY passes through): it can arrive at any time,
    /// from any session on the target, so it is masked with the session's masker and recorded like a notice (as
    /// `NOTIFY`, `channel: payload`), as the client is shown it.
    fn notification(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<(), GatewayError> {
        let BackendMessage::NotificationResponse(notification) = parse(frame)? else {
            return Err(unexpected());
        };
        let masked = self
            .session_masker
            .as_ref()
            .and_then(|m| results::mask_notification(&notification, m));
        let shown = masked.as_ref().unwrap_or(&notification);
        let message = format!("{}: {}", shown.channel, shown.payload);
        self.recorder.append(&Event::Notice(NoticeEvent {
            severity: "NOTIFY".to_owned(),
            message,
        }))?;
        match masked {
            Some(m) => put(out, &BackendMessage::NotificationResponse(m)),
            None => out.extend_from_slice(frame.as_bytes()),
        }
        Ok(())
    }

    /// The masker of the statement being answered, else the session's.
    fn current_masker(&mut self) -> Option<Masker> {
        if let Some(r) = &self.result {
            if r.masker.is_some() {
                return r.masker.clone();
            }
        }
        self.session_masker.clone()
    }

    /// The columns of the RowDescription in `frame` with their masks resolved for `masker` and `sources`.
    fn describe(
        &mut self,
        frame: &Frame,
        masker: Option<&Masker>,
        sources: &Arc<ColumnSources>,
    ) -> Result<Arc<[Column]>, GatewayError> {
        if let Some(last) = &self.last_description {
            if last.frame.as_slice() == frame.as_bytes()
                && last.masked == masker.is_some()
                && Arc::ptr_eq(&last.sources, sources)
            {
                return Ok(Arc::clone(&last.columns));
            }
        }
        let BackendMessage::RowDescription(rd) = parse(frame)? else {
            return Err(unexpected());
        };
        let columns = results::describe(&rd, masker, sources);
        self.last_description = Some(Described {
            frame: frame.as_bytes().to_vec(),
            masked: masker.is_some(),
            sources: Arc::clone(sources),
            columns: Arc::clone(&columns),
        });
        Ok(columns)
    }

    fn described(&mut self, target: Target, name: &str, frame: &Frame) -> Result<(), GatewayError> {
        let handling = match target {
            Target::Statement => self.statements.get(name).map(|p| p.handling.clone()),
            Target::Portal => self.portals.get(name).map(|p| p.handling.clone()),
        };
        let Some(handling) = handling else {
            parse(frame)?;
            return Ok(());
        };
        let columns = self.describe(frame, handling.masker.as_ref(), &handling.sources)?;
        match target {
            Target::Statement => {
                if let Some(p) = self.statements.get_mut(name) {
                    p.columns = Some(columns);
                }
            }
            Target::Portal => {
                if let Some(p) = self.portals.get_mut(name) {
                    p.columns = Some(columns);
                }
            }
        }
        Ok(())
    }
}

fn parse(frame: &Frame) -> Result<BackendMessage, GatewayError> {
    BackendMessage::parse(frame).map_err(GatewayError::TargetProtocol)
}

fn unexpected() -> GatewayError {
    GatewayError::TargetUnexpected("a message that does not fit the conversation")
}
