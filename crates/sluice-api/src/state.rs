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
}

impl ApiState {
    /// Builds the state from an open store, the checked master key and the settings.
    pub fn new(store: Store, master_key: Arc<MasterKey>, settings: ApiSettings) -> Self {
        ApiState {
            inner: Arc::new(Inner {
                store,
                master_key,
                settings,
            }),
        }
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
