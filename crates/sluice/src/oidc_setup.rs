//! From `[[oidc.providers]]` to running providers: configuration types become `sluice_identity` provider
//! configurations, each provider is discovered (discovery document and JWKS), and the API gets its session settings.
//!
//! A provider that cannot be discovered at start-up does not stop the gateway: it is logged once and retried in the
//! background (1 s doubling to 60 s, sooner when a request needs it, see `sluice_identity::oidc::Retry`). Until it
//! succeeds, logins through that provider and its bearer tokens are refused with "the identity provider `NAME` is
//! unavailable", while sluice session tokens already issued keep working.
//!
//! Each provider gets its own HTTP client, trusting the system's trust store, the webpki roots and its `ca_file`, so
//! a private CA configured for one provider is not trusted for another. A certificate that is not trusted fails
//! discovery (and is retried like any other failure) with a reason naming the provider's URL and `ca_file`.
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
//! ca_file = "/etc/sluice/corp-ca.pem"            # the provider's private CA (besides the system's trust store)
//! [oidc.providers.groups]
//! "db-admins" = ["dba"]
//! [oidc.providers.roles]
//! "sluice-admins" = "admin"
//! ```

use sluice_api::{ApiState, OidcSettings};
use sluice_config::oidc::{OidcConfig, OidcProvider};
use sluice_identity::oidc::{
    GroupMapping, GroupsClaim, HttpFetch, HttpFetcher, ProviderConfig, ProviderTrust, Providers, Retry,
    ValidationSettings,
};
use std::sync::Arc;
use std::time::Duration;

/// How long one request to a provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

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

/// The HTTP client for one provider: its `ca_file` on top of the system's trust store and the webpki roots, and
/// advice naming the key when the provider's certificate is refused.
pub fn fetcher(p: &OidcProvider) -> Result<Arc<dyn HttpFetch>, sluice_identity::IdentityError> {
    let mut trust = ProviderTrust::new();
    trust = match &p.ca {
        Some(ca) => trust
            .with_ca_certs(&ca.path.display().to_string(), ca.certs.clone())
            .with_hint(format!(
                "check that ca_file of the OpenID provider `{}` (issuer {}) holds the CA that issued its certificate",
                p.name, p.issuer
            )),
        None => trust.with_hint(format!(
            "if the OpenID provider `{}` (issuer {}) uses a private CA, set ca_file = \"/path/to/ca.pem\" in its \
             [[oidc.providers]] entry",
            p.name, p.issuer
        )),
    };
    Ok(Arc::new(HttpFetcher::with_trust(PROVIDER_TIMEOUT, trust)?))
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
    let mut configs = Vec::new();
    for p in &config.providers {
        match fetcher(p) {
            Ok(fetch) => configs.push((provider_config(p), fetch)),
            Err(error) => {
                tracing::error!(provider = %p.name, %error, "OpenID provider left out: its ca_file cannot be used");
            }
        }
    }
    match Providers::discover_each(configs, ValidationSettings::default(), retry).await {
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
