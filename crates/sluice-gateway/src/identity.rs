//! Provider access tokens as native-protocol passwords, the same for every proxy (PostgreSQL, SSH): a JWT access
//! token of an OpenID provider configured with `allow_bearer` stands for the service user it maps to, as it does as
//! an API bearer token.
//!
//! The token is validated fail-closed by `sluice-identity` (signature with the provider's keys, issuer, audience,
//! times, size; refused outright when the provider does not allow bearer tokens, or has not been discovered yet). Its
//! identity is mapped to a sluice user — created at first use, groups and role updated (audited) when the token
//! brings other ones — and that user must be the one the client named, and not be disabled. Every refusal is logged
//! with its reason, never with the token, and reported as a plain `None`, so each protocol answers it exactly as it
//! answers a wrong sluice token.

use std::net::SocketAddr;
use std::time::SystemTime;

use sluice_identity::oidc::MAX_TOKEN_BYTES;
use sluice_model::{TokenId, UserKind};
use sluice_store::{LoginIdentity, StoreError, TokenInfo, User};
use time::OffsetDateTime;

use crate::GatewayDeps;

/// A client admitted by a provider token.
#[derive(Debug, Clone)]
pub struct ProviderLogin {
    /// The sluice user the token maps to.
    pub user: User,
    /// Provider tokens have no row in the tokens table: the session is attributed to a fresh token id that names no
    /// stored token (so revocation checks find nothing to revoke), with the token's own expiry.
    pub token: TokenInfo,
}

/// Whether `password` is to be checked as a provider token: providers are configured and it is shaped like a JWT
/// (three dot-separated parts of a JSON header). Shape only; an oversized one still goes to
/// [`provider_token_login`], which refuses it.
pub fn is_provider_token(deps: &GatewayDeps, password: &str) -> bool {
    deps.oidc.is_some() && password.starts_with("eyJ") && password.split('.').count() == 3
}

/// Checks a provider token presented by `peer` as the password of `user` over `protocol` (for the log). `Ok(None)`
/// is a refusal (the reason is logged); errors are the store's.
pub async fn provider_token_login(
    deps: &GatewayDeps,
    user: &str,
    text: &str,
    peer: SocketAddr,
    protocol: &'static str,
) -> Result<Option<ProviderLogin>, StoreError> {
    let Some(providers) = deps.oidc.as_deref() else {
        return Ok(None);
    };
    if text.len() > MAX_TOKEN_BYTES {
        tracing::warn!(reason = "oversized", %peer, protocol, "provider token rejected");
        return Ok(None);
    }
    // Refusals by the validation itself are logged with their reason by `sluice-identity`.
    let identity = match providers.validate_bearer_token(text, SystemTime::now()).await {
        Ok(identity) => identity,
        Err(error) => {
            tracing::info!(%peer, protocol, %error, "provider token refused");
            return Ok(None);
        }
    };
    if identity.subject.is_empty() {
        tracing::warn!(provider = %identity.provider, %peer, protocol, "provider token refused: no subject");
        return Ok(None);
    }
    let groups: Vec<String> = identity.groups.iter().cloned().collect();
    let owner = match deps
        .store
        .identity_by_subject(&identity.provider, &identity.subject)
        .await?
    {
        // A disabled user is not updated (nor re-enabled): it is refused below.
        Some((_, owner)) if owner.disabled || (owner.groups == groups && owner.role == identity.role) => {
            owner
        }
        _ => {
            let login = LoginIdentity::from_identity(&identity, UserKind::Service);
            deps.store
                .provision_identity(Some(&peer.to_string()), &login)
                .await?
                .user
        }
    };
    if owner.disabled || owner.name != user {
        tracing::warn!(
            provider = %identity.provider, sluice_user = %owner.name, requested = %user, disabled = owner.disabled,
            %peer, protocol, "provider token refused"
        );
        return Ok(None);
    }
    let token = TokenInfo {
        id: TokenId::new(),
        user_id: owner.id,
        user_name: owner.name.clone(),
        name: Some(format!("provider token ({})", identity.provider)),
        display_prefix: format!("oidc:{}", identity.provider),
        created_at: OffsetDateTime::now_utc(),
        expires_at: Some(OffsetDateTime::from(identity.expires_at)),
        revoked_at: None,
        last_used_at: None,
    };
    Ok(Some(ProviderLogin { user: owner, token }))
}
