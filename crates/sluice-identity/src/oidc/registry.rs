//! Several configured providers behind one entry point: a bearer token is routed to the provider whose issuer it
//! claims, and validated there.
//!
//! The API and the native-protocol proxies receive a credential without knowing where it came from; sluice tokens
//! (`slc_…`) go to [`crate::token`], everything shaped like a JWT comes here.

use super::jwt::{self, Rejection};
use super::provider::{Identity, Provider};
use crate::IdentityError;
use std::time::SystemTime;

/// The configured providers, each with a distinct issuer.
#[derive(Debug, Default)]
pub struct Providers {
    providers: Vec<Provider>,
}

impl Providers {
    /// Wraps discovered providers. Issuers must be distinct; a duplicate is refused, since a token could then be
    /// attributed to either.
    pub fn new(providers: Vec<Provider>) -> Result<Providers, IdentityError> {
        for (index, provider) in providers.iter().enumerate() {
            let issuer = &provider.config().issuer;
            if providers
                .iter()
                .skip(index + 1)
                .any(|other| &other.config().issuer == issuer)
            {
                return Err(IdentityError::ProviderUnavailable {
                    provider: provider.config().name.clone(),
                    reason: format!("another provider has the same issuer `{issuer}`"),
                });
            }
        }
        Ok(Providers { providers })
    }

    /// The provider named `name` (`sluice login --provider NAME`).
    pub fn by_name(&self, name: &str) -> Option<&Provider> {
        self.providers
            .iter()
            .find(|provider| provider.config().name == name)
    }

    /// All providers, in configuration order (the first is the default for `sluice login`).
    pub fn iter(&self) -> impl Iterator<Item = &Provider> {
        self.providers.iter()
    }

    /// Whether `credential` is shaped like a JWT (three dot-separated parts), i.e. should be validated here rather
    /// than as a sluice token. Shape only: nothing is trusted from it.
    pub fn looks_like_jwt(credential: &str) -> bool {
        credential.len() <= jwt::MAX_TOKEN_BYTES
            && credential.split('.').count() == 3
            && credential.starts_with("eyJ")
    }

    /// Validates a provider access token presented as a bearer credential, with the provider whose issuer it
    /// claims. A token claiming no configured issuer is refused as [`Rejection::WrongIssuer`].
    pub async fn validate_bearer_token(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<Identity, IdentityError> {
        let claimed = jwt::claimed_issuer(token);
        let provider = claimed.as_deref().and_then(|issuer| {
            self.providers
                .iter()
                .find(|provider| provider.config().issuer == issuer)
        });
        match provider {
            Some(provider) => provider.validate_bearer_token(token, now).await,
            None => {
                tracing::warn!(
                    reason = Rejection::WrongIssuer.as_str(),
                    "provider token rejected: no provider has its issuer"
                );
                Err(IdentityError::TokenRejected(Rejection::WrongIssuer))
            }
        }
    }
}
