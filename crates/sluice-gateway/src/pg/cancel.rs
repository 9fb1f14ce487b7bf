//! Query cancellation: clients get a gateway-issued BackendKeyData; a CancelRequest carrying it is mapped to the
//! target's real key and forwarded to the target. The target's key never leaves the gateway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sluice_wire_pg::backend::BackendKeyData;

use super::target::{send_cancel, TargetAddress};
use super::upstream::Shared;

/// The key a client was given, which it sends back in a CancelRequest.
pub(crate) type ClientKey = (i32, [u8; 4]);

/// Live sessions' keys, shared by one listener's sessions. Each entry also holds the session's shared state, so
/// that a cancel of a statement held for review (which the target has not seen) cancels the review instead.
#[derive(Default)]
pub(crate) struct CancelRegistry {
    sessions: Mutex<HashMap<ClientKey, Entry>>,
}

struct Entry {
    address: TargetAddress,
    target_key: BackendKeyData,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for CancelRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys are capabilities: only their number is shown.
        let live = self.sessions.lock().map(|s| s.len()).unwrap_or(0);
        f.debug_struct("CancelRegistry").field("live", &live).finish()
    }
}

/// Removes a session's key from the registry when the session ends.
#[derive(Debug)]
pub(crate) struct Registration {
    registry: Arc<CancelRegistry>,
    key: ClientKey,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut sessions) = self.registry.sessions.lock() {
            sessions.remove(&self.key);
        }
    }
}

impl CancelRegistry {
    /// Issues a fresh random client key for a session whose target key is `target_key`. Random (not sequential)
    /// so that one client cannot guess another's key.
    pub(crate) fn register(
        self: &Arc<Self>,
        address: TargetAddress,
        target_key: BackendKeyData,
        shared: Arc<Shared>,
    ) -> Option<(ClientKey, Registration)> {
        let mut sessions = self.sessions.lock().ok()?;
        let key = loop {
            let mut raw = [0u8; 8];
            getrandom::fill(&mut raw).ok()?;
            let [a, b, c, d, e, f, g, h] = raw;
            // Positive process ids, like real ones (some clients print them).
            let pid = i32::from_be_bytes([a & 0x7f, b, c, d]);
            let key = (pid, [e, f, g, h]);
            if !sessions.contains_key(&key) {
                break key;
            }
        };
        sessions.insert(
            key,
            Entry {
                address,
                target_key,
                shared,
            },
        );
        Some((
            key,
            Registration {
                registry: Arc::clone(self),
                key,
            },
        ))
    }

    /// Forwards a cancel for the session holding `key`, if any, and cancels a review it is waiting for. Unknown
    /// keys are ignored silently, as by PostgreSQL.
    pub(crate) async fn cancel(&self, key: ClientKey) {
        let entry = self.sessions.lock().ok().and_then(|s| {
            s.get(&key)
                .map(|e| (e.address.clone(), e.target_key.clone(), Arc::clone(&e.shared)))
        });
        let Some((address, target_key, shared)) = entry else {
            tracing::debug!("cancel request with an unknown key");
            return;
        };
        // A held statement has not reached the target: cancelling it there would do nothing.
        shared.held_notices.cancel_hold();
        if let Err(error) = send_cancel(&address, &target_key).await {
            tracing::info!(%error, "could not forward a cancel request to the target");
        }
    }
}
