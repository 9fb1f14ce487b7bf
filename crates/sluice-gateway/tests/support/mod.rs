//! Test harness: a throwaway PostgreSQL (sluice-testbed), a temporary SQLite store with a user, a token and a
//! connection whose target password is sealed, a policy, a self-signed TLS certificate, and the gateway's
//! PostgreSQL listener served in-process on its own runtime (so tests may block on `psql` without starving it).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use sluice_gateway::pg::PgListener;
use sluice_gateway::{GatewayDeps, PgSettings, RecordingSettings};
use sluice_identity::token;
use sluice_model::{Protocol, Role, Secret, UserKind};
use sluice_policy::Policy;
use sluice_record::{SyncPolicy, WriterOptions};
use sluice_store::seal::MasterKey;
use sluice_store::{Actor, CredentialKind, NewConnection, NewToken, NewUser, SealedCredential, Store};
use sluice_testbed::postgres::Postgres;
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

pub mod approvals;
pub mod raw;
pub mod wire;

/// A card number that passes the Luhn check (Visa test number).
pub const CARD: &str = "4111111111111111";

/// The policy every scenario runs under: no DROP, TRUNCATE needs review, masking with defaults.
pub const POLICY: &str = r#"
[[ruleset]]
name = "test databases"
connections = ["pg-*"]

[[ruleset.rule]]
name = "no-drop"
guardrail = "drop_objects"
action = "deny"
hint = "Drops go through a reviewed migration"

[[ruleset.rule]]
name = "review-truncate"
guardrail = "truncate"
action = "review"
approvers = ["dba"]

[ruleset.mask]
default_style = "partial"
name_heuristics = true
"#;

/// A connection under the `read_only` guardrail and nothing else: what an AI agent, an auditor or a backup job
/// is given.
pub const READ_ONLY_POLICY: &str = r#"
[[ruleset]]
name = "read only"
connections = ["pg-*"]

[[ruleset.rule]]
name = "reads-only"
guardrail = "read_only"
action = "deny"
"#;

/// Everything a scenario needs.
pub struct Harness {
    pub pg: Postgres,
    pub addr: SocketAddr,
    pub token: String,
    pub store: Store,
    pub dir: TempDir,
    pub runtime: Runtime,
    shutdown: Option<oneshot::Sender<()>>,
}

/// Creates a user with `groups` and returns them with a fresh token of theirs.
pub async fn add_user_with_record(
    store: &Store,
    name: &str,
    groups: &[&str],
    expires_at: Option<time::OffsetDateTime>,
) -> (sluice_store::User, String) {
    let user = store
        .create_user(
            &Actor::system(),
            NewUser {
                name: name.to_owned(),
                kind: UserKind::Human,
                role: Role::User,
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            },
        )
        .await
        .unwrap();
    let (secret, hash) = token::mint().unwrap();
    store
        .create_token(
            &Actor::system(),
            NewToken {
                user_id: user.id,
                name: None,
                hash,
                display_prefix: token::display_prefix(secret.expose()),
                expires_at,
            },
        )
        .await
        .unwrap();
    (user, secret.expose().clone())
}

/// Creates a user with `groups` and returns a fresh token for them.
pub async fn add_user(
    store: &Store,
    name: &str,
    groups: &[&str],
    expires_at: Option<time::OffsetDateTime>,
) -> String {
    add_user_with_record(store, name, groups, expires_at).await.1
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert = rustls::pki_types::CertificateDer::from(certified.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der()).unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
    Arc::new(config)
}

impl Harness {
    /// Starts everything with the default policy.
    pub fn start() -> Harness {
        Harness::start_with_policy(POLICY)
    }

    pub fn start_with_policy(policy: &str) -> Harness {
        Harness::start_with(policy, true)
    }

    /// `loopback_cleartext`: whether tokens are accepted without TLS from loopback (tokio-postgres needs it).
    pub fn start_with(policy: &str, loopback_cleartext: bool) -> Harness {
        let pg = Postgres::start().expect("throwaway PostgreSQL");
        let dir = tempfile::tempdir().unwrap();
        let runtime = runtime();
        let (store, token, addr, shutdown) = runtime.block_on(async {
            let store = Store::open_sqlite_file(&dir.path().join("state.db"))
                .await
                .unwrap();
            let key = Arc::new(MasterKey::generate().unwrap());
            store.check_master_key(&key).await.unwrap();
            let token = add_user(&store, "alice", &["dev"], None).await;
            add_pg_test_connection(
                &store,
                &key,
                &pg,
                serde_json::json!({ "allow_other_databases": true }),
            )
            .await;
            let mut recording = recording(&dir.path().join("data"));
            recording.row_cap = 50;
            let mut deps = gateway_deps(&store, key, policy, recording);
            deps.client_tls = Some(tls_config());
            deps.pg.allow_loopback_cleartext = loopback_cleartext;
            let (addr, shutdown) = serve(deps).await;
            (store, token, addr, shutdown)
        });
        Harness {
            pg,
            addr,
            token,
            store,
            dir,
            runtime,
            shutdown: Some(shutdown),
        }
    }

    /// A libpq connection string for the gateway.
    pub fn conninfo(&self, user: &str, dbname: &str, sslmode: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={user} dbname={dbname} sslmode={sslmode} connect_timeout=10",
            self.addr.port()
        )
    }

    /// Runs `psql` against the gateway as alice over TLS with `args` appended.
    pub fn psql(&self, args: &[&str]) -> Output {
        self.psql_as("alice", &self.token, "pg-test", args)
    }

    /// Runs `psql` as alice over TLS with `script` on standard input (meta-commands such as `\\bind` work there).
    pub fn psql_script(&self, script: &str) -> Output {
        use std::io::Write as _;
        let mut child = Command::new("psql")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PGPASSWORD", &self.token)
            .args(["-X", "-w", "-A", "-t", "-f", "-"])
            .arg(self.conninfo("alice", "pg-test", "require"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("psql runs");
        child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    pub fn psql_as(&self, user: &str, password: &str, dbname: &str, args: &[&str]) -> Output {
        Command::new("psql")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PGPASSWORD", password)
            .args(["-X", "-w", "-A", "-t"])
            .arg(self.conninfo(user, dbname, "require"))
            .args(args)
            .output()
            .expect("psql runs")
    }

    /// A tokio-postgres client for alice (plain TCP on loopback, which the harness allows).
    pub async fn client(&self) -> tokio_postgres::Client {
        pg_client(self.addr, "alice", &self.token).await
    }

    /// Every recording file written so far.
    pub fn recordings(&self) -> Vec<PathBuf> {
        files_under(&self.dir.path().join("data").join("recordings"))
    }

    /// Every recording's bytes as text, to grep for what must never be recorded.
    pub fn recordings_text(&self) -> String {
        self.recordings()
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect()
    }

    /// Every recording's events (each verified), unfolded (`Event::unfold`), in order.
    pub fn recorded_events(&self) -> Vec<sluice_record::Event> {
        self.recordings()
            .iter()
            .flat_map(|f| sluice_record::Reader::open(f).unwrap())
            .flat_map(|r| r.unwrap().event.unfold())
            .collect()
    }
}

impl Harness {
    /// Asks the listener to shut down (stop accepting, drain sessions).
    pub fn shutdown(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

/// A runtime of its own for the listener, so a test may block (on `psql`, on a review) without starving it.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Recording settings under `data_dir`, synced on each flush (the writer's own default) rather than on the gateway's
/// interval, so every flushed event is also on disk when a test reads the recording.
pub fn recording(data_dir: &Path) -> RecordingSettings {
    let mut recording = RecordingSettings::new(data_dir.to_path_buf());
    recording.writer = WriterOptions {
        sync: SyncPolicy::OnFlush,
        ..WriterOptions::default()
    };
    recording
}

/// What a gateway on `store` needs under `policy`: no TLS, no provider, no approvals, tokens accepted in clear from
/// loopback (tokio-postgres and the raw client need it), a short drain; a test sets the rest on the result.
pub fn gateway_deps(
    store: &Store,
    master_key: Arc<MasterKey>,
    policy: &str,
    recording: RecordingSettings,
) -> GatewayDeps {
    let policy = Policy::from_toml(policy).unwrap();
    let (publish, policy) = tokio::sync::watch::channel(Arc::new(policy));
    // Never republished: the policy stays as it was given for the whole test.
    std::mem::forget(publish);
    GatewayDeps {
        store: store.clone(),
        master_key,
        client_tls: None,
        target_tls: None,
        policy,
        recording,
        mask_hash_key: Secret::new(MASK_HASH_KEY.to_vec()),
        pg: PgSettings {
            allow_loopback_cleartext: true,
            drain_timeout: Duration::from_secs(2),
            ..PgSettings::default()
        },
        oidc: None,
        approvals: None,
    }
}

/// The key the gateways here derive mask hashes with (`mask_hash_key`).
pub const MASK_HASH_KEY: [u8; 32] = [7u8; 32];

/// Serves the PostgreSQL listener with `deps` on a random loopback port; it stops when the sender is used or
/// dropped.
pub async fn serve(deps: GatewayDeps) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = PgListener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(deps))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(listener.serve(async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// A tokio-postgres client through the gateway at `addr` as `user` with the token `password`, over plain TCP on
/// loopback (which the gateways here allow); its connection is driven by a task on the calling runtime.
pub async fn pg_client(addr: SocketAddr, user: &str, password: &str) -> tokio_postgres::Client {
    let conninfo = format!(
        "host=127.0.0.1 port={} user={user} dbname=pg-test sslmode=disable connect_timeout=10 password={password}",
        addr.port()
    );
    let (client, connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
        .await
        .expect("connects through sluice");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Every file under `dir` (none when it does not exist), sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// Adds the connection `pg-test` to `pg` for group `dev`, its password sealed under `key`.
pub async fn add_pg_test_connection(
    store: &Store,
    key: &MasterKey,
    pg: &Postgres,
    options: serde_json::Value,
) {
    add_pg_test_connection_for(store, key, pg, &["dev"], options).await;
}

/// Adds the connection `pg-test` to `pg` for `groups`, its password sealed under `key`.
pub async fn add_pg_test_connection_for(
    store: &Store,
    key: &MasterKey,
    pg: &Postgres,
    groups: &[&str],
    options: serde_json::Value,
) {
    let sealed = key.seal(pg.password().as_bytes(), b"pg-test").unwrap();
    store
        .create_connection(
            &Actor::system(),
            NewConnection {
                name: "pg-test".to_owned(),
                protocol: Protocol::Postgres,
                host: pg.host().to_owned(),
                port: pg.port(),
                username: Some(pg.user().to_owned()),
                database: Some(pg.database().to_owned()),
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
                credential: Some(SealedCredential {
                    kind: CredentialKind::Password,
                    sealed,
                }),
                options,
            },
        )
        .await
        .unwrap();
}

/// stdout of a psql run as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr of a psql run as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
