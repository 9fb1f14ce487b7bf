//! The client-facing half of a running session: reads the client's messages, asks the policy about statements,
//! forwards what is allowed (raw frames, not re-encoded), puts a failing sentinel in place of what is refused,
//! records statements, and tells the target-facing half what to expect.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use sluice_record::Statement;
use sluice_wire_pg::frontend::{Parse, Query};
use sluice_wire_pg::{Frame, FrontendDecoder, FrontendMessage};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use super::expect::{BoundValue, Expect, ExpectQueue, Handling, SENTINEL_SQL};
use super::messages::{refusal, unsupported_refusal};
use super::record::Recorder;
use super::stream::read_some;
use super::verdict::Judge;
use crate::runtime::{Drain, OnWake};
use crate::GatewayError;

/// Most answers the gateway tracks at once for one session. A client pipelining more without reading answers
/// is either broken or hostile; the bound keeps the session's memory bounded.
pub(crate) const MAX_PENDING: usize = 100_000;
/// How long what was recorded may wait for the answer to it before it is written anyway (see `run`).
const WRITE_RUNNING_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// State shared by the two halves.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Entries pushed and not yet completed.
    pub pending: AtomicUsize,
    pub bytes_from_client: AtomicU64,
    pub bytes_to_client: AtomicU64,
    /// Notices for the client about a held statement (see `review`), written by the target-facing half.
    pub held_notices: super::review::HeldNotices,
    /// Bytes read from the target (before masking), for the sessions index.
    pub bytes_from_target: AtomicU64,
    /// Statements judged so far (allowed or not), for the sessions index.
    pub statements: AtomicU64,
    /// Whether the target prepared the Parses under review, reported by the target-facing half.
    pub parses: super::review::ParseOutcomes,
    /// SQL `PREPARE`s the target answered with an error, reported by the target-facing half and taken back by the
    /// judge before the next statement.
    pub refused_prepares: super::review::RefusedPrepares,
    /// Set when the client is done (Terminate, its connection closed, or a message that ends the session) while
    /// answers were still due: the target-facing half then finishes recording them, sending them only while the
    /// client still reads (see `session::finish_after_client_left`).
    pub client_done: AtomicBool,
}

/// The client-facing half.
pub(crate) struct Upstream<'a, R, W> {
    pub client: &'a mut R,
    pub buf: BytesMut,
    pub decoder: FrontendDecoder,
    pub target: &'a mut W,
    pub expect: Arc<ExpectQueue>,
    pub shared: Arc<Shared>,
    pub judge: Judge,
    pub recorder: Recorder,
    pub drain: Drain,
    /// Next statement index.
    pub next_statement: u64,
    /// Statement texts as recorded: masked with the session's masker, if the policy masks this session (a card
    /// number typed into an INSERT must not end up in the recording any more than one read from a table).
    pub statement_texts: super::shown::StatementTexts,
}

/// Why the client-facing half stopped without an error.
#[derive(Debug)]
pub(crate) enum UpstreamEnd {
    /// The client sent Terminate.
    Terminated,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Upstream<'_, R, W> {
    pub(crate) async fn run(mut self) -> Result<UpstreamEnd, GatewayError> {
        let mut out = BytesMut::with_capacity(16 * 1024);
        // Statements are recorded when sent and reach the file with the answer to them (see `Recorder`). While
        // answers are due, a deadline pushed on each time it passes writes what is recorded anyway, so a live
        // replay shows a long statement and a crash of the gateway does not lose one that was sent. It costs a
        // write per second at most, nothing per statement, and no wake-up while nothing is due.
        // It and the drain signal wait across the loop and are polled only when woken (see `OnWake`): the loop
        // turns at every message.
        let mut write_running = OnWake::new(tokio::time::sleep(WRITE_RUNNING_AFTER));
        let drain = self.drain.clone();
        let mut draining = OnWake::new(async move {
            let mut drain = drain;
            drain.draining().await;
        });
        loop {
            match self.handle_buffered(&mut out).await {
                Ok(None) => {}
                Ok(Some(end)) => {
                    self.send(&mut out).await?;
                    return Ok(end);
                }
                Err(e) => {
                    // The messages before the one that ends the session were judged and recorded, and their
                    // answers are expected: they go to the target, as PostgreSQL would have run them before
                    // failing at the bad one. The session's error stands whatever the target does.
                    let _ = self.send(&mut out).await;
                    return Err(e);
                }
            }
            self.send(&mut out).await?;
            let idle = self.shared.pending.load(Ordering::Acquire) == 0;
            tokio::select! {
                read = read_some(self.client, &mut self.buf, 16 * 1024) => {
                    let n = read.map_err(GatewayError::ClientIo)?;
                    if n == 0 {
                        return Err(GatewayError::ClientClosed);
                    }
                    self.shared.bytes_from_client.fetch_add(n as u64, Ordering::Relaxed);
                }
                () = &mut draining, if idle => return Err(GatewayError::ShuttingDown),
                () = &mut write_running, if !idle => {
                    self.recorder.flush()?;
                    write_running.set(tokio::time::sleep(WRITE_RUNNING_AFTER));
                }
            }
        }
    }

    /// Handles every whole message read so far into `out`; `Some` when the client said goodbye.
    async fn handle_buffered(&mut self, out: &mut BytesMut) -> Result<Option<UpstreamEnd>, GatewayError> {
        while let Some(frame) = self
            .decoder
            .decode_frame(&mut self.buf)
            .map_err(GatewayError::ClientProtocol)?
        {
            if self.hold_if_reviewed(&frame, out).await? {
                continue;
            }
            if self.handle(frame, out)? {
                return Ok(Some(UpstreamEnd::Terminated));
            }
        }
        Ok(None)
    }

    async fn send(&mut self, out: &mut BytesMut) -> Result<(), GatewayError> {
        if !out.is_empty() {
            self.target.write_all(out).await.map_err(GatewayError::TargetIo)?;
            self.target.flush().await.map_err(GatewayError::TargetIo)?;
            out.clear();
        }
        Ok(())
    }

    fn push(&self, entry: Expect) -> Result<(), GatewayError> {
        if self.shared.pending.fetch_add(1, Ordering::AcqRel) >= MAX_PENDING {
            return Err(GatewayError::TooManyPending);
        }
        self.expect.push(entry);
        Ok(())
    }

    /// Handles one client message; `true` when the client said goodbye.
    fn handle(&mut self, frame: Frame, out: &mut BytesMut) -> Result<bool, GatewayError> {
        let Some(tag) = frame.tag() else {
            return Err(GatewayError::ClientUnexpected("a startup packet after startup"));
        };
        let forward = |out: &mut BytesMut, frame: &Frame| out.extend_from_slice(frame.as_bytes());
        match tag {
            b'Q' => {
                let FrontendMessage::Query(query) = parse(&frame)? else {
                    return Err(unexpected());
                };
                let handling = self.judge_statement(&query.sql)?;
                let refused = handling.refusal.is_some();
                self.push(Expect::Query {
                    handling,
                    sent: Instant::now(),
                })?;
                if refused {
                    encode(
                        out,
                        &FrontendMessage::Query(Query {
                            sql: SENTINEL_SQL.to_owned(),
                        }),
                    )?;
                } else {
                    forward(out, &frame);
                }
            }
            b'P' => {
                let FrontendMessage::Parse(parse_msg) = parse(&frame)? else {
                    return Err(unexpected());
                };
                let handling = self.judge_statement(&parse_msg.sql)?;
                let refused = handling.refusal.is_some();
                let name = parse_msg.statement.clone();
                self.judge.parsed(&name);
                self.push(Expect::Parse {
                    name: name.clone(),
                    handling,
                    reviewed: false,
                    declared: parse_msg.param_types,
                })?;
                if refused {
                    let sentinel = Parse {
                        statement: name,
                        sql: SENTINEL_SQL.to_owned(),
                        param_types: Vec::new(),
                    };
                    encode(out, &FrontendMessage::Parse(sentinel))?;
                } else {
                    forward(out, &frame);
                }
            }
            b'B' => {
                let FrontendMessage::Bind(bind) = parse(&frame)? else {
                    return Err(unexpected());
                };
                let values = BoundValue::of(&bind);
                self.push(Expect::Bind {
                    portal: bind.portal,
                    statement: bind.statement,
                    formats: bind.result_formats,
                    values,
                })?;
                forward(out, &frame);
            }
            b'D' => {
                let FrontendMessage::Describe(d) = parse(&frame)? else {
                    return Err(unexpected());
                };
                self.push(Expect::Describe {
                    target: d.target,
                    name: d.name,
                })?;
                forward(out, &frame);
            }
            b'E' => {
                let FrontendMessage::Execute(e) = parse(&frame)? else {
                    return Err(unexpected());
                };
                self.push(Expect::Execute {
                    portal: e.portal,
                    sent: Instant::now(),
                })?;
                forward(out, &frame);
            }
            b'C' => {
                let FrontendMessage::Close(c) = parse(&frame)? else {
                    return Err(unexpected());
                };
                if c.target == sluice_wire_pg::frontend::Target::Statement {
                    self.judge.closed(&c.name);
                }
                self.push(Expect::Close {
                    target: c.target,
                    name: c.name,
                })?;
                forward(out, &frame);
            }
            b'S' => {
                self.push(Expect::Sync)?;
                forward(out, &frame);
            }
            // Flush and the COPY FROM STDIN stream pass through; their answers belong to the current entry.
            b'H' | b'd' | b'c' | b'f' => forward(out, &frame),
            b'F' => {
                // The fast-path function call runs a function by OID: nothing the policy can read. Refused.
                let statement = self.next_index();
                let refusal = unsupported_refusal("the fast-path function call");
                self.record_statement(
                    statement,
                    "<fast-path function call>",
                    sluice_record::Verdict::Denied,
                    Some("function call".to_owned()),
                    0,
                )?;
                let handling = Handling {
                    statement,
                    masker: None,
                    sources: Arc::default(),
                    refusal: Some(refusal),
                    prepare_undo: None,
                };
                self.push(Expect::Query {
                    handling,
                    sent: Instant::now(),
                })?;
                encode(
                    out,
                    &FrontendMessage::Query(Query {
                        sql: SENTINEL_SQL.to_owned(),
                    }),
                )?;
            }
            b'X' => {
                forward(out, &frame);
                return Ok(true);
            }
            _ => return Err(unexpected()),
        }
        Ok(false)
    }

    fn next_index(&mut self) -> u64 {
        let i = self.next_statement;
        self.next_statement += 1;
        self.shared.statements.fetch_add(1, Ordering::Relaxed);
        i
    }

    /// Decides about one statement text and records it; a refusal carries the error to show.
    fn judge_statement(&mut self, sql: &str) -> Result<Handling, GatewayError> {
        let statement = self.next_index();
        for undo in self.shared.refused_prepares.take() {
            self.judge.prepare_refused(&undo);
        }
        let (judgement, decision_us) = self.judge.judge(sql)?;
        self.record_statement(statement, sql, judgement.verdict(), judgement.rule(), decision_us)?;
        let refusal = (!judgement.decision.is_allowed()).then(|| refusal(&judgement.decision, sql));
        let prepare_undo = match refusal {
            None => self.judge.sent(sql, &judgement),
            Some(_) => None,
        };
        Ok(Handling {
            statement,
            masker: judgement.masker.clone(),
            sources: self.judge.sources_for(&judgement),
            refusal,
            prepare_undo,
        })
    }

    fn record_statement(
        &mut self,
        index: u64,
        text: &str,
        verdict: sluice_record::Verdict,
        rule: Option<String>,
        decision_us: u64,
    ) -> Result<(), GatewayError> {
        let text = self.statement_texts.shown(text);
        self.recorder.append_statement(Statement {
            index,
            text,
            verdict,
            rule,
            decision_us,
        })
    }
}

// What `review` needs to hold a statement in place.
impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Upstream<'_, R, W> {
    /// Writes `out` to the target now.
    pub(crate) async fn flush_to_target(&mut self, out: &mut BytesMut) -> Result<(), GatewayError> {
        self.send(out).await
    }

    /// Queues an expected answer.
    pub(crate) fn push_expect(&self, entry: Expect) -> Result<(), GatewayError> {
        self.push(entry)
    }

    /// The next statement index.
    pub(crate) fn next_statement_index(&mut self) -> u64 {
        self.next_index()
    }
}

fn parse(frame: &Frame) -> Result<FrontendMessage, GatewayError> {
    FrontendMessage::parse(frame).map_err(GatewayError::ClientProtocol)
}

fn unexpected() -> GatewayError {
    GatewayError::ClientUnexpected("a message that is not valid after startup")
}

fn encode(out: &mut BytesMut, msg: &FrontendMessage) -> Result<(), GatewayError> {
    msg.encode(out).map_err(GatewayError::ClientProtocol)
}
