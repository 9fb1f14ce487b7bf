//! `/api/v1/connections`: the targets sluice fronts. Admins manage them; users see the ones their groups allow.
//!
//! A credential arrives in the create request, is sealed with the master key (AAD = connection name, so a sealed
//! blob cannot be moved to another connection) and is never returned: responses only say which kind is stored.

use super::{check_groups, check_name};
use crate::auth::Caller;
use crate::dto::{ConnectionDto, CreateConnectionRequest, UpdateConnectionRequest};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use sluice_model::{Protocol, Role, Secret};
use sluice_store::{Connection, CredentialKind, NewConnection, SealedCredential};

/// Longest accepted host name (DNS limit).
const MAX_HOST_LEN: usize = 253;

/// Whether the caller may see (and later use) a connection: admins always; users when they share a group with it;
/// auditors never (they read the audit log only).
fn may_use(caller: &Caller, connection: &Connection) -> bool {
    match caller.user.role {
        Role::Admin => true,
        Role::User => connection.groups.iter().any(|g| caller.user.groups.contains(g)),
        Role::Auditor => false,
    }
}

/// `GET /api/v1/connections`
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<ConnectionDto>>, ApiError> {
    if caller.user.role == Role::Auditor {
        return Err(ApiError::Forbidden("auditors read the audit log only".into()));
    }
    let all = state.store().list_connections().await?;
    Ok(Json(
        all.into_iter()
            .filter(|c| may_use(&caller, c))
            .map(ConnectionDto::from)
            .collect(),
    ))
}

/// `GET /api/v1/connections/{name}`
pub async fn show(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<ConnectionDto>, ApiError> {
    if caller.user.role == Role::Auditor {
        return Err(ApiError::Forbidden("auditors read the audit log only".into()));
    }
    let connection = state
        .store()
        .connection_by_name(&name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    if !may_use(&caller, &connection) {
        return Err(ApiError::Forbidden(format!(
            "none of your groups may use connection `{name}`"
        )));
    }
    Ok(Json(ConnectionDto::from(connection)))
}

/// `POST /api/v1/connections`
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateConnectionRequest>,
) -> Result<(StatusCode, Json<ConnectionDto>), ApiError> {
    caller.require_admin()?;
    check_name("connection", &req.name)?;
    check_groups(&req.groups)?;
    check_host(&req.host)?;
    let port = req.port.unwrap_or_else(|| req.protocol.default_port());
    check_port(port)?;
    super::connection_options::check(req.protocol, &req.options)?;
    let credential = seal_credential(&state, &req.name, req.protocol, req.password, req.private_key)?;
    let new = NewConnection {
        name: req.name,
        protocol: req.protocol,
        host: req.host,
        port,
        username: req.username.filter(|u| !u.is_empty()),
        database: req.database.filter(|d| !d.is_empty()),
        groups: req.groups,
        credential,
        options: serde_json::Value::Object(req.options),
    };
    let connection = state.store().create_connection(&caller.actor(), new).await?;
    Ok((StatusCode::CREATED, Json(ConnectionDto::from(connection))))
}

/// `PUT /api/v1/connections/{name}/options`: replaces the connection's options (the body is the whole options
/// object, checked as at creation). Sessions opened afterwards use them.
pub async fn set_options(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(options): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<ConnectionDto>, ApiError> {
    caller.require_admin()?;
    let connection = state
        .store()
        .connection_by_name(&name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    super::connection_options::check(connection.protocol, &options)?;
    let options = serde_json::Value::Object(options);
    state
        .store()
        .set_connection_options(&caller.actor(), &name, &options)
        .await?;
    Ok(Json(ConnectionDto::from(Connection {
        options,
        ..connection
    })))
}

/// `PATCH /api/v1/connections/{name}`: changes the target's address, login, database, groups or credential
/// without re-entering what stays — a moved database, a rotated password, another team allowed. Checked as at
/// creation; the new credential is sealed for this connection's name. Sessions opened afterwards use the new
/// values; running ones keep theirs.
pub async fn update(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<UpdateConnectionRequest>,
) -> Result<Json<ConnectionDto>, ApiError> {
    caller.require_admin()?;
    let mut connection = state
        .store()
        .connection_by_name(&name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    let mut changed = Vec::new();
    if let Some(host) = req.host {
        check_host(&host)?;
        connection.host = host;
        changed.push("host");
    }
    if let Some(port) = req.port {
        check_port(port)?;
        connection.port = port;
        changed.push("port");
    }
    if let Some(username) = req.username {
        connection.username = Some(username).filter(|u| !u.is_empty());
        changed.push("username");
    }
    if let Some(database) = req.database {
        connection.database = Some(database).filter(|d| !d.is_empty());
        changed.push("database");
    }
    if let Some(groups) = req.groups {
        check_groups(&groups)?;
        connection.groups = groups;
        changed.push("groups");
    }
    if let Some(credential) =
        seal_credential(&state, &name, connection.protocol, req.password, req.private_key)?
    {
        connection.credential = Some(credential);
        changed.push("credential");
    }
    if changed.is_empty() {
        return Err(ApiError::bad_request(
            "nothing_to_change",
            "give at least one of host, port, username, database, groups, password, private_key",
        ));
    }
    let connection = state
        .store()
        .update_connection(&caller.actor(), connection, &changed)
        .await?;
    Ok(Json(ConnectionDto::from(connection)))
}

/// `DELETE /api/v1/connections/{name}`
pub async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    state.store().delete_connection(&caller.actor(), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn not_found(name: &str) -> ApiError {
    ApiError::NotFound(format!("no connection named `{name}`"))
}

fn check_port(port: u16) -> Result<(), ApiError> {
    if port == 0 {
        return Err(ApiError::bad_request(
            "invalid_port",
            "port must be between 1 and 65535",
        ));
    }
    Ok(())
}

fn check_host(host: &str) -> Result<(), ApiError> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']');
    if host.is_empty() || host.len() > MAX_HOST_LEN || !host.chars().all(valid_char) {
        return Err(ApiError::bad_request(
            "invalid_host",
            format!("`{host}` is not a host name or IP address"),
        ));
    }
    Ok(())
}

/// Seals the one credential given, if any. The plaintext lives only in `Secret`s and is zeroised on drop.
fn seal_credential(
    state: &ApiState,
    name: &str,
    protocol: Protocol,
    password: Option<Secret<String>>,
    private_key: Option<Secret<String>>,
) -> Result<Option<SealedCredential>, ApiError> {
    let (kind, plaintext) = match (password, private_key) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_credential",
                "give either password or private_key, not both",
            ))
        }
        (Some(p), None) => (CredentialKind::Password, p),
        (None, Some(k)) if protocol == Protocol::Ssh => (CredentialKind::PrivateKey, k),
        (None, Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_credential",
                "private_key is only for ssh connections",
            ))
        }
        (None, None) => return Ok(None),
    };
    if plaintext.expose().is_empty() {
        return Err(ApiError::bad_request(
            "invalid_credential",
            "the credential is empty",
        ));
    }
    let sealed = state
        .master_key()
        .seal(plaintext.expose().as_bytes(), name.as_bytes())
        .map_err(|e| {
            tracing::error!(error = %e, "cannot seal a connection credential");
            ApiError::Internal
        })?;
    Ok(Some(SealedCredential { kind, sealed }))
}
