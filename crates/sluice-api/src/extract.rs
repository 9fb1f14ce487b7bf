//! Request extractors that answer every rejection with an [`ApiError`] JSON body instead of axum's plain text.
//!
//! [`ApiJson`] and [`ApiQuery`] wrap axum's own extractors; request DTOs deny unknown fields, so a misspelt field is
//! a 400 that names it rather than a silently ignored value.

use crate::error::ApiError;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// A JSON request body.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = req.extensions().get::<BodyLimit>().map_or(0, |l| l.0);
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(&rejection, limit)),
        }
    }
}

/// The configured body cap, put in request extensions by the router so rejections can say what it is.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

fn json_rejection(rejection: &JsonRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge { limit };
    }
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::bad_request(
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
            "invalid_json",
            format!("malformed JSON: {}", detail(e.body_text())),
        ),
        JsonRejection::JsonDataError(e) => ApiError::bad_request("invalid_request", detail(e.body_text())),
        other => ApiError::bad_request("invalid_request", other.body_text()),
    }
}

/// axum's rejection text without its generic preamble ("Failed to deserialize ...: "), which says nothing the
/// code does not already say; what remains names the field and the problem.
fn detail(body_text: String) -> String {
    const PREAMBLES: [&str; 4] = [
        "Failed to deserialize the JSON body into the target type: ",
        "Failed to parse the request body as JSON: ",
        "Failed to deserialize query string: ",
        "Failed to deserialize query string. ",
    ];
    PREAMBLES
        .iter()
        .find_map(|p| body_text.strip_prefix(p).map(str::to_owned))
        .unwrap_or(body_text)
}

/// A query string.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> ApiError {
    match rejection {
        QueryRejection::FailedToDeserializeQueryString(e) => {
            ApiError::bad_request("invalid_query", detail(e.body_text()))
        }
        other => ApiError::bad_request("invalid_query", other.body_text()),
    }
}
