//! `/api/v1/ssh-keys`: SSH public keys users log in to the SSH gateway with. Everyone manages their own; admins
//! manage everyone's (`?user=` / `"user"`), like tokens.
//!
//! A key is parsed and stored in canonical form (`ALGORITHM BASE64`, comment dropped) with its SHA-256 fingerprint,
//! which is unique across users: the gateway takes a client's identity from the owner of the key whose signature
//! it verified.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sluice_store::{NewSshKey, SshKey};
use ssh_key::{HashAlg, PublicKey};
use time::OffsetDateTime;

use super::check_name;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::state::ApiState;

/// Longest accepted public key line (an RSA-16384 key is under 3 KB of base64).
const MAX_KEY_LEN: usize = 8 * 1024;

/// A registered key.
#[derive(Debug, Serialize)]
pub struct SshKeyDto {
    /// `SHA256:…`, the key's id.
    pub fingerprint: String,
    /// Owner's name.
    pub user: String,
    /// Optional label.
    pub name: Option<String>,
    /// `ALGORITHM BASE64`.
    pub public_key: String,
    /// When it was added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last login with it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<SshKey> for SshKeyDto {
    fn from(k: SshKey) -> Self {
        SshKeyDto {
            fingerprint: k.fingerprint,
            user: k.user_name,
            name: k.name,
            public_key: k.public_key,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// `POST /api/v1/ssh-keys`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddSshKeyRequest {
    /// An OpenSSH public key line (`ssh-ed25519 AAAA… comment`), as in `~/.ssh/id_ed25519.pub`.
    pub public_key: String,
    /// Optional label; default the key's comment when it is a valid name.
    #[serde(default)]
    pub name: Option<String>,
    /// Owner; default the caller. Only admins may name someone else.
    #[serde(default)]
    pub user: Option<String>,
}

/// `GET /api/v1/ssh-keys?user=NAME`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshKeyListQuery {
    /// Only this user's keys (admins).
    #[serde(default)]
    pub user: Option<String>,
}

/// Parses a public key line into (canonical text, fingerprint, comment).
pub fn parse_public_key(line: &str) -> Result<(String, String, String), ApiError> {
    let invalid = |detail: &str| {
        ApiError::bad_request(
            "invalid_public_key",
            format!("public_key: {detail}; expected one OpenSSH public key line such as the content of ~/.ssh/id_ed25519.pub"),
        )
    };
    let line = line.trim();
    if line.len() > MAX_KEY_LEN {
        return Err(invalid("too long"));
    }
    if line.contains("PRIVATE KEY") {
        return Err(invalid("this is a private key; never send it anywhere"));
    }
    let key = PublicKey::from_openssh(line).map_err(|_| invalid("not a valid key"))?;
    let comment = key.comment().to_string();
    let bare = PublicKey::new(key.key_data().clone(), "");
    let text = bare.to_openssh().map_err(|_| invalid("not a valid key"))?;
    let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
    Ok((text.trim().to_owned(), fingerprint, comment))
}

async fn owner_for(
    state: &ApiState,
    caller: &Caller,
    user: Option<String>,
) -> Result<sluice_store::User, ApiError> {
    match user {
        Some(name) if name != caller.user.name => {
            caller.require_admin()?;
            state
                .store()
                .user_by_name(&name)
                .await?
                .ok_or_else(|| super::users::not_found(&name))
        }
        _ => Ok(caller.user.clone()),
    }
}

/// `GET /api/v1/ssh-keys[?user=NAME]`: the caller's keys; admins may list anyone's.
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<SshKeyListQuery>,
) -> Result<Json<Vec<SshKeyDto>>, ApiError> {
    let owner = owner_for(&state, &caller, query.user).await?;
    let keys = state.store().list_ssh_keys(Some(owner.id)).await?;
    Ok(Json(keys.into_iter().map(SshKeyDto::from).collect()))
}

/// `POST /api/v1/ssh-keys`
pub async fn add(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(req): ApiJson<AddSshKeyRequest>,
) -> Result<(StatusCode, Json<SshKeyDto>), ApiError> {
    let (public_key, fingerprint, comment) = parse_public_key(&req.public_key)?;
    let name = match req.name {
        Some(name) => {
            check_name("key", &name)?;
            Some(name)
        }
        None => Some(comment).filter(|c| check_name("key", c).is_ok()),
    };
    let owner = owner_for(&state, &caller, req.user).await?;
    let key = state
        .store()
        .add_ssh_key(
            &caller.actor(),
            NewSshKey {
                user_id: owner.id,
                name,
                public_key,
                fingerprint,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(SshKeyDto::from(key))))
}

/// `DELETE /api/v1/ssh-keys/{fingerprint}`: the owner or an admin. Another user's key is "not found" to non-admins.
pub async fn remove(
    State(state): State<ApiState>,
    caller: Caller,
    Path(fingerprint): Path<String>,
) -> Result<Json<SshKeyDto>, ApiError> {
    let fingerprint = if fingerprint.starts_with("SHA256:") {
        fingerprint
    } else {
        format!("SHA256:{fingerprint}")
    };
    let owner = if caller.is_admin() {
        None
    } else {
        Some(caller.user.id)
    };
    let key = state
        .store()
        .delete_ssh_key(&caller.actor(), owner, &fingerprint)
        .await?;
    Ok(Json(SshKeyDto::from(key)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{router, ApiSettings};
    use axum::body::Body;
    use axum::http::Request;
    use serde_json::Value;
    use sluice_identity::token;
    use sluice_model::{Role, UserKind};
    use sluice_store::seal::MasterKey;
    use sluice_store::{Actor, BootstrapToken, NewUser, Store};
    use std::sync::Arc;
    use tower::ServiceExt as _;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl laptop";

    async fn send(
        app: &axum::Router,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let response = app.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn keys_are_added_listed_refused_twice_and_removed() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let (secret, hash) = token::mint().unwrap();
        let admin = NewUser {
            name: "admin".into(),
            kind: UserKind::Human,
            role: Role::Admin,
            groups: vec![],
        };
        let draft = BootstrapToken {
            name: None,
            hash,
            display_prefix: token::display_prefix(secret.expose()),
            expires_at: None,
        };
        store
            .bootstrap_admin(&Actor::system(), admin, draft)
            .await
            .unwrap()
            .unwrap();
        let settings = ApiSettings {
            max_body_bytes: 65536,
            trusted_proxies: vec![],
        };
        let app = router(crate::state::ApiState::new(
            store,
            Arc::new(MasterKey::generate().unwrap()),
            settings,
        ));
        let t = secret.expose();

        let (status, added) = send(
            &app,
            "POST",
            "/api/v1/ssh-keys",
            t,
            Some(serde_json::json!({ "public_key": KEY })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
        assert_eq!(added["user"], "admin");
        assert_eq!(added["name"], "laptop");
        let fingerprint = added["fingerprint"].as_str().unwrap().to_owned();

        let (status, again) = send(
            &app,
            "POST",
            "/api/v1/ssh-keys",
            t,
            Some(serde_json::json!({ "public_key": KEY })),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{again}");
        let (status, bad) = send(
            &app,
            "POST",
            "/api/v1/ssh-keys",
            t,
            Some(serde_json::json!({ "public_key": "ssh-rsa nope" })),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(bad["error"]["code"], "invalid_public_key");

        let (status, list) = send(&app, "GET", "/api/v1/ssh-keys", t, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list.as_array().unwrap().len(), 1);

        let encoded = fingerprint.replace('/', "%2F").replace('+', "%2B");
        let (status, removed) = send(&app, "DELETE", &format!("/api/v1/ssh-keys/{encoded}"), t, None).await;
        assert_eq!(status, StatusCode::OK, "{removed}");
        assert_eq!(removed["fingerprint"], fingerprint.as_str());
        let (_, list) = send(&app, "GET", "/api/v1/ssh-keys", t, None).await;
        assert!(list.as_array().unwrap().is_empty());
    }

    #[test]
    fn keys_are_canonicalised_and_fingerprinted() {
        let line =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop";
        let (text, fp, comment) = parse_public_key(line).unwrap();
        assert_eq!(
            text,
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
        );
        assert!(fp.starts_with("SHA256:"));
        assert_eq!(comment, "me@laptop");
        assert!(parse_public_key("ssh-ed25519 garbage").is_err());
        assert!(parse_public_key("-----BEGIN OPENSSH PRIVATE KEY-----").is_err());
    }
}
