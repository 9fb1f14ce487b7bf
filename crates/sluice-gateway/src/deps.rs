//! What the composition root hands the proxies: the store, keys, TLS, the live policy, recording and protocol
//! settings. Built once at start-up and shared (`Arc`) by every listener and session.
//!
//! The policy is published through a `watch` channel: a reload sends a new `Arc<Policy>` and every session that
//! starts afterwards takes it; a running session keeps the snapshot it started with (DESIGN.md invariant 4).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sluice_model::Secret;
use sluice_policy::Policy;
use sluice_record::WriterOptions;
use sluice_store::seal::MasterKey;
use sluice_store::Store;
use tokio::sync::watch;

/// Everything a proxy needs from the rest of sluice.
#[derive(Debug)]
pub struct GatewayDeps {
    /// The state store (users, tokens, connections).
    pub store: Store,
    /// Opens the sealed target credentials.
    pub master_key: Arc<MasterKey>,
    /// TLS offered to clients; `None` answers SSLRequest with `N`.
    pub client_tls: Option<Arc<rustls::ServerConfig>>,
    /// TLS used towards targets whose connection asks for `tls = "verify-full"` (roots chosen by the root).
    /// Connections with `tls = "require"` encrypt without verifying, like libpq's `sslmode=require`.
    pub target_tls: Option<Arc<rustls::ClientConfig>>,
    /// The active policy; see the module docs.
    pub policy: watch::Receiver<Arc<Policy>>,
    /// Where and how sessions are recorded.
    pub recording: RecordingSettings,
    /// Key of the `hash` mask style (at least `sluice_mask::MIN_HASH_KEY_LEN` bytes when a policy uses it).
    pub mask_hash_key: Secret<Vec<u8>>,
    /// PostgreSQL listener settings.
    pub pg: PgSettings,
    /// The just-in-time approvals broker. `None`: statements the policy sends to review are refused.
    pub approvals: Option<Arc<sluice_approvals::Broker>>,
    /// OpenID providers whose JWT access tokens are accepted as passwords (only those configured with
    /// `allow_bearer`); `None` when no provider is configured.
    pub oidc: Option<Arc<sluice_identity::oidc::Providers>>,
}

/// How often a busy session's recording is forced to stable storage by default. A sync per statement (the
/// alternative, `[recording] sync_interval = "0s"`) costs ~150 µs on this project's test machines, more than a
/// simple statement itself, and blocks the session's worker while it runs.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Recording settings.
#[derive(Debug, Clone)]
pub struct RecordingSettings {
    /// The data directory; recordings go to `DATA_DIR/recordings/...` (see `sluice_record::recording_path`).
    pub data_dir: PathBuf,
    /// Segment size and sync policy.
    pub writer: WriterOptions,
    /// Result rows recorded per statement; the rest are counted.
    pub row_cap: u64,
}

impl RecordingSettings {
    /// Defaults: events reach the operating system before the response they describe is released (a gateway
    /// crash loses nothing answered) and are `fdatasync`ed at most every second ([`DEFAULT_SYNC_INTERVAL`]);
    /// 1 000 rows per statement.
    pub fn new(data_dir: PathBuf) -> Self {
        RecordingSettings {
            data_dir,
            writer: WriterOptions {
                sync: sluice_record::SyncPolicy::Interval(DEFAULT_SYNC_INTERVAL),
                ..WriterOptions::default()
            },
            row_cap: 1_000,
        }
    }
}

/// PostgreSQL proxy settings.
#[derive(Debug, Clone)]
pub struct PgSettings {
    /// Accept tokens over unencrypted connections from loopback addresses (for local tools and tests).
    /// Off by default: tokens travel only inside TLS.
    pub allow_loopback_cleartext: bool,
    /// Largest message a client may send (Query, Parse, Bind, CopyData), in bytes.
    pub max_client_message: u32,
    /// How long to wait for the target's TCP connect and login.
    pub target_connect_timeout: Duration,
    /// How long the client has to complete startup and authentication.
    pub startup_timeout: Duration,
    /// How long shutdown waits for sessions to reach an idle point.
    pub drain_timeout: Duration,
}

impl Default for PgSettings {
    fn default() -> Self {
        PgSettings {
            allow_loopback_cleartext: false,
            max_client_message: 64 * 1024 * 1024,
            target_connect_timeout: Duration::from_secs(10),
            startup_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(30),
        }
    }
}
