//! A JSON request body that did not parse, answered in the API's error shape with the status
//! axum gives it (400 bad syntax, 413 too large, 415 not JSON, 422 wrong fields) and naming what
//! was expected.

use axum::Json;
use axum::extract::rejection::JsonRejection;

use crate::error::{ApiError, ApiResult};

/// The body, or an error saying it is not `what`.
pub fn json_body<T>(body: Result<Json<T>, JsonRejection>, what: &str) -> ApiResult<T> {
    body.map(|Json(value)| value).map_err(|e| {
        ApiError::new(
            e.status(),
            format!("the body is not {what}: {}", e.body_text()),
        )
    })
}
