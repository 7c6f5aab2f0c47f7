//! Artifacts by content hash, for node daemons and for anyone checking what was uploaded.

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The bytes of an artifact, by its SHA-256.
#[utoipa::path(get, path = "/artifacts/{sha256}", tag = "artifacts", security(("token" = [])),
    params(("sha256" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, body = ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    Path(sha256): Path<String>,
) -> ApiResult<impl IntoResponse> {
    serve(&state, &sha256)
}

/// The response carrying artifact `sha256`, or 404; shared with the node endpoint.
pub fn serve(state: &AppState, sha256: &str) -> ApiResult<impl IntoResponse + use<>> {
    let bytes = state
        .artifacts
        .read(sha256)?
        .ok_or_else(|| ApiError::not_found(format!("no artifact `{sha256}`")))?;
    Ok(([(CONTENT_TYPE, "application/octet-stream")], bytes))
}
