//! sluice-ssh: the SSH proxy. Unchanged OpenSSH clients (`ssh`, `scp`, `sftp`, `rsync -e ssh`) log in to sluice
//! and are relayed to the target host of a connection, with the gateway's own credential for the target.
//!
//! `ssh -p 12222 alice%web-1@gateway` logs in as sluice user `alice` to connection `web-1` (see [`login`] for the
//! syntax). The client proves its identity with a public key registered to the user (`sluice key add`), the
//! identity being taken only from a verified signature, or — when [`SshSettings::allow_token_password`] is on —
//! with a sluice token typed as the password (password or keyboard-interactive). Then:
//!
//! * exec requests are classified by the shell classifier and decided by the policy before they reach the target
//!   (refused: a message on stderr and exit status 126; a review is held through the approvals broker, see
//!   `review`);
//! * interactive shells get a PTY, window changes, signals and the exit status passed through; typed lines are
//!   reconstructed and judged at Enter ([`lines`]); terminal output is masked when the policy masks the session;
//! * the `sftp` subsystem (also what modern `scp` uses) is passed through and each file transfer recorded;
//! * `-L` forwards only when the connection allows them and the policy agrees; agent, X11 and remote forwarding
//!   are refused;
//! * everything is recorded in the session's hash-chained log ([`record`]) and indexed in the store.
//!
//! Module map: `login` (names, keys, tokens, groups), `server` (the russh handler), `session` (an authenticated
//! session and its lazily opened target), `target` (target login, host key pinning), `channel` (a session
//! channel; its sends go through `outbox`), `forward` (`-L`), `judge` (policy), `lines` (typed-line reconstruction),
//! `sftp` (transfer records), `record` (session log + index), `hostkey` (the gateway's host key).

mod channel;
mod error;
mod forward;
pub mod hostkey;
mod judge;
pub mod lines;
pub mod login;
mod outbox;
mod record;
mod review;
mod server;
mod session;
pub mod sftp;
pub mod target;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use russh::keys::PrivateKey;
use russh::MethodKind;
use sluice_gateway::{runtime, GatewayDeps};
use tokio::net::TcpListener;

pub use channel::REFUSED_EXIT_STATUS;
pub use error::SshError;

/// SSH listener settings (`[listeners.ssh]`).
#[derive(Debug, Clone)]
pub struct SshSettings {
    /// The gateway's host key file; generated on first start. Default `DATA_DIR/ssh_host_ed25519_key`.
    pub host_key_path: PathBuf,
    /// Accept a sluice token as the password (password and keyboard-interactive methods). Off by default: keys are
    /// the SSH way, and a typed token is easier to phish.
    pub allow_token_password: bool,
    /// How long to wait for the target's TCP connect, handshake and login.
    pub target_connect_timeout: Duration,
    /// How long shutdown waits for sessions before disconnecting them.
    pub drain_timeout: Duration,
}

impl SshSettings {
    /// Defaults for a gateway whose data directory is `data_dir`.
    pub fn new(data_dir: &std::path::Path) -> SshSettings {
        SshSettings {
            host_key_path: hostkey::host_key_path(data_dir),
            allow_token_password: false,
            target_connect_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// What every connection of a listener shares.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) deps: Arc<GatewayDeps>,
    pub(crate) settings: SshSettings,
    pub(crate) config: Arc<russh::server::Config>,
}

/// A bound SSH listener.
#[derive(Debug)]
pub struct SshListener {
    listener: TcpListener,
    shared: Arc<Listener>,
}

impl SshListener {
    /// Loads (or creates) the host key and binds `addr` (port 0 picks a free port; see [`SshListener::local_addr`]).
    pub async fn bind(
        addr: SocketAddr,
        deps: Arc<GatewayDeps>,
        settings: SshSettings,
    ) -> Result<SshListener, SshError> {
        let key = hostkey::load_or_generate(&settings.host_key_path)?;
        let config = Arc::new(server_config(key, &settings));
        let listener = TcpListener::bind(addr).await?;
        Ok(SshListener {
            listener,
            shared: Arc::new(Listener {
                deps,
                settings,
                config,
            }),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The gateway's host public key (OpenSSH line), for `known_hosts` entries and `sluice connect`.
    pub fn host_public_key(&self) -> String {
        self.shared
            .config
            .keys
            .first()
            .map(|k| target::canonical(k.public_key()).0)
            .unwrap_or_default()
    }

    /// Serves connections until `shutdown` resolves, then stops accepting and disconnects what is still running
    /// after the drain timeout.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let SshListener { listener, shared } = self;
        let drain_timeout = shared.settings.drain_timeout;
        tracing::info!(addr = ?listener.local_addr().ok(), "SSH listener serving");
        // On the caller's runtime: an SSH session is several tasks (russh's, one outbox drainer per direction)
        // that wake each other, which the work-stealing runtime spreads over the cores.
        runtime::serve(
            listener,
            shutdown,
            drain_timeout,
            None,
            move |socket, peer, drain| connection(socket, peer, drain, Arc::clone(&shared)),
        )
        .await;
    }
}

fn server_config(key: PrivateKey, settings: &SshSettings) -> russh::server::Config {
    let mut methods = russh::MethodSet::empty();
    methods.push(MethodKind::PublicKey);
    if settings.allow_token_password {
        methods.push(MethodKind::KeyboardInteractive);
        methods.push(MethodKind::Password);
    }
    russh::server::Config {
        server_id: russh::SshId::Standard("SSH-2.0-sluice".into()),
        methods,
        auth_rejection_time: Duration::from_millis(500),
        // OpenSSH probes with "none" first: answering it at once costs nothing and saves every login half a second.
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![key],
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 4,
        nodelay: true,
        max_auth_attempts: 6,
        ..russh::server::Config::default()
    }
}

/// What the sessions index says of a session whose client's connection ended without an SSH disconnect.
const CLIENT_CONNECTION_LOST: &str = "the client's connection ended without an SSH disconnect";

/// Runs one client connection to its end, then closes its session (recording and index).
async fn connection(
    socket: tokio::net::TcpStream,
    peer: SocketAddr,
    mut drain: runtime::Drain,
    shared: Arc<Listener>,
) {
    let ready = Arc::new(std::sync::Mutex::new(None));
    let handler = server::Handler {
        listener: Arc::clone(&shared),
        peer,
        ready: Arc::clone(&ready),
    };
    let running = match russh::server::run_stream(Arc::clone(&shared.config), socket, handler).await {
        Ok(running) => running,
        Err(error) => {
            tracing::debug!(%peer, %error, "SSH handshake failed");
            return;
        }
    };
    let handle = running.handle();
    tokio::pin!(running);
    let withdrawn = access_withdrawn(&ready, &shared);
    let mut ended_by = None;
    let outcome = tokio::select! {
        outcome = &mut running => outcome,
        () = drain.draining() => {
            let _ = handle
                .disconnect(russh::Disconnect::ByApplication, "sluice gateway shutting down".into(), "en".into())
                .await;
            running.await
        }
        reason = withdrawn => {
            tracing::info!(%peer, reason = reason.describe(), "ending an SSH session whose access was withdrawn");
            ended_by = Some(reason.describe());
            let _ = handle
                .disconnect(
                    russh::Disconnect::ByApplication,
                    format!("sluice: {}", reason.describe()),
                    "en".into(),
                )
                .await;
            running.await
        }
    };
    let session = ready.lock().ok().and_then(|mut g| g.take());
    if let Some(session) = session {
        let lost = outcome
            .as_ref()
            .err()
            .is_some_and(SshError::client_connection_lost);
        let error = match &outcome {
            Err(_) if lost => Some(CLIENT_CONNECTION_LOST.to_owned()),
            Err(e) => Some(e.to_string()),
            Ok(()) => None,
        };
        let reason = match ended_by {
            Some(withdrawn) => withdrawn,
            None if lost => "client connection lost",
            None if error.is_some() => "connection failed",
            None => "client disconnected",
        };
        session.disconnect_target().await;
        // Commands held for review see the client leave on their own: let them cancel and record it first.
        let _ = tokio::time::timeout(Duration::from_secs(5), session.holding.write()).await;
        session.log.close(reason, error).await;
        tracing::info!(%peer, session = %session.log.id, reason, "SSH session ended");
    }
}

/// Resolves when the logged-in user's access is withdrawn (disabled user, revoked token); waits for the login first.
async fn access_withdrawn(
    ready: &std::sync::Mutex<Option<Arc<session::Ready>>>,
    shared: &Listener,
) -> sluice_gateway::access::Withdrawn {
    // The handler fills `ready` at login; until then there is nothing to watch.
    let admission = loop {
        let admitted = ready.lock().ok().and_then(|g| {
            g.as_ref().map(|r| sluice_gateway::access::Admission {
                user: r.who.user.id,
                token: match &r.who.credential {
                    login::Credential::Token(token) => Some(token.id),
                    login::Credential::Key(_) => None,
                },
                grant_until: None,
            })
        });
        if let Some(admission) = admitted {
            break admission;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    sluice_gateway::access::withdrawn(shared.deps.store.clone(), admission).await
}
