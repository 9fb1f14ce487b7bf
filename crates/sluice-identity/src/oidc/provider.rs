//! One OpenID provider at run time: its discovered metadata, its key cache, and token validation that ends in a
//! verified [`Identity`].
//!
//! Validation is fail-closed and ordered: structure and header (in [`super::jwt`]), signature with the provider's
//! keys (refreshing the JWKS once, rate-limited, for an unknown `kid`), then claims. Nothing from the payload is read
//! before the signature verified. Every refusal is logged here by reason — never with the token — and surfaces as
//! [`IdentityError::TokenRejected`], whose text is generic.

use super::config::{ProviderConfig, ValidationSettings};
use super::fetch::HttpFetch;
use super::jwt::{self, ClaimRules, Rejection};
use super::keys::{self, KeyCache, Lookup, VerificationKey};
use crate::IdentityError;
use serde_json::{Map, Value};
use sluice_model::Role;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

/// The parts of the discovery document sluice uses (OpenID Connect Discovery 1.0 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// Must equal the configured issuer exactly.
    pub issuer: String,
    /// Where the browser is sent to log in.
    pub authorization_endpoint: String,
    /// Where codes and device codes are exchanged.
    pub token_endpoint: String,
    /// Where the signing keys are published.
    pub jwks_uri: String,
    /// RFC 8628 device authorization, when the provider supports it.
    pub device_authorization_endpoint: Option<String>,
}

impl ProviderMetadata {
    /// Reads a discovery document, requiring the issuer to be exactly `expected_issuer` (§4.3: a mismatch means the
    /// document belongs to another provider) and the endpoints sluice needs to be present.
    pub fn from_document(document: &Value, expected_issuer: &str) -> Result<ProviderMetadata, String> {
        let field = |name: &str| document.get(name).and_then(Value::as_str).map(str::to_owned);
        let required =
            |name: &str| field(name).ok_or_else(|| format!("the discovery document has no `{name}`"));
        let issuer = required("issuer")?;
        if issuer != expected_issuer {
            return Err(format!(
                "the discovery document is for issuer `{issuer}`, not `{expected_issuer}`"
            ));
        }
        Ok(ProviderMetadata {
            issuer,
            authorization_endpoint: required("authorization_endpoint")?,
            token_endpoint: required("token_endpoint")?,
            jwks_uri: required("jwks_uri")?,
            device_authorization_endpoint: field("device_authorization_endpoint"),
        })
    }
}

/// A verified identity from a provider token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The configured provider name.
    pub provider: String,
    /// `sub`: the provider's stable id for the user or service account.
    pub subject: String,
    /// `preferred_username`, when sent.
    pub username: Option<String>,
    /// `email`, when sent.
    pub email: Option<String>,
    /// The provider's groups as sent (before mapping), for display and audit.
    pub provider_groups: BTreeSet<String>,
    /// The sluice groups after mapping.
    pub groups: BTreeSet<String>,
    /// The role the mapping grants (`user` when none).
    pub role: Role,
    /// `exp` of the token: the identity is not to be trusted beyond it.
    pub expires_at: SystemTime,
}

/// Which kind of token is being validated: they are addressed differently.
#[derive(Clone, Copy, Debug)]
enum TokenUse<'a> {
    /// An ID token from a login: `aud` has the client id, `azp` (if any) is the client id, `iat` required, nonce
    /// checked when the login sent one.
    Id { nonce: Option<&'a str> },
    /// A provider access token used as a bearer credential: `aud` has the configured audience.
    Bearer,
}

/// A configured provider with its metadata and keys.
#[derive(Debug)]
pub struct Provider {
    config: ProviderConfig,
    metadata: ProviderMetadata,
    keys: KeyCache,
    /// Held while the JWKS is being refreshed (never across anything but that one fetch).
    refresh: tokio::sync::Mutex<()>,
    fetch: Arc<dyn HttpFetch>,
    settings: ValidationSettings,
}

impl Provider {
    /// Fetches the discovery document and the JWKS.
    pub async fn discover(
        config: ProviderConfig,
        fetch: Arc<dyn HttpFetch>,
        settings: ValidationSettings,
    ) -> Result<Provider, IdentityError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            config.issuer.trim_end_matches('/')
        );
        let document = fetch.get_json(&url).await?;
        let metadata = ProviderMetadata::from_document(&document, &config.issuer).map_err(|reason| {
            IdentityError::ProviderUnavailable {
                provider: config.name.clone(),
                reason,
            }
        })?;
        let jwks = fetch.get_json(&metadata.jwks_uri).await?;
        let provider = Provider::with_keys(config, metadata, keys::parse_jwks(&jwks), fetch, settings);
        // The initial fetch counts as a refresh for the rate limit.
        provider.keys.begin_refresh();
        Ok(provider)
    }

    /// A provider from known metadata and keys (tests, or metadata cached by the caller). The JWKS is fetched from
    /// `metadata.jwks_uri` through `fetch` when a token names an unknown key.
    pub fn with_keys(
        config: ProviderConfig,
        metadata: ProviderMetadata,
        keys: Vec<VerificationKey>,
        fetch: Arc<dyn HttpFetch>,
        settings: ValidationSettings,
    ) -> Provider {
        Provider {
            keys: KeyCache::new(keys, settings.min_key_refresh_interval),
            refresh: tokio::sync::Mutex::new(()),
            config,
            metadata,
            fetch,
            settings,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The discovered metadata.
    pub fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    /// The fetcher, for the login flows.
    pub(crate) fn fetch(&self) -> &dyn HttpFetch {
        self.fetch.as_ref()
    }

    /// The ids of the keys currently cached.
    pub fn cached_kids(&self) -> Vec<String> {
        self.keys.kids()
    }

    /// Validates an ID token from a login. `nonce` is the one the login sent (None for the device flow, which has
    /// none).
    pub async fn validate_id_token(
        &self,
        token: &str,
        nonce: Option<&str>,
        now: SystemTime,
    ) -> Result<Identity, IdentityError> {
        self.validate(token, TokenUse::Id { nonce }, now).await
    }

    /// Validates a provider access token presented as a bearer credential (API `Authorization` header, or the
    /// password of a native client). Refused outright unless the provider allows bearer tokens.
    pub async fn validate_bearer_token(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<Identity, IdentityError> {
        if !self.config.allow_bearer_tokens {
            return Err(self.reject(Rejection::BearerTokensDisabled));
        }
        self.validate(token, TokenUse::Bearer, now).await
    }

    async fn validate(
        &self,
        token: &str,
        usage: TokenUse<'_>,
        now: SystemTime,
    ) -> Result<Identity, IdentityError> {
        let unverified = jwt::parse(token).map_err(|reason| self.reject(reason))?;
        let is_access_token = unverified.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
        });
        if is_access_token && matches!(usage, TokenUse::Id { .. }) {
            return Err(self.reject(Rejection::WrongTokenType));
        }
        self.verify_signature(&unverified)
            .await
            .map_err(|reason| self.reject(reason))?;
        let claims = unverified
            .claims_after_verification()
            .map_err(|reason| self.reject(reason))?;
        let client_id = self.config.client_id.as_str();
        let rules = match usage {
            TokenUse::Id { nonce } => ClaimRules {
                issuer: &self.config.issuer,
                audience: client_id,
                authorized_party: Some(client_id),
                require_iat: true,
                nonce,
                leeway: self.settings.leeway,
                now,
            },
            TokenUse::Bearer => ClaimRules {
                issuer: &self.config.issuer,
                audience: self.config.audience.as_deref().unwrap_or(client_id),
                authorized_party: None,
                require_iat: false,
                nonce: None,
                leeway: self.settings.leeway,
                now,
            },
        };
        let expires_at = jwt::check_claims(&claims, &rules).map_err(|reason| self.reject(reason))?;
        Ok(self.identity(&claims, expires_at))
    }

    /// Verifies with the cached keys; on an unknown key, refreshes the JWKS (if the rate limit allows) and tries once
    /// more. Refreshes are serialised: requests that meet the same new `kid` while a refresh is in flight wait for it
    /// and then find the key, instead of being refused. A failed refresh keeps the cached keys.
    async fn verify_signature(&self, token: &jwt::Unverified<'_>) -> Result<(), Rejection> {
        let first = self.keys.verify_cached(token);
        if !matches!(first, Lookup::NoKey) {
            return keys::final_outcome(first);
        }
        let _refreshing = self.refresh.lock().await;
        // Another request may have refreshed the keys while this one waited.
        let waited = self.keys.verify_cached(token);
        if !matches!(waited, Lookup::NoKey) || !self.keys.begin_refresh() {
            return keys::final_outcome(waited);
        }
        match self.fetch.get_json(&self.metadata.jwks_uri).await {
            Ok(jwks) => self.keys.replace(keys::parse_jwks(&jwks)),
            Err(err) => {
                // Keep the cached keys: tokens signed with them stay valid through the outage.
                tracing::warn!(provider = %self.config.name, error = %err, "refreshing the JWKS failed");
            }
        }
        keys::final_outcome(self.keys.verify_cached(token))
    }

    fn identity(&self, claims: &Map<String, Value>, expires_at: SystemTime) -> Identity {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let provider_groups = self.config.groups_claim.extract(claims);
        let (groups, role) = self.config.group_mapping.apply(&provider_groups);
        Identity {
            provider: self.config.name.clone(),
            subject: text("sub").unwrap_or_default(),
            username: text("preferred_username"),
            email: text("email"),
            provider_groups,
            groups,
            role,
            expires_at,
        }
    }

    fn reject(&self, reason: Rejection) -> IdentityError {
        tracing::warn!(provider = %self.config.name, reason = reason.as_str(), "provider token rejected");
        IdentityError::TokenRejected(reason)
    }
}
