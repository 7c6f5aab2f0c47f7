//! A JSON request body that did not parse, answered in the API's error shape with the status
//! axum gives it (400 bad syntax, 413 too large, 415 not JSON, 422 wrong fields) and naming what
//! was expected.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

/// The body, or an error saying it is not `what`.
pub fn json_body<T>(body: Result<Json<T>, JsonRejection>, what: &str) -> ApiResult<T> {
    body.map(|Json(value)| value).map_err(|e| refused(e, what))
}

/// A route's JSON body, as axum's `Json` reads it, but refused in the API's error shape (axum's
/// own rejection is plain text).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| JsonBody(value))
            .map_err(|e| refused(e, "what this route takes"))
    }
}

fn refused(e: JsonRejection, what: &str) -> ApiError {
    ApiError::new(
        e.status(),
        format!("the body is not {what}: {}", e.body_text()),
    )
}
