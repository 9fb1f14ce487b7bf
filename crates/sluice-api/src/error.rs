//! The API's one error type and its JSON shape: `{"error": {"code": "...", "message": "..."}}`.
//!
//! Every failure a client can see goes through [`ApiError`], including the ones axum would otherwise answer with
//! plain text (malformed JSON, unknown fields, oversized bodies, bad query strings). Messages are written for the
//! person at the terminal and never carry secrets, SQL or internal error chains; those are logged instead.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sluice_store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (bad JSON, unknown field, bad duration, bad query parameter).
    #[error("{message}")]
    BadRequest {
        /// Machine-readable code, e.g. `invalid_json`, `invalid_duration`.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No valid credentials. The message is deliberately the same for every cause.
    #[error("missing, invalid, expired or revoked token")]
    Unauthorized,
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A thing with that name already exists, or the change conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// No route has this path.
    #[error("no such endpoint; see /api/openapi.json")]
    NoRoute,
    /// The path exists but not with this method.
    #[error("this endpoint does not accept that method; see /api/openapi.json")]
    MethodNotAllowed,
    /// The body is larger than the configured cap.
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The body is well-formed JSON but its content is refused (e.g. a policy that does not validate).
    #[error("{message}")]
    Unprocessable {
        /// Machine-readable code, e.g. `invalid_policy`.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The state store cannot be reached or written; the text is the store's own client-safe description.
    #[error("{0}")]
    StoreUnavailable(String),
    /// A configured identity provider cannot be used right now (not discovered yet); the text names it.
    #[error("{0}")]
    ProviderUnavailable(String),
    /// Anything else; details are logged, not shown.
    #[error("internal error; the gateway log has details")]
    Internal,
}

impl ApiError {
    /// A 400 with a code and message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::StoreUnavailable(_) | ApiError::ProviderUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code in the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } | ApiError::Unprocessable { code, .. } => code,
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::NoRoute => "no_route",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::StoreUnavailable(_) => "store_unavailable",
            ApiError::ProviderUnavailable(_) => "provider_unavailable",
            ApiError::Internal => "internal",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            StoreError::Conflict { .. } => ApiError::Conflict(e.to_string()),
            StoreError::Unavailable(..) | StoreError::ReadOnly => {
                tracing::warn!(error = %e, "state store unavailable");
                ApiError::StoreUnavailable(e.to_string())
            }
            other => {
                tracing::error!(error = %other, "state store error");
                ApiError::Internal
            }
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = Body {
            error: Inner {
                code: self.code(),
                message: self.to_string(),
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
