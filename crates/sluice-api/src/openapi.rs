//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the API.
//!
//! Hand-maintained in `openapi.json` next to this file (a generator would cost more compile time than the document
//! costs to keep); a unit test checks that it lists exactly the routes in [`crate::ROUTES`].

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// The document's text.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// Serves [`DOCUMENT`].
pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT)
}
