//! Where node daemons ship log lines and lifecycle events, in batches, with their node token.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::{Extension, Json};
use trellis_protocol::logs::{LogBatch, LogBatchAccepted};

use crate::auth::policy::NodeCaller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The most lines one batch may carry; a node sends more as more batches.
pub const MAX_BATCH_LINES: usize = 10_000;

/// Store a batch of the node's log lines and events (with the count of lines it had to drop).
#[utoipa::path(post, path = "/node/logs", tag = "nodes", security(("token" = [])),
    request_body = LogBatch,
    responses((status = 200, body = LogBatchAccepted), (status = 401, body = ErrorBody),
        (status = 413, description = "More lines than a batch may carry, or too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Not a batch of log lines", body = ErrorBody)))]
pub async fn ship(
    State(state): State<AppState>,
    Extension(node): Extension<NodeCaller>,
    body: Result<Json<LogBatch>, JsonRejection>,
) -> ApiResult<Json<LogBatchAccepted>> {
    let Json(batch) = body.map_err(|e| {
        let status = match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => e.status(),
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(
            status,
            format!("the body is not a batch of log lines: {}", e.body_text()),
        )
    })?;
    if batch.lines.len() > MAX_BATCH_LINES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "a batch holds at most {MAX_BATCH_LINES} lines; this one has {}",
                batch.lines.len()
            ),
        ));
    }
    let stored = state.logs.from_node(&node.name, batch).await?;
    Ok(Json(LogBatchAccepted { stored }))
}
