//! The configuration file exactly as written by the operator: serde structs that mirror the TOML.
//!
//! Every struct denies unknown fields, so a typo such as `listn = ...` stops start-up instead of being silently
//! ignored. Values that need more than a type check (addresses, paths that must come in pairs) are wrapped in
//! [`toml::Spanned`] so that validation errors can point at the line that holds them. Nothing here has defaults
//! beyond "absent"; defaults are decided in one place, `load.rs`.

use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

/// The whole file. Every section is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Where sluice keeps its state: the SQLite database, the master key, TLS material, the admin token.
    /// Relative paths are taken from the working directory. Default: `./sluice-data`.
    pub data_dir: Option<Spanned<PathBuf>>,
    /// The state store.
    #[serde(default)]
    pub store: RawStore,
    /// The REST API.
    #[serde(default)]
    pub api: RawApi,
    /// The TLS certificate served by the API and protocol listeners.
    #[serde(default)]
    pub tls: RawTls,
    /// Protocol listeners.
    #[serde(default)]
    pub listeners: RawListeners,
    /// Logging.
    #[serde(default)]
    pub logging: RawLogging,
    /// OpenID providers.
    #[serde(default)]
    pub oidc: crate::oidc::RawOidc,
    /// The approvals broker and its webhooks.
    #[serde(default)]
    pub approvals: RawApprovals,
    /// Session recording.
    #[serde(default)]
    pub recording: RawRecording,
}

/// `[store]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// `sqlite:///abs/path/state.db` or `postgres://user@host/db`. Default: SQLite under the data dir.
    pub url: Option<Spanned<String>>,
    /// File holding the master key that seals target credentials (32 bytes, base64). Default: `DATA_DIR/master.key`.
    /// The key itself is never written in this file; use `SLUICE_MASTER_KEY` to pass it by environment.
    pub master_key_file: Option<Spanned<PathBuf>>,
}

/// `[api]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    /// Address the REST API listens on. Default: `127.0.0.1:8009`.
    pub listen: Option<Spanned<String>>,
    /// Serve the API over TLS with the certificate from `[tls]`. Default: false (loopback HTTP).
    pub tls: Option<bool>,
    /// Largest request body accepted, in bytes; larger bodies get 413. Default: 1 MiB.
    pub max_body_bytes: Option<Spanned<u64>>,
    /// Peers whose `X-Forwarded-For` header is believed when recording the client address in the audit log.
    /// Default: none (the TCP peer address is recorded).
    pub trusted_proxies: Option<Vec<Spanned<String>>>,
}

/// `[tls]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM certificate chain. Give both `cert` and `key`, or neither (a self-signed pair is generated).
    pub cert: Option<Spanned<PathBuf>>,
    /// PEM private key matching `cert`.
    pub key: Option<Spanned<PathBuf>>,
    /// Extra DNS names or IP addresses put in the generated certificate, besides localhost, 127.0.0.1 and ::1.
    pub names: Option<Vec<Spanned<String>>>,
}

/// `[listeners]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListeners {
    /// Threads that run protocol sessions, each session on one of them for its whole life. Default: one per core.
    pub session_threads: Option<Spanned<i64>>,
    /// `[listeners.postgres]`
    pub postgres: Option<RawPostgresListener>,
    /// `[listeners.ssh]`
    pub ssh: Option<RawSshListener>,
}

/// `[listeners.postgres]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPostgresListener {
    /// Address to listen on. Default: `127.0.0.1:15432`.
    pub listen: Option<Spanned<String>>,
    /// Set to false to not open this listener. Default: true.
    pub enabled: Option<bool>,
    /// Accept sluice tokens as cleartext passwords without TLS, from loopback clients only. Default: false.
    pub allow_loopback_cleartext: Option<bool>,
}

/// `[listeners.ssh]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSshListener {
    /// Address to listen on. Default: `127.0.0.1:12222`.
    pub listen: Option<Spanned<String>>,
    /// Set to false to not open this listener. Default: true.
    pub enabled: Option<bool>,
    /// Accept a sluice token typed as the SSH password. Default: false (keys only).
    pub allow_token_password: Option<bool>,
    /// The gateway's host key file. Default: generated in the data directory on first start.
    pub host_key: Option<Spanned<PathBuf>>,
}

/// `[approvals]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApprovals {
    /// How long a held statement waits for a decision (`2m`, `90s`). Default: 2m.
    pub hold_timeout: Option<Spanned<String>>,
    /// How long an approval grants one execution after its hold timed out. Default: 1h.
    pub grant_window: Option<Spanned<String>>,
    /// Whether admins outside a rule's approver groups may decide. Default: false.
    pub admins_may_approve: Option<bool>,
    /// Groups whose members may decide access requests. Default: none (admins only).
    pub access_approver_groups: Option<Vec<Spanned<String>>>,
    /// How long an access request stays open. Default: 24h.
    pub access_request_ttl: Option<Spanned<String>>,
    /// Base URL of the API, for links in Slack messages (`https://sluice.example.com`).
    pub public_url: Option<Spanned<String>>,
    /// `[[approvals.webhooks]]`
    #[serde(default)]
    pub webhooks: Vec<RawWebhook>,
}

/// One `[[approvals.webhooks]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// Unique name (`[A-Za-z0-9_-]+`).
    pub name: Spanned<String>,
    /// `http://` or `https://` URL.
    pub url: Spanned<String>,
    /// Signing secret in clear (prefer `secret_file` or `SLUICE_WEBHOOK_<NAME>_SECRET`).
    pub secret: Option<Spanned<String>>,
    /// File holding the signing secret (trailing newline ignored).
    pub secret_file: Option<Spanned<PathBuf>>,
    /// `json` (default) or `slack`.
    pub format: Option<Spanned<String>>,
    /// Events sent; default all.
    pub events: Option<Vec<Spanned<String>>>,
    /// `global` (default: every event) or `policy` (only events of policies that name it in `notify`).
    pub scope: Option<Spanned<String>>,
}

/// `[recording]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecording {
    /// Result rows kept per statement in a recording. Default: 1000.
    pub row_cap: Option<Spanned<i64>>,
    /// `"always"` (fdatasync before every response) or the longest time between syncs, e.g. `"1s"` (default).
    pub sync: Option<Spanned<String>>,
}

/// `[logging]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogging {
    /// `error`, `warn`, `info`, `debug` or `trace`. Default: `info`.
    pub level: Option<crate::LogLevel>,
    /// `text` (for people) or `json` (for log shippers). Default: `text`.
    pub format: Option<crate::LogFormat>,
}
