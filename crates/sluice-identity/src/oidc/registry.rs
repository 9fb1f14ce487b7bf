//! Several configured providers behind one entry point: a bearer token is routed to the provider whose issuer it
//! claims, and validated there.
//!
//! The API and the native-protocol proxies receive a credential without knowing where it came from; sluice tokens
//! (`slc_…`) go to [`crate::token`], everything shaped like a JWT comes here.
//!
//! Every configured provider has a [`Slot`] from the start, whether or not its discovery has succeeded yet. A provider
//! that could not be discovered when the gateway started (the identity provider was down, or the network not up yet)
//! is retried in the background with capped, jittered exponential backoff ([`Retry`]) until it is, so logins and
//! bearer tokens through it start working without restarting sluice. Until then it is known but unavailable: requests for it fail
//! with [`IdentityError::ProviderNotDiscovered`], and tokens claiming its issuer are refused (there are no keys to
//! check them with). sluice session tokens do not depend on the provider and keep working throughout.

use super::config::{ProviderConfig, ValidationSettings};
use super::fetch::HttpFetch;
use super::jwt::{self, Rejection};
use super::provider::{Identity, Provider};
use crate::IdentityError;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, SystemTime};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How a provider whose discovery failed is retried: after `first`, then twice as long each time up to `max`.
/// A request that needs the provider asks for an earlier attempt, but attempts are never closer than `min_interval`
/// (requests must not be able to make sluice hammer a struggling identity provider).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Delay before the first retry.
    pub first: Duration,
    /// Largest delay between retries.
    pub max: Duration,
    /// Smallest time between two attempts, also when requests ask for one.
    pub min_interval: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            first: Duration::from_secs(1),
            max: Duration::from_secs(60),
            min_interval: Duration::from_secs(1),
        }
    }
}

impl Retry {
    /// The delay after `delay`: doubled, capped at `max`.
    pub fn next(&self, delay: Duration) -> Duration {
        delay
            .saturating_mul(2)
            .min(self.max)
            .max(self.first.min(self.max))
    }

    /// How long to actually wait for a backoff step of `delay`: somewhere in its upper half, placed by `random`, and
    /// never under `min_interval`. Gateways that lost the provider together (an outage, a restart of the whole
    /// fleet) would otherwise retry in lockstep and meet the recovering provider all at once, every time.
    pub fn jittered(&self, delay: Duration, random: u32) -> Duration {
        let half = delay / 2;
        let spread = half.mul_f64(f64::from(random) / f64::from(u32::MAX));
        (delay - half + spread).max(self.min_interval)
    }
}

/// A random number for [`Retry::jittered`]; without randomness the full delay is used (no jitter, still correct).
fn jitter_seed() -> u32 {
    getrandom::u32().unwrap_or(u32::MAX)
}

/// One configured provider, ready once discovered.
#[derive(Debug)]
pub struct Slot {
    config: ProviderConfig,
    provider: OnceLock<Provider>,
    /// Wakes the retry task early when a request needed the provider.
    nudge: Arc<Notify>,
}

impl Slot {
    fn new(config: ProviderConfig) -> Slot {
        Slot {
            config,
            provider: OnceLock::new(),
            nudge: Arc::new(Notify::new()),
        }
    }

    /// The configuration (known before discovery).
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The discovered provider; `None` while it is unavailable.
    pub fn provider(&self) -> Option<&Provider> {
        self.provider.get()
    }

    /// The discovered provider, or the client-safe "unavailable" error. A miss asks the retry task for an early
    /// attempt (rate-limited there), so a provider that has come back is picked up by the next request.
    pub fn ready(&self) -> Result<&Provider, IdentityError> {
        self.provider.get().ok_or_else(|| {
            self.nudge.notify_one();
            IdentityError::ProviderNotDiscovered {
                provider: self.config.name.clone(),
            }
        })
    }
}

/// The configured providers, each with a distinct name and issuer.
#[derive(Debug, Default)]
pub struct Providers {
    slots: Vec<Slot>,
}

impl Providers {
    /// Wraps discovered providers. Names and issuers must be distinct; a duplicate issuer is refused, since a token
    /// could then be attributed to either.
    pub fn new(providers: Vec<Provider>) -> Result<Providers, IdentityError> {
        let slots = providers
            .into_iter()
            .map(|provider| {
                let slot = Slot::new(provider.config().clone());
                let _ = slot.provider.set(provider);
                slot
            })
            .collect();
        Providers::from_slots(slots)
    }

    /// Configured providers, none discovered yet (see [`Providers::discover`]).
    pub fn configured(configs: Vec<ProviderConfig>) -> Result<Providers, IdentityError> {
        Providers::from_slots(configs.into_iter().map(Slot::new).collect())
    }

    fn from_slots(slots: Vec<Slot>) -> Result<Providers, IdentityError> {
        for (index, slot) in slots.iter().enumerate() {
            let config = slot.config();
            for other in slots.iter().skip(index + 1).map(Slot::config) {
                let reason = if other.issuer == config.issuer {
                    format!("another provider has the same issuer `{}`", config.issuer)
                } else if other.name == config.name {
                    "another provider has the same name".to_owned()
                } else {
                    continue;
                };
                return Err(IdentityError::ProviderUnavailable {
                    provider: config.name.clone(),
                    reason,
                });
            }
        }
        Ok(Providers { slots })
    }

    /// Discovers every configured provider once, and keeps retrying those that failed in the background (a task per
    /// provider, which ends once it is discovered or the registry is dropped). A failure is logged once at error
    /// level when it starts, the retries only at debug level, the recovery at info level.
    pub async fn discover(
        configs: Vec<ProviderConfig>,
        fetch: Arc<dyn HttpFetch>,
        settings: ValidationSettings,
        retry: Retry,
    ) -> Result<Arc<Providers>, IdentityError> {
        let configs = configs
            .into_iter()
            .map(|config| (config, fetch.clone()))
            .collect();
        Providers::discover_each(configs, settings, retry).await
    }

    /// [`Providers::discover`] with a fetcher per provider: each provider's requests (discovery, JWKS, token
    /// exchange, background retries) go through its own, so a CA trusted for one provider is not trusted for others.
    pub async fn discover_each(
        configs: Vec<(ProviderConfig, Arc<dyn HttpFetch>)>,
        settings: ValidationSettings,
        retry: Retry,
    ) -> Result<Arc<Providers>, IdentityError> {
        let (configs, fetchers): (Vec<_>, Vec<_>) = configs.into_iter().unzip();
        let providers = Arc::new(Providers::configured(configs)?);
        for (index, (slot, fetch)) in providers.slots.iter().zip(fetchers).enumerate() {
            let config = slot.config();
            match Provider::discover(config.clone(), fetch.clone(), settings).await {
                Ok(provider) => {
                    tracing::info!(
                        provider = %config.name, issuer = %config.issuer, bearer = config.allow_bearer_tokens,
                        "OpenID provider ready"
                    );
                    let _ = slot.provider.set(provider);
                }
                Err(error) => {
                    tracing::error!(
                        provider = %config.name, %error,
                        "OpenID provider unavailable: discovery failed; logins and bearer tokens through it are \
                         refused until it succeeds (retrying in the background)"
                    );
                    tokio::spawn(keep_discovering(
                        Arc::downgrade(&providers),
                        index,
                        fetch.clone(),
                        settings,
                        retry,
                    ));
                }
            }
        }
        Ok(providers)
    }

    /// The provider named `name` (`sluice login --provider NAME`), discovered or not.
    pub fn slot(&self, name: &str) -> Option<&Slot> {
        self.slots.iter().find(|slot| slot.config.name == name)
    }

    /// The discovered provider named `name`; `None` when unknown or not discovered yet.
    pub fn by_name(&self, name: &str) -> Option<&Provider> {
        self.slot(name).and_then(Slot::provider)
    }

    /// Every configured provider, discovered or not, in configuration order (the first is the default for
    /// `sluice login`).
    pub fn slots(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter()
    }

    /// The discovered providers, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Provider> {
        self.slots.iter().filter_map(Slot::provider)
    }

    /// Whether `credential` is shaped like a JWT (three dot-separated parts), i.e. should be validated here rather
    /// than as a sluice token. Shape only: nothing is trusted from it.
    pub fn looks_like_jwt(credential: &str) -> bool {
        credential.len() <= jwt::MAX_TOKEN_BYTES
            && credential.split('.').count() == 3
            && credential.starts_with("eyJ")
    }

    /// Validates a provider access token presented as a bearer credential, with the provider whose issuer it
    /// claims. A token claiming no configured issuer is refused as [`Rejection::WrongIssuer`]; one claiming the
    /// issuer of a provider not discovered yet is refused with [`IdentityError::ProviderNotDiscovered`] (fail
    /// closed: there are no keys to check it with).
    pub async fn validate_bearer_token(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<Identity, IdentityError> {
        let claimed = jwt::claimed_issuer(token);
        let slot = claimed
            .as_deref()
            .and_then(|issuer| self.slots.iter().find(|slot| slot.config.issuer == issuer));
        let Some(slot) = slot else {
            tracing::warn!(
                reason = Rejection::WrongIssuer.as_str(),
                "provider token rejected: no provider has its issuer"
            );
            return Err(IdentityError::TokenRejected(Rejection::WrongIssuer));
        };
        match slot.ready() {
            Ok(provider) => provider.validate_bearer_token(token, now).await,
            Err(error) => {
                tracing::warn!(provider = %slot.config.name, "provider token refused: the provider is unavailable");
                Err(error)
            }
        }
    }
}

/// The background retry of one provider's discovery.
async fn keep_discovering(
    registry: Weak<Providers>,
    index: usize,
    fetch: Arc<dyn HttpFetch>,
    settings: ValidationSettings,
    retry: Retry,
) {
    let (config, nudge) = {
        let Some(slot) = registry.upgrade().and_then(|r| {
            r.slots
                .get(index)
                .map(|slot| (slot.config.clone(), slot.nudge.clone()))
        }) else {
            return;
        };
        slot
    };
    let mut delay = retry.first;
    let mut last_attempt = Instant::now();
    let mut attempts: u32 = 1;
    loop {
        tokio::select! {
            () = tokio::time::sleep(retry.jittered(delay, jitter_seed())) => {}
            () = nudge.notified() => {
                tokio::time::sleep_until(last_attempt + retry.min_interval).await;
            }
        }
        // Only a weak reference is kept between attempts: a dropped registry ends the task.
        let Some(registry) = registry.upgrade() else {
            return;
        };
        let Some(slot) = registry.slots.get(index) else {
            return;
        };
        attempts = attempts.saturating_add(1);
        last_attempt = Instant::now();
        match Provider::discover(config.clone(), fetch.clone(), settings).await {
            Ok(provider) => {
                tracing::info!(
                    provider = %config.name, issuer = %config.issuer, bearer = config.allow_bearer_tokens, attempts,
                    "OpenID provider ready: discovery succeeded after it had failed"
                );
                let _ = slot.provider.set(provider);
                return;
            }
            Err(error) => {
                delay = retry.next(delay);
                tracing::debug!(
                    provider = %config.name, %error, attempts, next_in = ?delay,
                    "OpenID provider discovery failed again"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let retry = Retry::default();
        let mut delay = retry.first;
        let mut seen = vec![delay.as_secs()];
        for _ in 0..8 {
            delay = retry.next(delay);
            seen.push(delay.as_secs());
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn jitter_waits_in_the_upper_half_of_the_step_and_never_under_the_minimum() {
        let retry = Retry::default();
        let step = Duration::from_secs(16);
        assert_eq!(retry.jittered(step, 0), Duration::from_secs(8));
        assert_eq!(retry.jittered(step, u32::MAX), step);
        let middle = retry.jittered(step, u32::MAX / 2);
        assert!(
            middle > Duration::from_secs(11) && middle < Duration::from_secs(13),
            "{middle:?}"
        );
        // The first step (1 s) halved would be under the 1 s minimum between attempts.
        assert_eq!(retry.jittered(retry.first, 0), retry.min_interval);
        // Two draws of the operating system's randomness place two gateways differently (2^-32 odds against).
        assert_ne!(
            retry.jittered(Duration::from_secs(60), jitter_seed()),
            retry.jittered(Duration::from_secs(60), jitter_seed())
        );
    }
}
