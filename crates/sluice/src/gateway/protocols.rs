//! The protocol listeners (PostgreSQL, SSH) and what they share: the [`GatewayDeps`] built from the configuration
//! (store, master key, TLS, live policy, recording, approvals broker, OpenID providers).
//!
//! Every listener binds before any of them serves, so a port that is taken stops start-up with the listener's
//! configuration key in the message instead of leaving a half-started gateway.

use super::policy_watch;
use super::tls;
use anyhow::Context as _;
use sluice_approvals::Broker;
use sluice_config::Config;
use sluice_gateway::pg::PgListener;
use sluice_gateway::runtime::SessionLoops;
use sluice_gateway::{GatewayDeps, PgSettings, RecordingSettings};
use sluice_identity::oidc::Providers;
use sluice_ssh::{SshListener, SshSettings};
use sluice_store::seal::MasterKey;
use sluice_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// The label of the key the `hash` mask style uses (derived from the master key, so every gateway sharing the
/// store produces the same tokens and a restart does not change them).
const MASK_HASH_KEY_LABEL: &str = "mask-hash";

/// What [`start`] needs besides the configuration.
pub struct Shared {
    pub store: Store,
    pub master_key: Arc<MasterKey>,
    pub broker: Arc<Broker>,
    pub oidc: Option<Arc<Providers>>,
    /// Woken by the API when it applies a policy.
    pub policy_applied: Arc<Notify>,
}

/// The running listeners.
#[derive(Debug)]
pub struct Protocols {
    /// The PostgreSQL listener's address, when enabled.
    pub pg_addr: Option<SocketAddr>,
    /// The SSH listener's address, when enabled.
    pub ssh_addr: Option<SocketAddr>,
    /// The gateway's SSH host public key (OpenSSH format), when the SSH listener is enabled.
    pub ssh_host_key: Option<String>,
    /// The threads PostgreSQL sessions run on. Kept until the gateway has stopped using the store: a pooled
    /// store connection a session opened is registered with that session's loop.
    pub(crate) loops: Option<Arc<SessionLoops>>,
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    drain_timeout: Duration,
}

impl Protocols {
    /// Stops accepting, lets sessions reach an idle point (each listener aborts the rest after its drain timeout),
    /// and waits for the listeners and the policy watcher to end.
    pub async fn shutdown(self) {
        let Protocols {
            stop,
            tasks,
            drain_timeout,
            ..
        } = self;
        stop.send_replace(true);
        for (name, task) in tasks {
            // The listeners bound their own drains; this outer bound only guards against a stuck task.
            match tokio::time::timeout(drain_timeout + Duration::from_secs(5), task).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, listener = name, "listener task failed"),
                Err(_) => tracing::warn!(listener = name, "listener did not stop in time"),
            }
        }
    }
}

/// Binds the configured listeners and starts serving them with the store's active policy.
pub async fn start(config: &Config, shared: Shared) -> anyhow::Result<Protocols> {
    let Shared {
        store,
        master_key,
        broker,
        oidc,
        policy_applied,
    } = shared;
    let loaded = policy_watch::load(&store).await?;
    policy_watch::check_webhooks(&broker, &loaded.policy, loaded.version);
    let (publish, policy) = watch::channel(loaded.policy);
    broker.set_routes(Arc::new(policy_watch::PolicyRoutes(policy.clone())));
    let watch_broker = Arc::clone(&broker);
    let pg_settings = PgSettings {
        allow_loopback_cleartext: config
            .listeners
            .postgres
            .as_ref()
            .is_some_and(|pg| pg.allow_loopback_cleartext),
        ..PgSettings::default()
    };
    let drain_timeout = pg_settings.drain_timeout;
    let mut recording = RecordingSettings::new(config.data_dir.clone());
    recording.row_cap = config.recording.row_cap;
    recording.writer.sync = match config.recording.sync_interval {
        Some(every) => sluice_record::SyncPolicy::Interval(every),
        None => sluice_record::SyncPolicy::OnFlush,
    };
    let deps = Arc::new(GatewayDeps {
        store: store.clone(),
        mask_hash_key: master_key.derive(MASK_HASH_KEY_LABEL),
        master_key,
        client_tls: Some(tls::server_config(&config.tls)?),
        target_tls: Some(target_tls()?),
        policy,
        recording,
        pg: pg_settings,
        approvals: Some(broker),
        oidc,
    });

    let (pg, loops) = match &config.listeners.postgres {
        Some(pg) => {
            let loops = Arc::new(session_loops(config.listeners.session_threads)?);
            let listener = PgListener::bind(pg.listen, Arc::clone(&deps))
                .await
                .with_context(|| {
                    format!(
                        "cannot listen on {} for PostgreSQL (listeners.postgres.listen)",
                        pg.listen
                    )
                })?
                .on_loops(Arc::clone(&loops));
            (Some(listener), Some(loops))
        }
        None => (None, None),
    };
    let ssh = match &config.listeners.ssh {
        Some(ssh) => {
            let mut settings = SshSettings::new(&config.data_dir);
            settings.allow_token_password = ssh.allow_token_password;
            if let Some(path) = &ssh.host_key_path {
                settings.host_key_path = path.clone();
            }
            Some(
                SshListener::bind(ssh.listen, Arc::clone(&deps), settings)
                    .await
                    .with_context(|| {
                        format!("cannot start the SSH listener on {} (listeners.ssh)", ssh.listen)
                    })?,
            )
        }
        None => None,
    };

    let (stop, stopped) = watch::channel(false);
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        // A dropped sender also means "stop".
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let mut tasks = vec![(
        "policy",
        policy_watch::spawn(
            store,
            publish,
            loaded.version,
            policy_applied,
            watch_broker,
            stopped.clone(),
        ),
    )];
    let mut pg_addr = None;
    if let Some(listener) = pg {
        let addr = listener
            .local_addr()
            .context("cannot read the PostgreSQL listener's address")?;
        tracing::info!(listen = %addr, "PostgreSQL listener ready");
        pg_addr = Some(addr);
        let shutdown = until_stopped(stopped.clone());
        tasks.push(("postgres", tokio::spawn(listener.serve(shutdown))));
    }
    let (mut ssh_addr, mut ssh_host_key) = (None, None);
    if let Some(listener) = ssh {
        let addr = listener
            .local_addr()
            .context("cannot read the SSH listener's address")?;
        let host_key = listener.host_public_key();
        tracing::info!(listen = %addr, host_key = %host_key, "SSH listener ready");
        ssh_addr = Some(addr);
        ssh_host_key = Some(host_key);
        let shutdown = until_stopped(stopped.clone());
        tasks.push(("ssh", tokio::spawn(listener.serve(shutdown))));
    }
    Ok(Protocols {
        loops,
        pg_addr,
        ssh_addr,
        ssh_host_key,
        stop,
        tasks,
        drain_timeout,
    })
}

/// `listeners.session_threads` loops, or one per core.
fn session_loops(threads: Option<std::num::NonZeroUsize>) -> anyhow::Result<SessionLoops> {
    let loops = match threads {
        Some(n) => SessionLoops::start(n.get()),
        None => SessionLoops::per_core(),
    }
    .context("cannot start the session threads (listeners.session_threads)")?;
    tracing::info!(threads = loops.len(), "session threads started");
    Ok(loops)
}

/// TLS towards targets whose connection asks for `tls = "verify-full"`: the system's trust store (add a private
/// CA there), so the gateway verifies database servers the way libpq with `sslrootcert=system` would.
fn target_tls() -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let roots = sluice_identity::system_trust::system_roots();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS towards targets")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
