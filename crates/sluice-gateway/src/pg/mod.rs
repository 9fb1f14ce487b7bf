//! The PostgreSQL proxy: a listener ([`PgListener`]) whose sessions speak the PostgreSQL v3 protocol to clients
//! and to targets, with token authentication, per-statement policy, masking and recording in between.
//!
//! Module map: `startup` (encryption negotiation, StartupMessage), `auth` (token check, authorization),
//! `target` (target login, cancel forwarding), `cancel` (client key → target key), `session` (the phase
//! machine), `upstream`/`downstream` (the two halves of a running session), `expect` (what the target will
//! answer, in order), `verdict` (policy), `results` (masking), `record` (the session log), `messages`
//! (errors the gateway writes), `stream` (plain or TLS).

mod auth;
mod cancel;
mod downstream;
mod expect;
mod fast_hash;
mod messages;
mod record;
mod results;
mod review;
mod session;
mod shown;
mod startup;
mod stream;
mod target;
mod target_tls;
mod upstream;
mod verdict;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::{runtime, GatewayDeps};
use cancel::CancelRegistry;
use session::SessionContext;

/// A bound PostgreSQL listener.
#[derive(Debug)]
pub struct PgListener {
    listener: TcpListener,
    deps: Arc<GatewayDeps>,
    loops: Option<Arc<runtime::SessionLoops>>,
}

impl PgListener {
    /// Binds `addr` (port 0 picks a free port; see [`PgListener::local_addr`]).
    pub async fn bind(addr: SocketAddr, deps: Arc<GatewayDeps>) -> std::io::Result<PgListener> {
        let listener = TcpListener::bind(addr).await?;
        Ok(PgListener {
            listener,
            deps,
            loops: None,
        })
    }

    /// Runs sessions on `loops` instead of the runtime that runs [`PgListener::serve`] (the gateway does; see
    /// [`runtime::SessionLoops`] for why).
    #[must_use]
    pub fn on_loops(self, loops: Arc<runtime::SessionLoops>) -> PgListener {
        PgListener {
            loops: Some(loops),
            ..self
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves sessions until `shutdown` resolves, then stops accepting, lets sessions finish their current
    /// request (they end at their next idle point with SQLSTATE 57P01), and aborts what is still running after
    /// `deps.pg.drain_timeout`.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let PgListener {
            listener,
            deps,
            loops,
        } = self;
        let cancels = Arc::new(CancelRegistry::default());
        let drain_timeout = deps.pg.drain_timeout;
        tracing::info!(addr = ?listener.local_addr().ok(), "PostgreSQL listener serving");
        runtime::serve(
            listener,
            shutdown,
            drain_timeout,
            loops,
            move |socket, peer, drain| {
                let ctx = SessionContext {
                    deps: Arc::clone(&deps),
                    cancels: Arc::clone(&cancels),
                    drain,
                    peer,
                };
                session::run(socket, ctx)
            },
        )
        .await;
    }
}
