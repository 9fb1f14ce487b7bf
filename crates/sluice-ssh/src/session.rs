//! One authenticated SSH connection: who it is, the judge, the session log, and the target connection (opened on
//! the first channel and shared by every channel of the session).

use std::net::SocketAddr;
use std::sync::Arc;

use sluice_gateway::GatewayDeps;
use sluice_record::{Event, NoticeEvent};
use tokio::sync::Mutex;

use crate::judge::Judge;
use crate::login::Authorized;
use crate::record::SessionLog;
use crate::review::ReviewContext;
use crate::target::{self, TargetHandle, TargetOptions};
use crate::{SshError, SshSettings};

/// A session after authentication.
pub struct Ready {
    /// Who, to what.
    pub who: Authorized,
    /// The connection's SSH options.
    pub options: TargetOptions,
    /// Policy, with the snapshot taken at login.
    pub judge: Judge,
    /// The recording.
    pub log: Arc<SessionLog>,
    /// Holds commands the policy sends to review; `None` when the gateway runs no approvals broker.
    pub reviews: Option<ReviewContext>,
    /// Read-locked by every command held for review until its outcome is recorded; the connection task
    /// write-locks it before closing the recording, so a client that leaves mid-hold still gets its `Approval`.
    pub holding: tokio::sync::RwLock<()>,
    deps: Arc<GatewayDeps>,
    settings: SshSettings,
    target: Mutex<Option<Arc<TargetHandle>>>,
}

impl std::fmt::Debug for Ready {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ready")
            .field("user", &self.who.user.name)
            .field("connection", &self.who.connection.name)
            .field("session", &self.log.id)
            .finish_non_exhaustive()
    }
}

impl Ready {
    /// Opens the session log and takes the policy snapshot.
    pub async fn start(
        deps: &Arc<GatewayDeps>,
        settings: &SshSettings,
        who: Authorized,
        peer: SocketAddr,
    ) -> Result<Ready, SshError> {
        let options = TargetOptions::from_connection(&who.connection)?;
        let policy = deps.policy.borrow().clone();
        let judge = Judge::new(policy, &who, &options, deps.mask_hash_key.expose().clone());
        let output_limit = options.record_output_limit.filter(|_| options.record_output);
        let log =
            SessionLog::open(&deps.store, &deps.recording, &who, peer.to_string(), output_limit).await?;
        if !options.record_output {
            // Said once at the start, so a replay shows why there is no output.
            log.append(&Event::Notice(NoticeEvent {
                severity: "NOTICE".to_owned(),
                message:
                    "terminal output is not recorded on this connection (record_output = false); input, \
                          commands, decisions and transfers are"
                        .to_owned(),
            }))?;
        }
        let reviews = ReviewContext::new(deps, &who, log.id, judge.text_masker());
        Ok(Ready {
            who,
            options,
            judge,
            log,
            reviews,
            holding: tokio::sync::RwLock::new(()),
            deps: Arc::clone(deps),
            settings: settings.clone(),
            target: Mutex::new(None),
        })
    }

    /// The target connection, connecting on first use. A failed attempt is retried by the next channel.
    pub async fn target(&self) -> Result<Arc<TargetHandle>, SshError> {
        let mut slot = self.target.lock().await;
        if let Some(handle) = slot.as_ref().filter(|h| !h.is_closed()) {
            return Ok(Arc::clone(handle));
        }
        let handle = Arc::new(
            target::connect(
                &self.deps,
                &self.who.connection,
                &self.options,
                self.settings.target_connect_timeout,
            )
            .await?,
        );
        *slot = Some(Arc::clone(&handle));
        Ok(handle)
    }

    /// Closes the target connection (the client left).
    pub async fn disconnect_target(&self) {
        if let Some(handle) = self.target.lock().await.take() {
            let _ = handle
                .disconnect(russh::Disconnect::ByApplication, "client left", "en")
                .await;
        }
    }
}
