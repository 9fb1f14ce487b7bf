//! The sluice gateway in front of the throwaway PostgreSQL, in this process: sluice-gateway's own PostgreSQL
//! listener ([`PgListener`]) on a loopback port, with a SQLite state store holding one user, their token and one
//! connection (`pg-compat`) whose target password is sealed, a policy that denies DROP and masks card numbers,
//! recording on, and a fresh self-signed certificate for client TLS.
//!
//! The gateway logs in to PostgreSQL as the superuser: PostgreSQL would then execute any DROP, so a 42501 seen by a
//! client can only come from the gateway's guardrail. The listener runs on its own runtime, so tests may block on a
//! client process without starving it.

use crate::error::{CompatError, Result};
use sluice_gateway::pg::PgListener;
use sluice_gateway::runtime::SessionLoops;
use sluice_gateway::{GatewayDeps, PgSettings, RecordingSettings};
use sluice_identity::token;
use sluice_model::{Protocol, Role, Secret, UserKind};
use sluice_policy::Policy;
use sluice_store::seal::MasterKey;
use sluice_store::{Actor, CredentialKind, NewConnection, NewToken, NewUser, SealedCredential, Store};
use sluice_testbed::postgres::Postgres;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::sync::{oneshot, watch};

/// The sluice connection name clients put in `dbname`.
pub const CONNECTION: &str = "pg-compat";
/// The sluice user the clients log in as (their password is the user's token).
pub const USER: &str = "compat";
/// The group that may use [`CONNECTION`].
const GROUP: &str = "compat";

/// The matrix's policy: DROP is denied (the scenario's refusal), and result values that look like card numbers or sit
/// in card-like columns are masked.
pub const POLICY: &str = r#"
[[ruleset]]
name = "compatibility matrix"
connections = ["pg-compat"]

[[ruleset.rule]]
name = "no-drop"
guardrail = "drop_objects"
action = "deny"
hint = "Drops go through a reviewed migration"

[ruleset.mask]
default_style = "partial"
name_heuristics = true
"#;

/// A running in-process gateway. Dropping it stops the listener and its runtime.
pub struct Gateway {
    addr: SocketAddr,
    token: Secret<String>,
    shutdown: Option<oneshot::Sender<()>>,
    runtime: Option<Runtime>,
}

impl Gateway {
    /// Starts a gateway for `postgres` with [`POLICY`], keeping its state store and recordings under `data_dir`.
    pub fn for_postgres(
        postgres: &Postgres,
        data_dir: &Path,
        tls: Arc<rustls::ServerConfig>,
    ) -> Result<Gateway> {
        let target = TargetLogin {
            host: postgres.host().to_owned(),
            port: postgres.port(),
            user: postgres.user().to_owned(),
            password: Secret::new(postgres.password().to_owned()),
            database: postgres.database().to_owned(),
        };
        Gateway::start(target, POLICY, data_dir, Some(tls))
    }

    /// Starts a gateway for `target` under `policy` (TOML), keeping its state store and recordings under `data_dir`.
    /// Without `tls`, clients send their token without TLS, which the gateway then allows from loopback only (for
    /// benchmarks comparing against plaintext direct and pgbouncer paths).
    pub fn start(
        target: TargetLogin,
        policy: &str,
        data_dir: &Path,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<Gateway> {
        let policy =
            Policy::from_toml(policy).map_err(|err| CompatError::Gateway(format!("the policy: {err}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sluice-compat-gateway")
            .enable_all()
            .build()
            .map_err(|err| CompatError::io("creating the gateway's runtime", err))?;
        let data_dir = data_dir.to_owned();
        let (addr, token, shutdown) = runtime.block_on(serve(target, policy, data_dir, tls))?;
        Ok(Gateway {
            addr,
            token,
            shutdown: Some(shutdown),
            runtime: Some(runtime),
        })
    }

    /// The listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The user's sluice token: the password clients send.
    pub fn token(&self) -> &Secret<String> {
        &self.token
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The listener is already gone if the receiver is; nothing more to stop then.
            let _ = shutdown.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

impl fmt::Debug for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gateway")
            .field("addr", &self.addr)
            .field("token", &self.token)
            .finish()
    }
}

/// How the gateway logs in to the target.
#[derive(Debug)]
pub struct TargetLogin {
    /// Host or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// PostgreSQL user.
    pub user: String,
    /// Its password (sealed in the state store).
    pub password: Secret<String>,
    /// Database.
    pub database: String,
}

/// Sets up the store (user, token, connection with the sealed target password), binds the listener and spawns it.
async fn serve(
    target: TargetLogin,
    policy: Policy,
    data_dir: PathBuf,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<(SocketAddr, Secret<String>, oneshot::Sender<()>)> {
    let gateway = |what: &str, err: &dyn fmt::Display| CompatError::Gateway(format!("{what}: {err}"));
    let store = Store::open_sqlite_file(&data_dir.join("state.db"))
        .await
        .map_err(|err| gateway("opening the state store", &err))?;
    let key = MasterKey::generate().map_err(|err| gateway("generating the master key", &err))?;
    store
        .check_master_key(&key)
        .await
        .map_err(|err| gateway("registering the master key", &err))?;
    let user = store
        .create_user(
            &Actor::system(),
            NewUser {
                name: USER.to_owned(),
                kind: UserKind::Human,
                role: Role::User,
                groups: vec![GROUP.to_owned()],
            },
        )
        .await
        .map_err(|err| gateway("creating the user", &err))?;
    let (token, hash) = token::mint().map_err(|err| gateway("minting a token", &err))?;
    store
        .create_token(
            &Actor::system(),
            NewToken {
                user_id: user.id,
                name: None,
                hash,
                display_prefix: token::display_prefix(token.expose()),
                expires_at: None,
            },
        )
        .await
        .map_err(|err| gateway("storing the token", &err))?;
    let sealed = key
        .seal(target.password.expose().as_bytes(), CONNECTION.as_bytes())
        .map_err(|err| gateway("sealing the target password", &err))?;
    store
        .create_connection(
            &Actor::system(),
            NewConnection {
                name: CONNECTION.to_owned(),
                protocol: Protocol::Postgres,
                host: target.host,
                port: target.port,
                username: Some(target.user),
                database: Some(target.database),
                groups: vec![GROUP.to_owned()],
                credential: Some(SealedCredential {
                    kind: CredentialKind::Password,
                    sealed,
                }),
                options: serde_json::json!({}),
            },
        )
        .await
        .map_err(|err| gateway("creating the connection", &err))?;
    // The sender must outlive the listener or sessions would see a closed channel; it lives in the listener task.
    let (publish, policy) = watch::channel(Arc::new(policy));
    let allow_loopback_cleartext = tls.is_none();
    let deps = GatewayDeps {
        approvals: None,
        store,
        master_key: Arc::new(key),
        client_tls: tls,
        target_tls: None,
        policy,
        recording: RecordingSettings::new(data_dir.join("data")),
        mask_hash_key: Secret::new(crate::random::bytes::<32>()?.to_vec()),
        pg: PgSettings {
            allow_loopback_cleartext,
            drain_timeout: Duration::from_secs(2),
            ..PgSettings::default()
        },
        oidc: None,
    };
    // Sessions on session loops as `sluice gateway` runs them: one per core, or `SLUICE_SESSION_THREADS`; `0` runs
    // them on this runtime's two workers instead, to compare the two.
    let loops = match std::env::var("SLUICE_SESSION_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(0) => None,
        Some(threads) => Some(SessionLoops::start(threads)),
        None => Some(SessionLoops::per_core()),
    }
    .transpose()
    .map_err(|err| CompatError::io("starting the gateway's session threads", err))?;
    let listener = PgListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)), Arc::new(deps))
        .await
        .map_err(|err| CompatError::io("binding the gateway's PostgreSQL listener", err))?;
    let listener = match loops {
        Some(loops) => listener.on_loops(Arc::new(loops)),
        None => listener,
    };
    let addr = listener
        .local_addr()
        .map_err(|err| CompatError::io("reading the gateway's address", err))?;
    let (shutdown, stop) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _publish = publish;
        listener
            .serve(async move {
                // A dropped sender means the Gateway is gone: stop as well.
                let _ = stop.await;
            })
            .await;
    });
    Ok((addr, token, shutdown))
}
