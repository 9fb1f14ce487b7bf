//! The protocol-independent session runtime: accept loop, one task per connection, graceful shutdown and drain.
//!
//! A listener accepts until its shutdown future resolves, then stops accepting and raises the [`Drain`] signal so
//! sessions can finish what they are doing (a PostgreSQL session ends at its next idle point with a "shutting
//! down" error), waits up to the drain timeout for them, and aborts what is left.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

mod gate;
mod loops;
pub(crate) use gate::OnWake;
pub use loops::SessionLoops;

/// The drain signal sessions watch: `true` once the gateway is shutting down.
#[derive(Debug, Clone)]
pub struct Drain {
    rx: watch::Receiver<bool>,
}

impl Drain {
    /// A signal that never fires (for tests and one-off sessions).
    pub fn never() -> Drain {
        let (_tx, rx) = watch::channel(false);
        Drain { rx }
    }

    /// Whether shutdown has started.
    pub fn is_draining(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves when shutdown starts (immediately if it already has). Cancel-safe.
    pub async fn draining(&mut self) {
        // An error means the sender is gone without ever signalling (a listener task that was aborted, or
        // `Drain::never`): nobody will ask this session to drain, so wait forever.
        if self.rx.wait_for(|draining| *draining).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Accepts connections until `shutdown` resolves, running `handle` for each on its own task, then drains.
///
/// With `loops`, each session runs on the session loop with the fewest open sessions (see [`SessionLoops`]);
/// without, on the runtime that runs `serve`. `handle` gets the socket, the peer address and the drain signal. Accept errors (out of file descriptors, a
/// connection reset before accept) are logged and the loop goes on after a short pause, as a listener must not
/// die of one bad connection.
pub async fn serve<H, F>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    drain_timeout: Duration,
    loops: Option<Arc<SessionLoops>>,
    handle: H,
) where
    H: Fn(TcpStream, SocketAddr, Drain) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let handle = Arc::new(handle);
    let (drain_tx, drain_rx) = watch::channel(false);
    let mut sessions = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    // Latency matters more than packet count for a request/response protocol.
                    if let Err(error) = socket.set_nodelay(true) {
                        tracing::debug!(%error, "cannot set TCP_NODELAY");
                    }
                    let drain = Drain { rx: drain_rx.clone() };
                    match &loops {
                        None => {
                            sessions.spawn(handle(socket, peer, drain));
                        }
                        Some(loops) => start_on_loop(loops, &mut sessions, socket, peer, drain, &handle),
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Reap finished sessions so the set does not grow with every connection ever accepted.
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    drop(listener);
    let _ = drain_tx.send(true);
    let open = sessions.len();
    if open > 0 {
        tracing::info!(sessions = open, "draining sessions");
    }
    let drained = tokio::time::timeout(drain_timeout, async {
        while sessions.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            sessions = sessions.len(),
            "sessions did not finish in time; aborting them"
        );
        sessions.shutdown().await;
    }
}

/// Moves an accepted socket to a session loop: it leaves this runtime's reactor here and joins the loop's when the
/// session is first polled there, so every wake-up of the session happens on the loop's thread.
fn start_on_loop<H, F>(
    loops: &SessionLoops,
    sessions: &mut JoinSet<()>,
    socket: TcpStream,
    peer: SocketAddr,
    drain: Drain,
    handle: &Arc<H>,
) where
    H: Fn(TcpStream, SocketAddr, Drain) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    // Failing either step drops the socket: the client sees its connection closed, other sessions go on.
    let socket = match socket.into_std() {
        Ok(socket) => socket,
        Err(error) => {
            tracing::warn!(%error, %peer, "cannot hand an accepted connection to a session loop");
            return;
        }
    };
    let handle = Arc::clone(handle);
    loops.spawn(sessions, async move {
        match TcpStream::from_std(socket) {
            Ok(socket) => handle(socket, peer, drain).await,
            Err(error) => tracing::warn!(%error, %peer, "a session loop cannot take a connection"),
        }
    });
}
