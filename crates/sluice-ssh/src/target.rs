//! The target leg: an SSH client (russh) logging in to the connection's host with the gateway's sealed credential,
//! after checking the host key against the pin.
//!
//! Host key trust, strictest first: a key configured on the connection (`options.host_key`, an OpenSSH public key
//! line) must match; otherwise the key pinned in the store must match; otherwise the key offered is pinned (trust on
//! first use) and later connections must present the same key. A mismatch refuses the connection before any
//! credential is sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use sluice_gateway::GatewayDeps;
use sluice_store::{Connection, CredentialKind};

use crate::SshError;

/// The SSH-specific options of a connection (its `options` JSON). Unknown keys are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetOptions {
    /// Policy tags.
    pub tags: Vec<String>,
    /// Read-only connection: the policy's `read_only` guardrail applies to every command.
    pub read_only: bool,
    /// A configured host key (OpenSSH public key line); when set, TOFU pinning is not used.
    pub host_key: Option<String>,
    /// Whether `ssh -L` local forwarding may be used (and then policy still decides per destination).
    pub allow_port_forwarding: bool,
    /// Refuse interactive shells and subsystems: only `ssh host 'command'`, each command checked by the policy.
    pub exec_only: bool,
    /// Whether terminal output is recorded (`false`: input-only recording for hosts with huge output).
    pub record_output: bool,
    /// Most bytes of terminal output recorded per session (`options.record_output_limit`, bytes; `0`: no limit;
    /// default [`DEFAULT_RECORD_OUTPUT_LIMIT`]). Past it, output is still relayed but no longer recorded: the
    /// recording gets a warning event and the user a warning on stderr.
    pub record_output_limit: Option<u64>,
}

/// Default cap on recorded terminal output per session: 64 MiB (about 90 MB of recording once encoded). Interactive
/// work stays far below it; a `cat` of a huge file does not fill the recordings disk.
pub const DEFAULT_RECORD_OUTPUT_LIMIT: u64 = 64 * 1024 * 1024;

impl TargetOptions {
    /// Reads the options; wrong types are refused.
    pub fn from_connection(connection: &Connection) -> Result<TargetOptions, SshError> {
        let misconfigured = |reason| SshError::Misconfigured {
            connection: connection.name.clone(),
            reason,
        };
        let o = &connection.options;
        let flag = |key: &str, default: bool| match o.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or(misconfigured("a boolean option has a non-boolean value")),
        };
        let tags = match o.get("tags") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
                .ok_or(misconfigured("options.tags must be a list of strings"))?,
        };
        let host_key = match o.get("host_key") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .ok_or(misconfigured(
                        "options.host_key must be an OpenSSH public key line",
                    ))?
                    .to_owned(),
            ),
        };
        let record_output_limit = match o.get("record_output_limit") {
            None => Some(DEFAULT_RECORD_OUTPUT_LIMIT),
            Some(v) => match v.as_u64().ok_or(misconfigured(
                "options.record_output_limit must be a number of bytes (0: no limit)",
            ))? {
                0 => None,
                limit => Some(limit),
            },
        };
        Ok(TargetOptions {
            tags,
            read_only: flag("read_only", false)?,
            host_key,
            allow_port_forwarding: flag("allow_port_forwarding", false)?,
            exec_only: flag("exec_only", false)?,
            record_output: flag("record_output", true)?,
            record_output_limit,
        })
    }
}

/// A key in canonical OpenSSH form (`ssh-ed25519 AAAA…`, no comment) and its `SHA256:` fingerprint.
pub fn canonical(key: &PublicKey) -> (String, String) {
    let bare = PublicKey::new(key.key_data().clone(), "");
    let text = bare.to_openssh().map(|t| t.trim().to_owned()).unwrap_or_default();
    (text, key.fingerprint(HashAlg::Sha256).to_string())
}

/// The target-side russh handler: host key check only.
#[derive(Debug)]
pub struct TargetHandler {
    deps: Arc<GatewayDeps>,
    connection: Connection,
    configured: Option<PublicKey>,
    /// Why the host key was refused, for the error message (russh only reports "unknown key").
    refusal: Arc<Mutex<Option<SshError>>>,
}

impl client::Handler for TargetHandler {
    type Error = russh::Error;

    async fn check_server_key(&mut self, offered: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = offered else {
            self.refuse(SshError::Misconfigured {
                connection: self.connection.name.clone(),
                reason: "the target offered a host certificate; certificates are not supported",
            });
            return Ok(false);
        };
        let (text, fingerprint) = canonical(key);
        if let Some(configured) = &self.configured {
            if configured.key_data() == key.key_data() {
                return Ok(true);
            }
            let pinned = configured.fingerprint(HashAlg::Sha256).to_string();
            self.refuse(self.changed(pinned, fingerprint));
            return Ok(false);
        }
        let store = &self.deps.store;
        let pin = match store.host_key_pin(self.connection.id).await {
            Ok(Some(pin)) => pin,
            Ok(None) => match store.pin_host_key(self.connection.id, &text, &fingerprint).await {
                Ok(pin) => {
                    if pin.public_key == text {
                        tracing::info!(connection = %self.connection.name, %fingerprint, "pinned the target host key on first use");
                    }
                    pin
                }
                Err(e) => {
                    self.refuse(e.into());
                    return Ok(false);
                }
            },
            Err(e) => {
                self.refuse(e.into());
                return Ok(false);
            }
        };
        if pin.public_key == text {
            Ok(true)
        } else {
            tracing::warn!(connection = %self.connection.name, pinned = %pin.fingerprint, offered = %fingerprint, "target host key changed; refused");
            self.refuse(self.changed(pin.fingerprint, fingerprint));
            Ok(false)
        }
    }
}

impl TargetHandler {
    fn refuse(&self, error: SshError) {
        if let Ok(mut slot) = self.refusal.lock() {
            *slot = Some(error);
        }
    }

    fn changed(&self, pinned: String, offered: String) -> SshError {
        SshError::HostKeyChanged {
            connection: self.connection.name.clone(),
            pinned,
            offered,
        }
    }
}

/// Ciphers offered to targets, AES-GCM first: with AES-NI, ring's AES-GCM costs a fraction of its
/// ChaCha20-Poly1305 (its Poly1305 alone was over a quarter of the gateway's CPU relaying a `cat`); the client leg
/// keeps the client's own preference.
const TARGET_CIPHERS: &[russh::cipher::Name] = &[
    russh::cipher::AES_256_GCM,
    russh::cipher::AES_128_GCM,
    russh::cipher::CHACHA20_POLY1305,
    russh::cipher::AES_256_CTR,
    russh::cipher::AES_192_CTR,
    russh::cipher::AES_128_CTR,
];

/// A logged-in target connection.
pub type TargetHandle = client::Handle<TargetHandler>;

/// Connects and logs in to the connection's target within `timeout`.
pub async fn connect(
    deps: &Arc<GatewayDeps>,
    connection: &Connection,
    options: &TargetOptions,
    timeout: Duration,
) -> Result<TargetHandle, SshError> {
    match tokio::time::timeout(timeout, connect_inner(deps, connection, options)).await {
        Ok(result) => result,
        Err(_) => Err(SshError::TargetConnect {
            connection: connection.name.clone(),
            reason: "timed out".to_owned(),
        }),
    }
}

async fn connect_inner(
    deps: &Arc<GatewayDeps>,
    connection: &Connection,
    options: &TargetOptions,
) -> Result<TargetHandle, SshError> {
    let failed = |reason: String| SshError::TargetConnect {
        connection: connection.name.clone(),
        reason,
    };
    let misconfigured = |reason| SshError::Misconfigured {
        connection: connection.name.clone(),
        reason,
    };
    let configured = match &options.host_key {
        Some(line) => Some(
            PublicKey::from_openssh(line)
                .map_err(|_| misconfigured("options.host_key is not an OpenSSH public key"))?,
        ),
        None => None,
    };
    let username = connection
        .username
        .clone()
        .ok_or(misconfigured("an SSH connection needs a target user"))?;
    let sealed = connection.credential.as_ref().ok_or(misconfigured(
        "an SSH connection needs a private key or a password",
    ))?;
    let secret = deps
        .master_key
        .open(&sealed.sealed, connection.name.as_bytes())
        .map_err(|_| misconfigured("the sealed credential cannot be opened with this master key"))?;

    let refusal = Arc::new(Mutex::new(None));
    let handler = TargetHandler {
        deps: Arc::clone(deps),
        connection: connection.clone(),
        configured,
        refusal: Arc::clone(&refusal),
    };
    let config = Arc::new(client::Config {
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(30)),
        nodelay: true,
        preferred: russh::Preferred {
            cipher: std::borrow::Cow::Borrowed(TARGET_CIPHERS),
            ..russh::Preferred::default()
        },
        ..client::Config::default()
    });
    let socket = tokio::net::TcpStream::connect((connection.host.as_str(), connection.port))
        .await
        .map_err(|e| failed(e.kind().to_string()))?;
    let _ = socket.set_nodelay(true);
    let mut handle = match client::connect_stream(config, socket, handler).await {
        Ok(handle) => handle,
        Err(e) => {
            let refused = refusal.lock().ok().and_then(|mut slot| slot.take());
            return Err(refused.unwrap_or_else(|| failed(format!("SSH handshake failed: {e}"))));
        }
    };
    let auth = match sealed.kind {
        CredentialKind::PrivateKey => {
            let text = std::str::from_utf8(secret.expose())
                .map_err(|_| misconfigured("the private key is not text"))?;
            let key = russh::keys::decode_secret_key(text, None).map_err(|_| {
                misconfigured("the private key cannot be read (encrypted keys are not supported)")
            })?;
            let hash = if key.algorithm().is_rsa() {
                handle.best_supported_rsa_hash().await?.flatten()
            } else {
                None
            };
            handle
                .authenticate_publickey(username, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
                .await?
        }
        CredentialKind::Password => {
            let password = std::str::from_utf8(secret.expose())
                .map_err(|_| misconfigured("the password is not text"))?;
            handle.authenticate_password(username, password).await?
        }
    };
    if !auth.success() {
        return Err(failed("the target refused the gateway's credential".to_owned()));
    }
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::{TargetOptions, DEFAULT_RECORD_OUTPUT_LIMIT};
    use sluice_model::{ConnectionId, Protocol};
    use sluice_store::Connection;

    fn options(options: serde_json::Value) -> Result<TargetOptions, crate::SshError> {
        TargetOptions::from_connection(&Connection {
            id: ConnectionId::new(),
            name: "web-1".to_owned(),
            protocol: Protocol::Ssh,
            host: "127.0.0.1".to_owned(),
            port: 22,
            username: Some("deploy".to_owned()),
            database: None,
            groups: vec!["ops".to_owned()],
            credential: None,
            options,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        })
    }

    #[test]
    fn output_is_recorded_up_to_the_default_limit_unless_configured() {
        let o = options(serde_json::json!({})).unwrap();
        assert!(o.record_output);
        assert_eq!(o.record_output_limit, Some(DEFAULT_RECORD_OUTPUT_LIMIT));
        let o = options(serde_json::json!({ "record_output_limit": 4096 })).unwrap();
        assert_eq!(o.record_output_limit, Some(4096));
        let o = options(serde_json::json!({ "record_output_limit": 0 })).unwrap();
        assert_eq!(o.record_output_limit, None, "0 means no limit");
        let o = options(serde_json::json!({ "record_output": false })).unwrap();
        assert!(!o.record_output);
    }

    #[test]
    fn a_limit_that_is_not_a_byte_count_is_refused() {
        for bad in [
            serde_json::json!("64MiB"),
            serde_json::json!(-1),
            serde_json::json!(1.5),
            serde_json::json!(null),
        ] {
            let error = options(serde_json::json!({ "record_output_limit": bad })).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("record_output_limit must be a number of bytes"),
                "{bad}: {error}"
            );
        }
    }
}
