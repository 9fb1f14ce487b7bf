//! The live policy: loaded from the store at start-up and republished to the proxies whenever a new version is
//! applied.
//!
//! The store is the source of truth (several gateways may share it), so the watcher compares the active version
//! with the one it published: at once when this process's API applied a policy (a [`Notify`] from the API), and
//! every [`POLL_INTERVAL`] for versions applied through another gateway. Sessions take the policy current when they
//! start and keep it (DESIGN.md invariant 4).
//!
//! Fail closed: a stored policy that does not load refuses start-up; one that stops loading later (it was
//! validated when applied, so only a downgrade can do that) leaves the previous policy in force and logs why.

use anyhow::Context as _;
use sluice_approvals::webhook::WebhookRoutes;
use sluice_approvals::Broker;
use sluice_policy::Policy;
use sluice_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// How often the watcher looks for a policy applied through another gateway.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The policy in force and its store version (`None`: none applied yet).
pub struct Loaded {
    /// The parsed policy.
    pub policy: Arc<Policy>,
    /// Its version.
    pub version: Option<i64>,
}

/// Loads the active policy. With none applied, the gateway runs without guardrails (identity, read-only
/// connections and recording still apply) and says so in the log.
pub async fn load(store: &Store) -> anyhow::Result<Loaded> {
    let active = store
        .active_policy()
        .await
        .context("cannot read the active policy from the state store")?;
    match active {
        None => {
            tracing::warn!(
                "no policy has been applied: statements are allowed (and recorded); apply one with `sluice policy apply`"
            );
            Ok(Loaded {
                policy: Arc::new(Policy::default()),
                version: None,
            })
        }
        Some(version) => {
            let policy = Policy::from_toml(&version.source).with_context(|| {
                format!(
                    "refusing to start: the active policy (version {}) does not load; apply a corrected one",
                    version.id
                )
            })?;
            tracing::info!(version = version.id, "policy loaded");
            Ok(Loaded {
                policy: Arc::new(policy),
                version: Some(version.id),
            })
        }
    }
}

/// Routes webhook events by the live policy's `notify` lists (see `sluice_policy::Policy::review_webhooks`).
#[derive(Debug)]
pub struct PolicyRoutes(pub watch::Receiver<Arc<Policy>>);

impl WebhookRoutes for PolicyRoutes {
    fn review(&self, connection: &str, rule: &str) -> Vec<String> {
        self.0.borrow().review_webhooks(connection, rule)
    }

    fn access(&self, connection: &str) -> Vec<String> {
        self.0.borrow().access_webhooks(connection)
    }
}

/// Logs an error naming the webhooks `policy` routes events to that this gateway does not configure. The API
/// refuses to apply such a policy, but it may have been applied through a gateway configured differently, or the
/// configuration changed since; the policy is still enforced (only those notifications are lost).
pub fn check_webhooks(broker: &Broker, policy: &Policy, version: Option<i64>) {
    let names = policy.webhook_names();
    let unknown = broker.unknown_webhooks(names.iter().map(String::as_str));
    if !unknown.is_empty() {
        tracing::error!(
            version,
            webhooks = %unknown.join(", "),
            "the policy names webhooks in `notify` that are not configured in [[approvals.webhooks]]; they are not notified"
        );
    }
}

/// Republishes the policy on `publish` whenever the store's active version changes, until `stop` turns true.
pub fn spawn(
    store: Store,
    publish: watch::Sender<Arc<Policy>>,
    mut version: Option<i64>,
    applied_here: Arc<Notify>,
    broker: Arc<Broker>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(POLL_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                () = applied_here.notified() => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            version = refresh(&store, &publish, version, &broker).await;
        }
    })
}

/// One look at the store; returns the version now published.
async fn refresh(
    store: &Store,
    publish: &watch::Sender<Arc<Policy>>,
    current: Option<i64>,
    broker: &Broker,
) -> Option<i64> {
    let active = match store.active_policy().await {
        Ok(active) => active,
        Err(error) => {
            tracing::warn!(%error, "cannot read the active policy; keeping the one in force");
            return current;
        }
    };
    let Some(active) = active else {
        return current;
    };
    if Some(active.id) == current {
        return current;
    }
    match Policy::from_toml(&active.source) {
        Ok(policy) => {
            check_webhooks(broker, &policy, Some(active.id));
            publish.send_replace(Arc::new(policy));
            tracing::info!(version = active.id, "policy updated; new sessions use it");
            Some(active.id)
        }
        Err(error) => {
            tracing::error!(%error, version = active.id, "the applied policy does not load; keeping the one in force");
            // Not retried until the next version: the text does not change.
            Some(active.id)
        }
    }
}
