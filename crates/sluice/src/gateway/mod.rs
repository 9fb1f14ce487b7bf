//! The gateway process: opens the data directory and the store, checks the master key, prepares TLS, bootstraps
//! the first admin, and serves the REST API and the protocol listeners (PostgreSQL, SSH) until asked to shut down.
//!
//! [`start`] is what both `sluice gateway` and the end-to-end tests call, so tests exercise the real start-up
//! path (including its refusals) rather than a test-only assembly.

mod abandoned;
mod bootstrap;
pub mod datadir;
mod policy_watch;
mod protocols;
pub mod tls;

use anyhow::Context as _;
use axum::serve::ListenerExt as _;
use datadir::DataDir;
use sluice_api::{ApiSettings, ApiState};
use sluice_config::{Config, MasterKeySource};
use sluice_model::Secret;
use sluice_store::seal::MasterKey;
use sluice_store::{Backend, Store};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long [`RunningGateway::shutdown`] waits for in-flight requests before giving up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A gateway that is serving. Dropping it without [`RunningGateway::shutdown`] aborts the server task.
#[derive(Debug)]
pub struct RunningGateway {
    /// The address the REST API is bound to (useful when the configuration asked for port 0).
    pub api_addr: SocketAddr,
    /// `http://ADDR` or `https://ADDR`.
    pub api_url: String,
    /// The first admin's token: `Some` only on the start that created the admin.
    pub admin_token: Option<Secret<String>>,
    /// The data directory in use.
    pub data_dir: PathBuf,
    /// The PostgreSQL listener's address, when enabled (`listeners.postgres`).
    pub pg_addr: Option<SocketAddr>,
    /// The SSH listener's address, when enabled (`listeners.ssh`).
    pub ssh_addr: Option<SocketAddr>,
    /// The gateway's SSH host public key in OpenSSH format (for clients' `known_hosts`), when SSH is enabled.
    pub ssh_host_key: Option<String>,
    store: Store,
    protocols: protocols::Protocols,
    broker: Arc<sluice_approvals::Broker>,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    _data_dir_lock: DataDir,
}

impl RunningGateway {
    /// Stops accepting, lets sessions and in-flight requests finish (up to their timeouts), then closes the store.
    pub async fn shutdown(self) {
        let RunningGateway {
            shutdown,
            server,
            store,
            protocols,
            broker,
            ..
        } = self;
        let session_loops = protocols.loops.clone();
        // Sessions first: while they drain, approvers may still need the API to release a held statement.
        protocols.shutdown().await;
        drop(broker);
        // The receiver is gone only if the server already stopped; either way we go on to wait for it.
        let _ = shutdown.send(());
        match tokio::time::timeout(DRAIN_TIMEOUT, server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "API server stopped with an error"),
            Ok(Err(e)) => tracing::warn!(error = %e, "API server task failed"),
            Err(_) => tracing::warn!("in-flight API requests did not finish in time; dropping them"),
        }
        store.close().await;
        // Last: a pooled store connection a session opened is registered with that session's loop.
        drop(session_loops);
        tracing::info!("gateway stopped");
    }

    /// The state store (for tests that inspect state directly).
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// Starts a gateway with `config`. Refuses to start (with a precise error) when the data directory is missing,
/// read-only or used by another gateway, when the store cannot be opened, or when the master key does not open
/// the store's sealed data.
pub async fn start(config: Config) -> anyhow::Result<RunningGateway> {
    let data_dir = DataDir::open(&config.data_dir)?;
    let store = Store::open(config.store.url.expose())
        .await
        .with_context(|| format!("cannot open the {} state store", config.store.url.scheme()))?;
    let master_key = load_master_key(&config.store.master_key, &store).await?;
    store
        .check_master_key(&master_key)
        .await
        .context("refusing to start")?;
    tls::ensure_material(&config.tls)?;

    let settings = ApiSettings {
        max_body_bytes: config.api.max_body_bytes,
        trusted_proxies: config.api.trusted_proxies.clone(),
    };
    let master_key = Arc::new(master_key);
    let broker = sluice_approvals::Broker::new(store.clone(), broker_settings(&config));
    let policy_applied = Arc::new(tokio::sync::Notify::new());
    let api_state = ApiState::new(store.clone(), Arc::clone(&master_key), settings)
        .with_broker(Arc::clone(&broker))
        .with_policy_listener(Arc::clone(&policy_applied));
    let (api_state, oidc) = crate::oidc_setup::attach(api_state, &config).await;
    let app = sluice_api::router(api_state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = TcpListener::bind(config.api.listen)
        .await
        .with_context(|| format!("cannot listen on {} for the API (api.listen)", config.api.listen))?;
    let api_addr = listener
        .local_addr()
        .context("cannot read the API listener's address")?;
    let tls_config = if config.api.tls {
        Some(tls::server_config(&config.tls)?)
    } else {
        None
    };
    // Before any listener accepts: every open session under this (locked) data directory is an earlier run's.
    match abandoned::close(&store, &config.data_dir).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            sessions = n,
            "closed sessions an earlier run of the gateway left open"
        ),
        Err(error) => {
            tracing::error!(%error, "cannot close the sessions an earlier run of the gateway left open")
        }
    }
    let protocols = protocols::start(
        &config,
        protocols::Shared {
            store: store.clone(),
            master_key,
            broker: Arc::clone(&broker),
            oidc,
            policy_applied,
        },
    )
    .await?;
    // Bootstrap only once everything that can still fail has succeeded, so a first start that cannot bind its port
    // does not consume the one-time token without showing it.
    let admin_token = match bootstrap::first_admin(&store, &config.admin_token_path()).await {
        Ok(token) => token,
        Err(error) => {
            protocols.shutdown().await;
            return Err(error);
        }
    };
    let (shutdown, stop) = oneshot::channel::<()>();
    let stopped = async move {
        // A dropped sender also means "stop".
        let _ = stop.await;
    };
    let (server, scheme) = if let Some(tls_config) = tls_config {
        // `tap_io` is a no-op wrapper here: axum provides `ConnectInfo<SocketAddr>` for tapped listeners of any
        // kind, which is how the TLS listener gets client addresses into the audit log like plain TCP does.
        let tls_listener = tls::TlsListener::new(listener, tls_config).tap_io(|_| {});
        let serve = axum::serve(tls_listener, app).with_graceful_shutdown(stopped);
        (tokio::spawn(async move { serve.await }), "https")
    } else {
        let serve = axum::serve(listener, app).with_graceful_shutdown(stopped);
        (tokio::spawn(async move { serve.await }), "http")
    };
    let api_url = format!("{scheme}://{api_addr}");
    tracing::info!(url = %api_url, store = backend_name(store.backend()), data_dir = %config.data_dir.display(), "REST API listening");
    Ok(RunningGateway {
        api_addr,
        api_url,
        admin_token,
        data_dir: config.data_dir.clone(),
        pg_addr: protocols.pg_addr,
        ssh_addr: protocols.ssh_addr,
        ssh_host_key: protocols.ssh_host_key.clone(),
        store,
        protocols,
        broker,
        shutdown,
        server,
        _data_dir_lock: data_dir,
    })
}

/// The approvals broker's settings from `[approvals]`.
fn broker_settings(config: &Config) -> sluice_approvals::BrokerSettings {
    let approvals = &config.approvals;
    sluice_approvals::BrokerSettings {
        hold_timeout: approvals.hold_timeout,
        grant_window: approvals.grant_window,
        admins_may_approve: approvals.admins_may_approve,
        access_approver_groups: approvals.access_approver_groups.clone(),
        access_request_ttl: approvals.access_request_ttl,
        webhooks: approvals.webhooks.iter().map(webhook_target).collect(),
        api_base_url: approvals.public_url.clone(),
        ..sluice_approvals::BrokerSettings::default()
    }
}

fn webhook_target(hook: &sluice_config::WebhookConfig) -> sluice_approvals::webhook::WebhookTarget {
    use sluice_approvals::webhook::{EventKind, PayloadFormat, WebhookScope};
    sluice_approvals::webhook::WebhookTarget {
        name: hook.name.clone(),
        scope: match hook.scope {
            sluice_config::WebhookScope::Global => WebhookScope::Global,
            sluice_config::WebhookScope::Policy => WebhookScope::Policy,
        },
        url: hook.url.clone(),
        secret: hook.secret.expose().clone(),
        format: match hook.format {
            sluice_config::WebhookFormat::Json => PayloadFormat::Json,
            sluice_config::WebhookFormat::Slack => PayloadFormat::Slack,
        },
        // The configuration validated the names; this only maps them.
        events: hook
            .events
            .iter()
            .filter_map(|name| match name.as_str() {
                "review.created" => Some(EventKind::ReviewCreated),
                "review.decided" => Some(EventKind::ReviewDecided),
                "access.requested" => Some(EventKind::AccessRequested),
                "access.decided" => Some(EventKind::AccessDecided),
                "session.opened" => Some(EventKind::SessionOpened),
                "session.closed" => Some(EventKind::SessionClosed),
                _ => None,
            })
            .collect(),
    }
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// Loads the master key. A key file is only ever created for a store that holds no data yet: if the file is
/// missing but the store already has users, the sealed credentials need the original key, so start-up stops.
async fn load_master_key(source: &MasterKeySource, store: &Store) -> anyhow::Result<MasterKey> {
    match source {
        MasterKeySource::Inline(text) => {
            MasterKey::from_base64(text.expose()).context("SLUICE_MASTER_KEY is not a valid master key")
        }
        MasterKeySource::File(path) => {
            if path.exists() || !store_has_data(store).await? {
                MasterKey::load_or_create(path).context("cannot load the master key")
            } else {
                Err(missing_key(path))
            }
        }
    }
}

async fn store_has_data(store: &Store) -> anyhow::Result<bool> {
    let recorded = store
        .master_key_recorded()
        .await
        .context("cannot read the state store")?;
    Ok(recorded
        || !store
            .list_users()
            .await
            .context("cannot read the state store")?
            .is_empty())
}

fn missing_key(path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "the master key file {} is missing but the state store already holds data sealed with a master key; \
         restore the original file (or set SLUICE_MASTER_KEY). sluice will not create a new key over existing data",
        path.display()
    )
}
