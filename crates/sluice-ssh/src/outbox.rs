//! What a session channel's relay sends to each side, in order, through a short bounded queue drained by a task of
//! its own.
//!
//! Why: russh's `data_bytes` waits for the peer's channel window, and the window adjustment that ends the wait is
//! read by the same session loop that delivers the peer's messages into the channel's bounded queue. A relay that
//! awaited a send to the target inline stopped reading the target; once the target's replies (SFTP status packets
//! during an upload) filled that queue, the session loop blocked and never read the adjustment: the transfer
//! stalled for good (seen at `scp` of 64 MiB and more). With an outbox per side the relay keeps reading both sides
//! and stops reading a side only while the outbox its messages go to is full ([`Outbox::has_room`]); that
//! backpressure reaches the peer through russh's channel queue and TCP, never through the relay's own waits.
//!
//! Everything sent to one side goes through its outbox (data, requests, replies, exit status, EOF, close), so the
//! order the relay chose is the order the peer sees.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use russh::server::{self, Msg as ServerMsg};
use russh::{client, ChannelWriteHalf, Pty, Sig};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::SshError;

/// Operations an outbox holds; at 32 KiB per data packet, 1 MiB in flight per direction at most.
const DEPTH: usize = 32;
/// Free slots an outbox needs before the relay reads another message whose handling may send to it (one message
/// causes at most a few sends: typed bytes and a refusal, masked output and a warning, flushes and an exit status).
const HEADROOM: usize = 4;
/// How long a finishing outbox may go without delivering anything before it is abandoned (its peer is gone).
const STUCK_AFTER: Duration = Duration::from_secs(10);

/// Something to send to the client.
#[derive(Debug)]
pub enum ToClient {
    Data(Bytes),
    ExtendedData(u32, Bytes),
    Success,
    Failure,
    ExitStatus(u32),
    ExitSignal {
        signal_name: Sig,
        core_dumped: bool,
        error_message: String,
        lang_tag: String,
    },
    Eof,
    Close,
}

/// Something to send to the target.
#[derive(Debug)]
pub enum ToTarget {
    Data(Bytes),
    Pty {
        term: String,
        col_width: u32,
        row_height: u32,
        pix_width: u32,
        pix_height: u32,
        terminal_modes: Vec<(Pty, u32)>,
    },
    Env {
        name: String,
        value: String,
    },
    Shell,
    Exec(Vec<u8>),
    Subsystem(String),
    WindowChange {
        col_width: u32,
        row_height: u32,
        pix_width: u32,
        pix_height: u32,
    },
    Signal(Sig),
    Eof,
    Close,
}

/// An ordered, bounded queue to one side and the task draining it.
#[derive(Debug)]
pub struct Outbox<T> {
    tx: mpsc::Sender<T>,
    task: JoinHandle<()>,
    /// Operations delivered so far (how [`Outbox::finish`] tells a slow peer from a vanished one).
    delivered: Arc<AtomicU64>,
}

impl<T: Send + 'static> Outbox<T> {
    /// Queues an operation; waits only while the outbox is full. Fails once the side is gone.
    pub async fn send(&self, op: T) -> Result<(), SshError> {
        self.tx
            .send(op)
            .await
            .map_err(|_| SshError::Ssh(russh::Error::SendError))
    }

    /// Whether handling one more message cannot block on this outbox.
    pub fn has_room(&self) -> bool {
        self.tx.capacity() >= HEADROOM
    }

    /// Resolves once [`Outbox::has_room`] holds (or the side is gone).
    pub async fn room(&self) {
        let _ = self.tx.reserve_many(HEADROOM).await;
    }

    /// Delivers what is queued, then ends. A side that takes nothing for [`STUCK_AFTER`] is abandoned.
    pub async fn finish(self) {
        let Outbox {
            tx,
            mut task,
            delivered,
        } = self;
        drop(tx);
        let mut seen = delivered.load(Ordering::Relaxed);
        loop {
            if tokio::time::timeout(STUCK_AFTER, &mut task).await.is_ok() {
                return;
            }
            let now = delivered.load(Ordering::Relaxed);
            if now == seen {
                tracing::debug!("SSH channel side took nothing for {STUCK_AFTER:?}; dropping what is queued");
                task.abort();
                return;
            }
            seen = now;
        }
    }
}

fn spawn<T, F, Fut>(mut apply: F) -> Outbox<T>
where
    T: Send + 'static,
    F: FnMut(T) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), russh::Error>> + Send,
{
    let (tx, mut rx) = mpsc::channel::<T>(DEPTH);
    let delivered = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&delivered);
    let task = tokio::spawn(async move {
        while let Some(op) = rx.recv().await {
            if let Err(error) = apply(op).await {
                // The side is gone; the relay learns it from its next send or from the side's read half.
                tracing::debug!(%error, "SSH channel side stopped taking messages");
                return;
            }
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    Outbox { tx, task, delivered }
}

/// The client's outbox: channel writes, and replies through the session handle.
pub fn to_client(write: ChannelWriteHalf<ServerMsg>, server: server::Handle) -> Outbox<ToClient> {
    let write = Arc::new(write);
    spawn(move |op| {
        let write = Arc::clone(&write);
        let server = server.clone();
        async move {
            let id = write.id();
            let refused = |()| russh::Error::SendError;
            match op {
                ToClient::Data(data) => write.data_bytes(data).await,
                ToClient::ExtendedData(ext, data) => write.extended_data_bytes(ext, data).await,
                ToClient::Success => server.channel_success(id).await.map_err(refused),
                ToClient::Failure => server.channel_failure(id).await.map_err(refused),
                ToClient::ExitStatus(status) => write.exit_status(status).await,
                ToClient::ExitSignal {
                    signal_name,
                    core_dumped,
                    error_message,
                    lang_tag,
                } => server
                    .exit_signal_request(id, signal_name, core_dumped, error_message, lang_tag)
                    .await
                    .map_err(refused),
                ToClient::Eof => write.eof().await,
                ToClient::Close => write.close().await,
            }
        }
    })
}

/// The target's outbox.
pub fn to_target(write: ChannelWriteHalf<client::Msg>) -> Outbox<ToTarget> {
    let write = Arc::new(write);
    spawn(move |op| {
        let write = Arc::clone(&write);
        async move {
            match op {
                ToTarget::Data(data) => write.data_bytes(data).await,
                ToTarget::Pty {
                    term,
                    col_width,
                    row_height,
                    pix_width,
                    pix_height,
                    terminal_modes,
                } => {
                    write
                        .request_pty(
                            true,
                            &term,
                            col_width,
                            row_height,
                            pix_width,
                            pix_height,
                            &terminal_modes,
                        )
                        .await
                }
                ToTarget::Env { name, value } => write.set_env(false, name, value).await,
                ToTarget::Shell => write.request_shell(true).await,
                ToTarget::Exec(command) => write.exec(true, command).await,
                ToTarget::Subsystem(name) => write.request_subsystem(true, name).await,
                ToTarget::WindowChange {
                    col_width,
                    row_height,
                    pix_width,
                    pix_height,
                } => {
                    write
                        .window_change(col_width, row_height, pix_width, pix_height)
                        .await
                }
                ToTarget::Signal(signal) => write.signal(signal).await,
                ToTarget::Eof => write.eof().await,
                ToTarget::Close => write.close().await,
            }
        }
    })
}
