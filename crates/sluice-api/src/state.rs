//! What every handler shares: the store, the master key that seals credentials, and request-level settings.

use sluice_store::seal::MasterKey;
use sluice_store::Store;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// Settings of the API that come from configuration.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Request body cap in bytes; larger bodies are answered with 413.
    pub max_body_bytes: usize,
    /// Peers whose `X-Forwarded-For` header is believed for the audit log's client address.
    pub trusted_proxies: Vec<IpAddr>,
}

/// Shared handler state. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    master_key: Arc<MasterKey>,
    settings: ApiSettings,
    /// OpenID providers and web logins in progress; `None` when no provider is configured.
    oidc: Option<Arc<crate::oidc::OidcState>>,
    /// The approvals broker, when the gateway runs one (decisions then wake held sessions at once).
    broker: Option<Arc<sluice_approvals::Broker>>,
    /// Told when a policy is applied, so this process's proxies pick it up at once (others poll the store).
    policy_applied: Option<Arc<tokio::sync::Notify>>,
}

impl ApiState {
    /// Builds the state from an open store, the checked master key and the settings.
    pub fn new(store: Store, master_key: Arc<MasterKey>, settings: ApiSettings) -> Self {
        ApiState {
            inner: Arc::new(Inner {
                store,
                master_key,
                settings,
                oidc: None,
                broker: None,
                policy_applied: None,
            }),
        }
    }

    /// Adds OpenID login: the configured providers (discovered or still being retried) and their session settings.
    /// Without it, the login routes answer that no provider is configured and provider bearer tokens are refused like
    /// any unknown token.
    pub fn with_oidc(
        self,
        providers: Arc<sluice_identity::oidc::Providers>,
        settings: crate::OidcSettings,
    ) -> Self {
        ApiState {
            inner: Arc::new(Inner {
                store: self.inner.store.clone(),
                master_key: self.inner.master_key.clone(),
                settings: self.inner.settings.clone(),
                oidc: Some(Arc::new(crate::oidc::OidcState::new(providers, settings))),
                broker: self.inner.broker.clone(),
                policy_applied: self.inner.policy_applied.clone(),
            }),
        }
    }

    /// Adds the approvals broker: review and access decisions go through it, so a statement held by this
    /// process's gateway is released at once (other gateways learn through the store). Without it, decisions go
    /// straight to the store and waiters notice them on their next poll.
    pub fn with_broker(self, broker: Arc<sluice_approvals::Broker>) -> Self {
        ApiState {
            inner: Arc::new(Inner {
                store: self.inner.store.clone(),
                master_key: self.inner.master_key.clone(),
                settings: self.inner.settings.clone(),
                oidc: self.inner.oidc.clone(),
                broker: Some(broker),
                policy_applied: self.inner.policy_applied.clone(),
            }),
        }
    }

    /// Adds a notification sent after every successful policy apply (the gateway's policy watcher waits on it).
    pub fn with_policy_listener(self, applied: Arc<tokio::sync::Notify>) -> Self {
        ApiState {
            inner: Arc::new(Inner {
                store: self.inner.store.clone(),
                master_key: self.inner.master_key.clone(),
                settings: self.inner.settings.clone(),
                oidc: self.inner.oidc.clone(),
                broker: self.inner.broker.clone(),
                policy_applied: Some(applied),
            }),
        }
    }

    /// Tells the policy listener, if any, that a new policy version was applied.
    pub(crate) fn policy_applied(&self) {
        if let Some(applied) = &self.inner.policy_applied {
            // `notify_one` keeps a permit when nobody waits right now, so an apply is never missed.
            applied.notify_one();
        }
    }

    /// The approvals broker, when configured.
    pub fn broker(&self) -> Option<&Arc<sluice_approvals::Broker>> {
        self.inner.broker.as_ref()
    }

    /// The OpenID state, when configured.
    pub(crate) fn oidc(&self) -> Option<&crate::oidc::OidcState> {
        self.inner.oidc.as_deref()
    }

    /// The state store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The key that seals target credentials.
    pub fn master_key(&self) -> &MasterKey {
        &self.inner.master_key
    }

    /// Settings from configuration.
    pub fn settings(&self) -> &ApiSettings {
        &self.inner.settings
    }
}

impl fmt::Debug for ApiState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiState")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}
