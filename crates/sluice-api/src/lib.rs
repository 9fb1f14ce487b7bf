//! sluice-api: the REST API of the control plane (users, tokens, connections, policy, audit log) and of the
//! sessions index and recordings.
//!
//! The only crate that knows HTTP and JSON shapes ([`dto`]). Handlers authenticate with [`auth::Caller`], decide
//! authorisation explicitly at the top of each handler, and talk to `sluice-store`, which writes the audit entry of
//! every change in the same transaction as the change. Every failure is an [`ApiError`] with a JSON body.

pub mod auth;
pub mod dto;
mod error;
pub mod extract;
mod oidc;
mod openapi;
pub mod policy_check;
mod routes;
mod state;

pub use error::ApiError;
pub use oidc::{OidcSettings, CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE};
pub use state::{ApiSettings, ApiState};

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::{Extension, Router};
use extract::BodyLimit;

/// Every `(method, path)` the router serves; the OpenAPI document must list exactly these (a unit test checks).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/api/openapi.json"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/auth/providers"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/session"),
    ("get", "/auth/login/{provider}"),
    ("get", "/auth/callback"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users/{name}"),
    ("post", "/api/v1/users/{name}/disable"),
    ("post", "/api/v1/users/{name}/enable"),
    ("put", "/api/v1/users/{name}/groups"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/{id}"),
    ("get", "/api/v1/ssh-keys"),
    ("post", "/api/v1/ssh-keys"),
    ("delete", "/api/v1/ssh-keys/{fingerprint}"),
    ("get", "/api/v1/connections"),
    ("post", "/api/v1/connections"),
    ("get", "/api/v1/connections/{name}"),
    ("delete", "/api/v1/connections/{name}"),
    ("patch", "/api/v1/connections/{name}"),
    ("put", "/api/v1/connections/{name}/options"),
    ("get", "/api/v1/policy"),
    ("put", "/api/v1/policy"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/sessions"),
    ("get", "/api/v1/sessions/{id}"),
    ("get", "/api/v1/sessions/{id}/events"),
    ("get", "/api/v1/sessions/{id}/verify"),
    ("get", "/api/v1/reviews"),
    ("get", "/api/v1/reviews/{id}"),
    ("post", "/api/v1/reviews/{id}/approve"),
    ("post", "/api/v1/reviews/{id}/deny"),
    ("get", "/api/v1/access-requests"),
    ("post", "/api/v1/access-requests"),
    ("post", "/api/v1/access-requests/{id}/approve"),
    ("post", "/api/v1/access-requests/{id}/deny"),
    ("get", "/api/v1/webhooks/deliveries"),
];

/// The API router. Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so the audit log gets
/// the client's address.
pub fn router(state: ApiState) -> Router {
    let limit = state.settings().max_body_bytes;
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/v1/me", get(routes::me::me))
        .route("/api/v1/auth/providers", get(routes::auth_oidc::providers))
        .route("/api/v1/auth/token", post(routes::auth_oidc::exchange))
        .route("/api/v1/auth/logout", post(routes::auth_oidc::logout))
        .route("/api/v1/auth/session", get(routes::auth_oidc::session))
        .route("/auth/login/{provider}", get(routes::auth_web::login))
        .route("/auth/callback", get(routes::auth_web::callback))
        .route(
            "/api/v1/users",
            get(routes::users::list).post(routes::users::create),
        )
        .route("/api/v1/users/{name}", get(routes::users::show))
        .route("/api/v1/users/{name}/disable", post(routes::users::disable))
        .route("/api/v1/users/{name}/enable", post(routes::users::enable))
        .route("/api/v1/users/{name}/groups", put(routes::users::set_groups))
        .route(
            "/api/v1/tokens",
            get(routes::tokens::list).post(routes::tokens::create),
        )
        .route("/api/v1/tokens/{id}", delete(routes::tokens::revoke))
        .route(
            "/api/v1/ssh-keys",
            get(routes::ssh_keys::list).post(routes::ssh_keys::add),
        )
        .route("/api/v1/ssh-keys/{fingerprint}", delete(routes::ssh_keys::remove))
        .route(
            "/api/v1/connections",
            get(routes::connections::list).post(routes::connections::create),
        )
        .route(
            "/api/v1/connections/{name}",
            get(routes::connections::show)
                .patch(routes::connections::update)
                .delete(routes::connections::delete),
        )
        .route(
            "/api/v1/connections/{name}/options",
            put(routes::connections::set_options),
        )
        .route(
            "/api/v1/policy",
            get(routes::policy::show).put(routes::policy::apply),
        )
        .route("/api/v1/audit", get(routes::audit::list))
        .route("/api/v1/sessions", get(routes::sessions::list))
        .route("/api/v1/sessions/{id}", get(routes::sessions::show))
        .route("/api/v1/sessions/{id}/events", get(routes::sessions::events))
        .route("/api/v1/sessions/{id}/verify", get(routes::sessions::verify))
        .route("/api/v1/reviews", get(routes::reviews::list))
        .route("/api/v1/reviews/{id}", get(routes::reviews::show))
        .route("/api/v1/reviews/{id}/approve", post(routes::reviews::approve))
        .route("/api/v1/reviews/{id}/deny", post(routes::reviews::deny))
        .route(
            "/api/v1/access-requests",
            get(routes::reviews::list_access).post(routes::reviews::request_access),
        )
        .route(
            "/api/v1/access-requests/{id}/approve",
            post(routes::reviews::approve_access),
        )
        .route(
            "/api/v1/access-requests/{id}/deny",
            post(routes::reviews::deny_access),
        )
        .route("/api/v1/webhooks/deliveries", get(routes::reviews::deliveries))
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(limit))
        .layer(Extension(BodyLimit(limit)))
        .with_state(state)
}

#[cfg(test)]
mod tests;
