//! Test harness: a throwaway OpenSSH sshd (sluice-testbed) as the target, a temporary SQLite store with user
//! `alice` (group `ops`), her SSH key and a token, an SSH connection `web-1` whose sealed credential is the key the
//! testbed sshd trusts, a policy, and the gateway's SSH listener served in-process on its own runtime (tests block on
//! the real `ssh`, `scp`, `sftp` and `tmux` clients).
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

use russh::keys::PublicKey;
use sluice_approvals::{Broker, BrokerSettings};
use sluice_gateway::{GatewayDeps, PgSettings, RecordingSettings};
use sluice_identity::oidc::Providers;
use sluice_identity::token;
use sluice_model::{Protocol, Role, Secret, UserKind};
use sluice_policy::Policy;
use sluice_record::{Event, SyncPolicy, WriterOptions};
use sluice_ssh::{SshListener, SshSettings};
use sluice_store::seal::MasterKey;
use sluice_store::{
    Actor, CredentialKind, NewConnection, NewSshKey, NewToken, NewUser, SealedCredential, SessionFilter,
    Store,
};
use sluice_testbed::sshd::Sshd;
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

/// The policy every scenario runs under.
pub const POLICY: &str = r#"
[[ruleset]]
name = "servers"
protocols = ["ssh"]

[[ruleset.rule]]
name = "no-destroying-hosts"
guardrail = "destructive_command"
action = "deny"
hint = "Ask an admin"

[[ruleset.rule]]
name = "review-restarts"
pattern = '^\s*systemctl\s+restart\b'
action = "review"
approvers = ["ops-leads"]
"#;

/// Options of the test connection.
#[derive(Clone, Debug)]
pub struct Options {
    pub connection_options: serde_json::Value,
    pub allow_token_password: bool,
    pub policy: String,
    /// Run an approvals broker with these settings (reviews are held); `None`: reviews are refused.
    pub broker: Option<BrokerSettings>,
    /// OpenID providers whose access tokens may be typed as the password (`GatewayDeps::oidc`).
    pub oidc: Option<Arc<Providers>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connection_options: serde_json::json!({}),
            allow_token_password: false,
            policy: POLICY.to_owned(),
            broker: None,
            oidc: None,
        }
    }
}

/// Everything a scenario needs.
pub struct Harness {
    pub sshd: Sshd,
    pub addr: SocketAddr,
    pub token: String,
    pub store: Store,
    pub dir: TempDir,
    pub runtime: Runtime,
    /// alice's private key (registered to her).
    pub user_key: PathBuf,
    /// known_hosts trusting the gateway's host key.
    pub known_hosts: PathBuf,
    pub data_dir: PathBuf,
    /// The approvals broker, when [`Options::broker`] asked for one.
    pub broker: Option<Arc<Broker>>,
    shutdown: Option<oneshot::Sender<()>>,
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test key", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen (Debian package openssh-client)");
    assert!(status.success());
}

/// `(canonical, fingerprint)` of an OpenSSH public key file.
pub fn fingerprint_of(pub_path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(pub_path).unwrap();
    let key = PublicKey::from_openssh(text.trim()).unwrap();
    sluice_ssh::target::canonical(&key)
}

impl Harness {
    pub fn start() -> Harness {
        Harness::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Harness {
        let sshd = Sshd::start().expect("throwaway sshd (Debian packages openssh-server, openssh-client)");
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let user_key = dir.path().join("alice_ed25519");
        keygen(&user_key);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let target_key = std::fs::read(sshd.client_key_path()).unwrap();
        let (store, token, addr, host_key, broker, shutdown) = runtime.block_on(async {
            let store = Store::open_sqlite_file(&dir.path().join("state.db"))
                .await
                .unwrap();
            let key = MasterKey::generate().unwrap();
            store.check_master_key(&key).await.unwrap();
            let alice = store
                .create_user(
                    &Actor::system(),
                    NewUser {
                        name: "alice".to_owned(),
                        kind: UserKind::Human,
                        role: Role::User,
                        groups: vec!["ops".to_owned()],
                    },
                )
                .await
                .unwrap();
            let (secret, hash) = token::mint().unwrap();
            store
                .create_token(
                    &Actor::system(),
                    NewToken {
                        user_id: alice.id,
                        name: None,
                        hash,
                        display_prefix: token::display_prefix(secret.expose()),
                        expires_at: None,
                    },
                )
                .await
                .unwrap();
            let (public_key, fingerprint) = fingerprint_of(&user_key.with_extension("pub"));
            store
                .add_ssh_key(
                    &Actor::system(),
                    NewSshKey {
                        user_id: alice.id,
                        name: Some("laptop".to_owned()),
                        public_key,
                        fingerprint,
                    },
                )
                .await
                .unwrap();
            let sealed = key.seal(&target_key, b"web-1").unwrap();
            store
                .create_connection(
                    &Actor::system(),
                    NewConnection {
                        name: "web-1".to_owned(),
                        protocol: Protocol::Ssh,
                        host: sshd.host().to_owned(),
                        port: sshd.port(),
                        username: Some(sshd.user().to_owned()),
                        database: None,
                        groups: vec!["ops".to_owned()],
                        credential: Some(SealedCredential {
                            kind: CredentialKind::PrivateKey,
                            sealed,
                        }),
                        options: options.connection_options.clone(),
                    },
                )
                .await
                .unwrap();
            let policy = Policy::from_toml(&options.policy).unwrap();
            let (publish, policy_rx) = tokio::sync::watch::channel(Arc::new(policy));
            std::mem::forget(publish);
            let mut recording = RecordingSettings::new(data_dir.clone());
            recording.writer = WriterOptions {
                sync: SyncPolicy::OnFlush,
                ..WriterOptions::default()
            };
            let broker = options
                .broker
                .clone()
                .map(|settings| Broker::new(store.clone(), settings));
            let deps = GatewayDeps {
                approvals: broker.clone(),
                store: store.clone(),
                master_key: Arc::new(key),
                client_tls: None,
                target_tls: None,
                policy: policy_rx,
                recording,
                mask_hash_key: Secret::new(vec![7u8; 32]),
                pg: PgSettings::default(),
                oidc: options.oidc.clone(),
            };
            let mut settings = SshSettings::new(&data_dir);
            settings.allow_token_password = options.allow_token_password;
            settings.drain_timeout = Duration::from_secs(2);
            let listener = SshListener::bind("127.0.0.1:0".parse().unwrap(), Arc::new(deps), settings)
                .await
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let host_key = listener.host_public_key();
            let (shutdown, stop) = oneshot::channel::<()>();
            tokio::spawn(listener.serve(async move {
                let _ = stop.await;
            }));
            (store, secret.expose().clone(), addr, host_key, broker, shutdown)
        });
        let known_hosts = dir.path().join("known_hosts");
        std::fs::write(&known_hosts, format!("[127.0.0.1]:{} {host_key}\n", addr.port())).unwrap();
        Harness {
            sshd,
            addr,
            token,
            store,
            runtime,
            user_key,
            known_hosts,
            data_dir,
            dir,
            broker,
            shutdown: Some(shutdown),
        }
    }

    /// Common OpenSSH options: no user configuration, strict host key checking against the gateway's key,
    /// alice's key only, nothing prompts.
    pub fn ssh_options(&self, key: &Path) -> Vec<String> {
        vec![
            "-F".into(),
            "/dev/null".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "StrictHostKeyChecking=yes".into(),
            "-o".into(),
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "-o".into(),
            "GlobalKnownHostsFile=/dev/null".into(),
            "-o".into(),
            "IdentitiesOnly=yes".into(),
            "-o".into(),
            "IdentityAgent=none".into(),
            "-o".into(),
            "LogLevel=ERROR".into(),
            "-o".into(),
            "ConnectTimeout=30".into(),
            "-i".into(),
            key.display().to_string(),
        ]
    }

    /// `ssh -p PORT alice%web-1@127.0.0.1`; append the remote command.
    pub fn ssh(&self) -> Command {
        self.ssh_as("alice%web-1")
    }

    pub fn ssh_as(&self, login: &str) -> Command {
        let mut command = Command::new("ssh");
        command
            .args(self.ssh_options(&self.user_key))
            .args(["-p", &self.addr.port().to_string()])
            .arg(format!("{login}@127.0.0.1"));
        command
    }

    /// `scp`/`sftp` with the same options (`-P` port).
    pub fn scp(&self) -> Command {
        let mut command = Command::new("scp");
        command
            .args(self.ssh_options(&self.user_key))
            .args(["-P", &self.addr.port().to_string()]);
        command
    }

    pub fn sftp(&self) -> Command {
        let mut command = Command::new("sftp");
        command
            .args(self.ssh_options(&self.user_key))
            .args(["-P", &self.addr.port().to_string()]);
        command
    }

    /// Runs a command with a timeout, returning its output.
    pub fn run(&self, command: &mut Command) -> Output {
        run_with_timeout(command, Duration::from_secs(60))
    }

    /// Events of the most recent session's recording, after it closed.
    pub fn last_session_events(&self) -> Vec<Event> {
        let path = self.runtime.block_on(async {
            for _ in 0..100 {
                let sessions = self.store.list_sessions(&SessionFilter::default()).await.unwrap();
                if let Some(s) = sessions.first().filter(|s| s.end.is_some()) {
                    return PathBuf::from(&s.start.recording_path);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("no closed session in the index");
        });
        let report = sluice_record::verify(&path).unwrap();
        assert!(report.broken.is_none(), "recording chain broken: {report:?}");
        let reader = sluice_record::Reader::open(&path).unwrap();
        reader.map(|r| r.unwrap().event).collect()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Runs `command`, killing it after `timeout`.
pub fn run_with_timeout(command: &mut Command, timeout: Duration) -> Output {
    use std::process::Stdio;
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn client (Debian package openssh-client)");
    wait_with_timeout(child, &format!("{command:?}"), timeout)
}

/// Waits for a spawned client (`what`, for the failure message) and collects its output, killing it after `timeout`.
pub fn wait_with_timeout(child: std::process::Child, what: &str, timeout: Duration) -> Output {
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("{what} did not finish within {timeout:?}");
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Everything the target printed (stdout, as recorded), in order.
pub fn recorded_output(events: &[Event]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::TerminalOutput(d) => Some(d.data.as_slice()),
            _ => None,
        })
        .flatten()
        .copied()
        .collect()
}

/// Everything the client sent (typed or piped, as recorded), in order.
pub fn recorded_input(events: &[Event]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::TerminalInput(d) => Some(d.data.as_slice()),
            _ => None,
        })
        .flatten()
        .copied()
        .collect()
}
