//! From `[[oidc.providers]]` to running providers: configuration types become `sluice_identity` provider
//! configurations, each provider is discovered (discovery document and JWKS), and the API gets its session settings.
//!
//! A provider that cannot be discovered at start-up does not stop the gateway: it is logged once and retried in the
//! background (1 s doubling to 60 s, sooner when a request needs it, see `sluice_identity::oidc::Retry`). Until it
//! succeeds, logins through that provider and its bearer tokens are refused with "the identity provider `NAME` is
//! unavailable", while sluice session tokens already issued keep working.
//!
//! ```toml
//! [[oidc.providers]]
//! name = "corp"                                  # sluice login --provider corp
//! issuer = "https://login.example.com/realms/corp"
//! client_id = "sluice"                           # a public client (PKCE) for `sluice login`
//! # client_secret_file = "/etc/sluice/oidc.secret"   (or SLUICE_OIDC_CORP_CLIENT_SECRET)
//! scopes = ["profile", "email", "groups"]
//! groups_claim = "realm_access.roles"            # or "groups", "roles"; groups_separator = "," for a string
//! allow_bearer = true                            # accept the provider's JWT access tokens (CI jobs, agents)
//! audience = "urn:sluice:api"                    # the `aud` those access tokens carry
//! session_ttl = "12h"
//! redirect_url = "https://sluice.example.com/auth/callback"   # web login (default: from the Host header)
//! [oidc.providers.groups]
//! "db-admins" = ["dba"]
//! [oidc.providers.roles]
//! "sluice-admins" = "admin"
//! ```

use sluice_api::{ApiState, OidcSettings};
use sluice_config::oidc::{OidcConfig, OidcProvider};
use sluice_identity::oidc::{
    GroupMapping, GroupsClaim, HttpFetcher, ProviderConfig, Providers, Retry, ValidationSettings,
};
use std::sync::Arc;

/// The identity crate's view of one configured provider.
pub fn provider_config(p: &OidcProvider) -> ProviderConfig {
    let mut config = ProviderConfig::new(&p.name, &p.issuer, &p.client_id);
    config.client_secret = p.client_secret.clone();
    config.scopes = p.scopes.clone();
    config.audience = p.audience.clone();
    config.allow_bearer_tokens = p.allow_bearer;
    config.groups_claim = match p.groups_claim.separator {
        Some(separator) => GroupsClaim::joined(&p.groups_claim.path, separator),
        None => GroupsClaim::list(&p.groups_claim.path),
    };
    config.group_mapping = GroupMapping {
        groups: p.groups.clone(),
        roles: p.roles.clone(),
        keep_unmapped: p.keep_unmapped_groups,
    };
    config
}

/// The API's OpenID settings: session lifetimes and web redirect URLs per provider; cookies `Secure` when the API
/// is served over TLS.
pub fn api_settings(config: &OidcConfig, api_tls: bool) -> OidcSettings {
    OidcSettings {
        session_ttl: config
            .providers
            .iter()
            .map(|p| (p.name.clone(), p.session_ttl))
            .collect(),
        redirect_urls: config
            .providers
            .iter()
            .filter_map(|p| Some((p.name.clone(), p.redirect_url.clone()?)))
            .collect(),
        secure_cookies: api_tls,
        ..OidcSettings::default()
    }
}

/// Discovers every configured provider, retrying the unreachable ones in the background. `None` only when no
/// provider is configured (or the configuration is unusable: two providers with one name or issuer).
pub async fn discover(config: &OidcConfig) -> Option<Arc<Providers>> {
    discover_with(config, Retry::default()).await
}

/// [`discover`] with a chosen retry schedule (tests use a short one).
pub async fn discover_with(config: &OidcConfig, retry: Retry) -> Option<Arc<Providers>> {
    if config.providers.is_empty() {
        return None;
    }
    let fetch: Arc<HttpFetcher> = Arc::new(HttpFetcher::default());
    let configs = config.providers.iter().map(provider_config).collect();
    match Providers::discover(configs, fetch, ValidationSettings::default(), retry).await {
        Ok(providers) => Some(providers),
        Err(error) => {
            tracing::error!(%error, "OpenID providers left out");
            None
        }
    }
}

/// Discovers the providers of `config` and adds them to the API state; returns the state and the providers, for
/// `GatewayDeps::oidc`. Without configured providers the state is returned unchanged.
pub async fn attach(state: ApiState, config: &sluice_config::Config) -> (ApiState, Option<Arc<Providers>>) {
    let providers = discover(&config.oidc).await;
    let state = match &providers {
        Some(providers) => state.with_oidc(providers.clone(), api_settings(&config.oidc, config.api.tls)),
        None => state,
    };
    (state, providers)
}
