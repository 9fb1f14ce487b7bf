//! One session channel, client to target: requests are forwarded (exec commands after the policy allowed them),
//! data is relayed both ways and recorded, replies to requests come back from the target in order.
//!
//! The channel's kind is set by its first request: an exec command, an interactive shell (usually after a PTY
//! request), or the `sftp` subsystem. Terminal bytes of shells and exec commands are recorded as they pass
//! (`TerminalInput`/`TerminalOutput`); SFTP sessions record each file operation instead (see [`crate::sftp`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use russh::server::{self, Msg as ServerMsg};
use russh::{client, Channel, ChannelMsg, ChannelReadHalf};
use sluice_mask::StreamMasker;
use sluice_policy::Decision;
use sluice_record::{Approval, ApprovalOutcome, Event, NoticeEvent, TerminalData, WindowSize};

use crate::judge::Judged;
use crate::lines::{LineEditor, LineEvent};
use crate::outbox::{self, Outbox, ToClient, ToTarget};
use crate::review::{self, Begin, End, ReviewContext};
use crate::session::Ready;
use crate::sftp::SftpWatcher;
use crate::SshError;

/// Exit status reported for a command sluice refused to run.
pub const REFUSED_EXIT_STATUS: u32 = 126;
/// How long masked output may be held back waiting for the rest of a possible secret.
const MASK_FLUSH_AFTER: Duration = Duration::from_millis(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No shell, exec or subsystem request yet.
    Pending,
    Exec,
    Shell,
    Sftp,
}

/// A running session channel. Reads both sides in one loop; everything it sends goes through the side's
/// [`Outbox`] (see [`crate::outbox`] for why sends never wait inline).
struct Relay {
    client: ChannelReadHalf,
    to_client: Outbox<ToClient>,
    target: ChannelReadHalf,
    to_target: Outbox<ToTarget>,
    ready: Arc<Ready>,
    kind: Kind,
    pty: bool,
    /// Masks stdout when the policy masks the session.
    masker: Option<StreamMasker>,
    /// Masks stderr (its own state: a secret split across stdout and stderr chunks is not one secret).
    err_masker: Option<StreamMasker>,
    lines: Option<LineEditor>,
    sftp: Option<SftpWatcher>,
    /// Client messages that arrived while a command was held for review, handled after it.
    pending: VecDeque<ChannelMsg>,
}

/// How a held command ends.
enum Held {
    /// Run it.
    Run,
    /// Refuse it with this message.
    Refuse(String),
    /// The client left while it was held (the review is cancelled).
    Gone,
}

/// Runs a session channel to its end. Errors are reported on the client's stderr when it can still hear them.
pub async fn run(client: Channel<ServerMsg>, server: server::Handle, ready: Arc<Ready>) {
    let id = client.id();
    let target = match open_target(&ready).await {
        Ok(target) => target,
        Err(error) => {
            refuse_channel(client, &server, &error.to_string()).await;
            return;
        }
    };
    let masker = ready.judge.output_masker().map(|m| m.stream());
    let err_masker = ready.judge.output_masker().map(|m| m.stream());
    let (client, client_write) = client.split();
    let (target, target_write) = target.split();
    let mut relay = Relay {
        client,
        to_client: outbox::to_client(client_write, server),
        target,
        to_target: outbox::to_target(target_write),
        ready,
        kind: Kind::Pending,
        pty: false,
        masker,
        err_masker,
        lines: None,
        sftp: None,
        pending: VecDeque::new(),
    };
    if let Err(error) = relay.run().await {
        tracing::info!(channel = ?id, %error, "SSH channel ended with an error");
        let to_client = &relay.to_client;
        let _ = to_client
            .send(ToClient::ExtendedData(1, Bytes::from(format!("\r\n{error}\r\n"))))
            .await;
        let _ = to_client.send(ToClient::ExitStatus(255)).await;
        let _ = to_client.send(ToClient::Eof).await;
        let _ = to_client.send(ToClient::Close).await;
    }
    // Transfers still open (a client that disconnected mid-transfer) are recorded with what had passed.
    if let Some(sftp) = relay.sftp.as_mut() {
        for event in sftp.finish() {
            if let Err(error) = relay.ready.log.append_durable(&Event::FileTransfer(event)) {
                tracing::error!(%error, "could not record an unfinished transfer");
            }
        }
    }
    let _ = relay.to_target.send(ToTarget::Close).await;
    let Relay {
        to_client, to_target, ..
    } = relay;
    tokio::join!(to_client.finish(), to_target.finish());
}

async fn open_target(ready: &Ready) -> Result<Channel<client::Msg>, SshError> {
    let handle = ready.target().await?;
    Ok(handle.channel_open_session().await?)
}

/// The target is unreachable (or refused): answer the first request with success so the client shows the message,
/// then end the channel with a non-zero status.
async fn refuse_channel(mut client: Channel<ServerMsg>, server: &server::Handle, message: &str) {
    tracing::info!(error = message, "SSH channel refused");
    while let Some(msg) = client.wait().await {
        match msg {
            ChannelMsg::Exec { .. }
            | ChannelMsg::RequestShell { .. }
            | ChannelMsg::RequestSubsystem { .. } => {
                let _ = server.channel_success(client.id()).await;
                break;
            }
            ChannelMsg::RequestPty { .. } => {
                let _ = server.channel_success(client.id()).await;
            }
            ChannelMsg::Close | ChannelMsg::Eof => break,
            _ => {}
        }
    }
    let _ = client
        .extended_data_bytes(1, Bytes::from(format!("{message}\r\n")))
        .await;
    let _ = client.exit_status(255).await;
    let _ = client.eof().await;
    let _ = client.close().await;
}

impl Relay {
    async fn run(&mut self) -> Result<(), SshError> {
        let mut flush_at: Option<tokio::time::Instant> = None;
        loop {
            while let Some(msg) = self.pending.pop_front() {
                if !self.on_client(msg).await? {
                    return Ok(());
                }
            }
            let deadline = flush_at;
            // A side is read only while the outbox its messages feed has room (backpressure without waiting).
            let read_client = self.to_target.has_room();
            let read_target = self.to_client.has_room();
            tokio::select! {
                () = self.to_target.room(), if !read_client => {}
                () = self.to_client.room(), if !read_target => {}
                msg = self.client.wait(), if read_client => match msg {
                    Some(msg) => {
                        if !self.on_client(msg).await? {
                            return Ok(());
                        }
                    }
                    None => return Ok(()),
                },
                msg = self.target.wait(), if read_target => match msg {
                    Some(msg) => {
                        if !self.on_target(msg).await? {
                            return Ok(());
                        }
                        let held_back = [&self.masker, &self.err_masker]
                            .into_iter()
                            .flatten()
                            .any(|m| m.held_back() > 0);
                        flush_at = held_back.then(|| tokio::time::Instant::now() + MASK_FLUSH_AFTER);
                    }
                    None => {
                        self.to_client
                            .send(ToClient::ExtendedData(1, Bytes::from_static(b"\r\nsluice: the target closed the connection\r\n")))
                            .await?;
                        self.to_client.send(ToClient::ExitStatus(255)).await?;
                        self.to_client.send(ToClient::Eof).await?;
                        self.to_client.send(ToClient::Close).await?;
                        return Ok(());
                    }
                },
                () = sleep_until(deadline), if deadline.is_some() => {
                    flush_at = None;
                    self.flush_masker().await?;
                }
            }
        }
    }

    /// Handles one message from the client; `false` ends the channel.
    async fn on_client(&mut self, msg: ChannelMsg) -> Result<bool, SshError> {
        let log = &self.ready.log;
        match msg {
            ChannelMsg::RequestPty {
                term,
                col_width,
                row_height,
                pix_width,
                pix_height,
                terminal_modes,
                ..
            } => {
                self.pty = true;
                log.append(&Event::WindowResize(window(col_width, row_height)))?;
                self.to_target
                    .send(ToTarget::Pty {
                        term,
                        col_width,
                        row_height,
                        pix_width,
                        pix_height,
                        terminal_modes,
                    })
                    .await?;
            }
            ChannelMsg::SetEnv {
                variable_name,
                variable_value,
                ..
            } => {
                self.to_target
                    .send(ToTarget::Env {
                        name: variable_name,
                        value: variable_value,
                    })
                    .await?;
            }
            ChannelMsg::RequestShell { .. } => {
                if self.ready.options.exec_only {
                    return self
                        .refuse_request("sluice: this connection allows commands only (ssh HOST 'command'), not interactive shells.")
                        .await;
                }
                self.kind = Kind::Shell;
                if self.pty {
                    self.lines = Some(LineEditor::default());
                }
                self.to_target.send(ToTarget::Shell).await?;
            }
            ChannelMsg::Exec { command, .. } => {
                let text = String::from_utf8_lossy(&command).into_owned();
                let judged = self.ready.judge.command(&text, log)?;
                if !judged.allowed() {
                    let held = match (&judged.decision, self.ready.reviews.clone()) {
                        (Decision::Review { .. }, Some(ctx)) => self.hold(&ctx, &judged, &text).await?,
                        _ => Held::Refuse(judged.refusal()),
                    };
                    match held {
                        Held::Run => {}
                        Held::Refuse(message) => return self.refuse_request(&message).await,
                        Held::Gone => {
                            self.to_target.send(ToTarget::Close).await?;
                            return Ok(false);
                        }
                    }
                }
                self.kind = Kind::Exec;
                self.to_target.send(ToTarget::Exec(command)).await?;
            }
            ChannelMsg::RequestSubsystem { name, .. } => {
                if name != "sftp" || self.ready.options.exec_only {
                    self.to_client.send(ToClient::Failure).await?;
                    return Ok(true);
                }
                self.kind = Kind::Sftp;
                self.sftp = Some(SftpWatcher::default());
                self.to_target.send(ToTarget::Subsystem(name)).await?;
            }
            ChannelMsg::RequestX11 { .. } => {
                self.to_client.send(ToClient::Failure).await?;
            }
            ChannelMsg::WindowChange {
                col_width,
                row_height,
                pix_width,
                pix_height,
            } => {
                log.append(&Event::WindowResize(window(col_width, row_height)))?;
                self.to_target
                    .send(ToTarget::WindowChange {
                        col_width,
                        row_height,
                        pix_width,
                        pix_height,
                    })
                    .await?;
            }
            ChannelMsg::Signal { signal } => {
                self.to_target.send(ToTarget::Signal(signal)).await?;
            }
            ChannelMsg::Data { data } => {
                log.bytes_client
                    .fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
                self.input(data).await?;
            }
            ChannelMsg::Eof => self.to_target.send(ToTarget::Eof).await?,
            ChannelMsg::Close => {
                self.to_target.send(ToTarget::Close).await?;
                return Ok(false);
            }
            // Agent forwarding was already refused by the handler; nothing else is expected from a client.
            _ => {}
        }
        Ok(true)
    }

    /// Client bytes: recorded, checked line by line in interactive shells, forwarded.
    async fn input(&mut self, data: Bytes) -> Result<(), SshError> {
        let log = Arc::clone(&self.ready.log);
        match self.kind {
            Kind::Sftp => {
                if let Some(sftp) = self.sftp.as_mut() {
                    for event in sftp.client_bytes(&data) {
                        log.append_durable(&Event::FileTransfer(event))?;
                    }
                }
                self.to_target.send(ToTarget::Data(data)).await?;
            }
            Kind::Shell if self.lines.is_some() => {
                log.append(&Event::TerminalInput(TerminalData { data: data.to_vec() }))?;
                let mut pass = Vec::with_capacity(data.len());
                for (at, &byte) in data.iter().enumerate() {
                    let event = match self.lines.as_mut() {
                        Some(lines) => lines.push(byte),
                        None => LineEvent::Pass,
                    };
                    match event {
                        LineEvent::Pass => pass.push(byte),
                        LineEvent::Enter(line) => {
                            let judged = self.ready.judge.command(&line, &log)?;
                            let mut refusal = judged.refusal();
                            if let (Decision::Review { .. }, Some(ctx)) =
                                (&judged.decision, self.ready.reviews.clone())
                            {
                                // Held: what was typed so far reaches the shell, the Enter waits for the decision
                                // and the rest of this chunk (and anything typed meanwhile) follows it.
                                if !pass.is_empty() {
                                    self.to_target
                                        .send(ToTarget::Data(Bytes::from(std::mem::take(&mut pass))))
                                        .await?;
                                }
                                let rest = data.slice(at.saturating_add(1)..);
                                let held = self.hold(&ctx, &judged, &line).await?;
                                if !rest.is_empty() {
                                    self.pending.push_front(ChannelMsg::Data { data: rest });
                                }
                                match held {
                                    Held::Run => {
                                        self.to_target
                                            .send(ToTarget::Data(Bytes::from(vec![byte])))
                                            .await?;
                                        return Ok(());
                                    }
                                    Held::Gone => {
                                        self.pending.clear();
                                        self.to_target.send(ToTarget::Close).await?;
                                        return Ok(());
                                    }
                                    Held::Refuse(message) => {
                                        refusal = message;
                                        // Type-ahead was typed for a command that did not run.
                                        self.pending.retain(|m| !matches!(m, ChannelMsg::Data { .. }));
                                    }
                                }
                            } else if judged.allowed() {
                                pass.push(byte);
                                continue;
                            }
                            {
                                // Cancel the typed line at the shell (^U kills it, ^C gets a fresh prompt) and tell
                                // the user why, in their terminal.
                                pass.extend_from_slice(b"\x15\x03");
                                self.to_target
                                    .send(ToTarget::Data(Bytes::from(std::mem::take(&mut pass))))
                                    .await?;
                                let message = format!("\r\n{refusal}\r\n");
                                log.append(&Event::TerminalOutput(TerminalData {
                                    data: message.clone().into_bytes(),
                                }))?;
                                self.to_client.send(ToClient::Data(Bytes::from(message))).await?;
                            }
                        }
                    }
                }
                if !pass.is_empty() {
                    self.to_target.send(ToTarget::Data(Bytes::from(pass))).await?;
                }
            }
            _ => {
                log.append(&Event::TerminalInput(TerminalData { data: data.to_vec() }))?;
                self.to_target.send(ToTarget::Data(data)).await?;
            }
        }
        Ok(())
    }

    /// Handles one message from the target; `false` ends the channel.
    async fn on_target(&mut self, msg: ChannelMsg) -> Result<bool, SshError> {
        let log = Arc::clone(&self.ready.log);
        match msg {
            ChannelMsg::Data { data } => {
                log.bytes_target
                    .fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
                if let Some(lines) = self.lines.as_mut() {
                    lines.saw_output(&data);
                }
                if self.kind == Kind::Sftp {
                    if let Some(sftp) = self.sftp.as_mut() {
                        for event in sftp.target_bytes(&data) {
                            log.append_durable(&Event::FileTransfer(event))?;
                        }
                    }
                    self.to_client.send(ToClient::Data(data)).await?;
                } else {
                    let out = self.mask(data);
                    self.output(None, out).await?;
                }
            }
            ChannelMsg::ExtendedData { data, ext } => {
                log.bytes_target
                    .fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
                let out = match self.err_masker.as_mut() {
                    // stderr (the only extended data type SSH defines) of a masked session.
                    Some(masker) if ext == 1 && self.kind != Kind::Sftp => {
                        let mut out = Vec::with_capacity(data.len());
                        masker.push(&data, &mut out);
                        Bytes::from(out)
                    }
                    _ => data,
                };
                self.output(Some(ext), out).await?;
            }
            ChannelMsg::ExitStatus { exit_status } => {
                self.flush_masker().await?;
                log.append_durable(&Event::ExitStatus {
                    code: i32::try_from(exit_status).unwrap_or(i32::MAX),
                })?;
                self.to_client.send(ToClient::ExitStatus(exit_status)).await?;
            }
            ChannelMsg::ExitSignal {
                signal_name,
                core_dumped,
                error_message,
                lang_tag,
            } => {
                self.flush_masker().await?;
                log.append_durable(&Event::Notice(NoticeEvent {
                    severity: "EXIT_SIGNAL".to_owned(),
                    message: format!("{signal_name:?}"),
                }))?;
                self.to_client
                    .send(ToClient::ExitSignal {
                        signal_name,
                        core_dumped,
                        error_message,
                        lang_tag,
                    })
                    .await?;
            }
            ChannelMsg::Success => self.to_client.send(ToClient::Success).await?,
            ChannelMsg::Failure => self.to_client.send(ToClient::Failure).await?,
            ChannelMsg::Eof => {
                self.flush_masker().await?;
                self.to_client.send(ToClient::Eof).await?;
            }
            ChannelMsg::Close => {
                self.flush_masker().await?;
                self.to_client.send(ToClient::Close).await?;
                return Ok(false);
            }
            _ => {}
        }
        Ok(true)
    }

    /// Stdout through the session's masker; unmasked sessions pass the bytes on without copying them.
    fn mask(&mut self, data: Bytes) -> Bytes {
        match self.masker.as_mut() {
            Some(masker) => {
                let mut out = Vec::with_capacity(data.len());
                masker.push(&data, &mut out);
                Bytes::from(out)
            }
            None => data,
        }
    }

    /// Releases what the stdout and stderr maskers hold back.
    async fn flush_masker(&mut self) -> Result<(), SshError> {
        if let Some(masker) = self.masker.as_mut() {
            let mut out = Vec::new();
            masker.flush(&mut out);
            self.output(None, Bytes::from(out)).await?;
        }
        if let Some(masker) = self.err_masker.as_mut() {
            let mut out = Vec::new();
            masker.flush(&mut out);
            self.output(Some(1), Bytes::from(out)).await?;
        }
        Ok(())
    }

    /// Records and sends output to the client (stdout, or stderr when `ext` is 1). Output past the session's
    /// `record_output_limit` is sent but not recorded (see [`Relay::output_cap_reached`]).
    async fn output(&mut self, ext: Option<u32>, out: Bytes) -> Result<(), SshError> {
        if out.is_empty() {
            return Ok(());
        }
        if self.ready.options.record_output {
            let share = self.ready.log.share_output(out.len());
            if let Some(recorded) = out.get(..share.record).filter(|r| !r.is_empty()) {
                self.ready.log.append(&Event::TerminalOutput(TerminalData {
                    data: recorded.to_vec(),
                }))?;
            }
            if share.first_cut {
                self.output_cap_reached().await?;
            }
        }
        let op = match ext {
            None => ToClient::Data(out),
            Some(ext) => ToClient::ExtendedData(ext, out),
        };
        self.to_client.send(op).await
    }

    /// The session's recorded output reached the connection's `record_output_limit`: the recording gets a warning
    /// event (synced), the gateway log a warning, and the user a line on stderr. Once per session; output goes on
    /// being relayed, and input, commands, decisions and exit statuses go on being recorded.
    async fn output_cap_reached(&mut self) -> Result<(), SshError> {
        let limit = self.ready.log.output_limit().unwrap_or_default();
        let size = human_bytes(limit);
        self.ready.log.append_durable(&Event::Notice(NoticeEvent {
            severity: "WARNING".to_owned(),
            message: format!(
                "output recording stopped: the session's terminal output reached the connection's \
                 record_output_limit ({size}); later output was relayed but not recorded"
            ),
        }))?;
        tracing::warn!(
            session = %self.ready.log.id,
            connection = %self.ready.who.connection.name,
            limit,
            "SSH session output reached record_output_limit; output no longer recorded"
        );
        let start = if self.pty { "\r\n" } else { "" };
        let text = format!(
            "{start}sluice: output recording stopped after {size} (record_output_limit of connection {}); \
             input and commands are still recorded\r\n",
            self.ready.who.connection.name
        );
        self.to_client
            .send(ToClient::ExtendedData(1, Bytes::from(text)))
            .await
    }

    /// Holds a command the policy sends to review: uses a still-valid grant or creates a review, tells the client on
    /// stderr at once, and waits for the decision while buffering what the client sends meanwhile. A client that
    /// leaves cancels the review. The outcome is recorded (`Approval`, after the command's `Statement`).
    async fn hold(&mut self, ctx: &ReviewContext, judged: &Judged, text: &str) -> Result<Held, SshError> {
        let groups = match &judged.decision {
            Decision::Review { approver_groups, .. } => approver_groups.clone(),
            _ => Vec::new(),
        };
        let ready = Arc::clone(&self.ready);
        let _holding = ready.holding.read().await;
        let ticket = match ctx.begin(&judged.decision, text).await {
            Begin::Granted { review, approver } => {
                self.record_approval(judged.index, &review, ApprovalOutcome::Granted, approver.clone())?;
                self.stderr_line(&review::granted_line(&review, approver.as_deref()))
                    .await?;
                return Ok(Held::Run);
            }
            Begin::Unavailable => return Ok(Held::Refuse(End::Unavailable.refusal())),
            Begin::Waiting(ticket) => ticket,
        };
        let id = ticket.id().to_owned();
        tracing::info!(review = %id, session = %self.ready.log.id, "SSH command held for review");
        self.stderr_line(&review::waiting_line(&id, &groups)).await?;
        let outcome = {
            let wait = ticket.wait(ctx.hold_timeout());
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    outcome = &mut wait => break outcome,
                    msg = self.client.wait() => match msg {
                        Some(ChannelMsg::Close) | None => {
                            if let Err(error) = ticket.cancel(&ctx.actor()).await {
                                tracing::warn!(%error, review = %id, "could not cancel the review");
                            }
                            let (outcome, reviewer) = End::Cancelled { review: id.clone() }.recorded();
                            self.record_approval(judged.index, &id, outcome, reviewer)?;
                            tracing::info!(review = %id, "client left while its command was held; review cancelled");
                            return Ok(Held::Gone);
                        }
                        Some(msg) => self.pending.push_back(msg),
                    },
                }
            }
        };
        let end = ctx.end(&id, outcome);
        let (outcome, reviewer) = end.recorded();
        self.record_approval(judged.index, &id, outcome, reviewer)?;
        if end.approved() {
            Ok(Held::Run)
        } else {
            // Nothing the client sent for the command may reach the target (the channel ends for exec; a shell
            // keeps its window changes, EOF and close).
            self.pending.retain(|m| !matches!(m, ChannelMsg::Data { .. }));
            Ok(Held::Refuse(end.refusal()))
        }
    }

    fn record_approval(
        &self,
        statement: u64,
        review: &str,
        outcome: ApprovalOutcome,
        reviewer: Option<String>,
    ) -> Result<(), SshError> {
        self.ready.log.append_durable(&Event::Approval(Approval {
            statement,
            review_id: review.to_owned(),
            outcome,
            reviewer,
        }))
    }

    /// Writes a line of sluice's own to the client's stderr (and the recording).
    async fn stderr_line(&mut self, line: &str) -> Result<(), SshError> {
        // In a shell the cursor is still after the typed line.
        let start = if self.kind == Kind::Shell { "\r\n" } else { "" };
        let text = format!("{start}{line}\r\n");
        self.ready.log.append(&Event::TerminalOutput(TerminalData {
            data: text.clone().into_bytes(),
        }))?;
        self.to_client
            .send(ToClient::ExtendedData(1, Bytes::from(text)))
            .await
    }

    /// Refuses a shell or exec request: the request "succeeds" so the client reads the message on stderr, then the
    /// channel ends with [`REFUSED_EXIT_STATUS`]. Nothing reaches the target.
    async fn refuse_request(&mut self, message: &str) -> Result<bool, SshError> {
        self.to_client.send(ToClient::Success).await?;
        // A refusal can quote the command (`rm -r of PATH`), which may carry values: masked like the output.
        let text = format!("{message}\r\n");
        let text = match self.ready.judge.output_masker() {
            Some(masker) => masker.mask_text(&text).into_owned(),
            None => text,
        };
        self.ready
            .log
            .append_durable(&Event::TerminalOutput(TerminalData {
                data: text.clone().into_bytes(),
            }))?;
        self.to_client
            .send(ToClient::ExtendedData(1, Bytes::from(text)))
            .await?;
        self.to_client
            .send(ToClient::ExitStatus(REFUSED_EXIT_STATUS))
            .await?;
        self.ready.log.append_durable(&Event::ExitStatus {
            code: REFUSED_EXIT_STATUS as i32,
        })?;
        self.to_client.send(ToClient::Eof).await?;
        self.to_client.send(ToClient::Close).await?;
        Ok(false)
    }
}

/// `64 MiB`, `1.5 GiB`, `512 bytes`.
fn human_bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    let units = [(KIB * KIB * KIB, "GiB"), (KIB * KIB, "MiB"), (KIB, "KiB")];
    for (unit, name) in units {
        if n >= unit {
            return if n % unit == 0 {
                format!("{} {name}", n / unit)
            } else {
                format!("{:.1} {name}", n as f64 / unit as f64)
            };
        }
    }
    format!("{n} bytes")
}

fn window(cols: u32, rows: u32) -> WindowSize {
    WindowSize {
        width: u16::try_from(cols).unwrap_or(u16::MAX),
        height: u16::try_from(rows).unwrap_or(u16::MAX),
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
