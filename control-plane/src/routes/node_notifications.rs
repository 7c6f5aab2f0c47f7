//! Apps' notifications, which their node forwards with its node token: each one passes the
//! deployment's rate limit and goes to its recipients.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use trellis_protocol::api::{BatchAccepted, NotificationBatch};

use super::json_body::json_body;
use crate::auth::policy::NodeCaller;
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::notify::{Notification, Source};
use crate::state::AppState;

/// The most notifications one batch may carry (a node sends what piled up since its last one).
pub const MAX_BATCH: usize = 1000;

/// Deliver notifications an app of the deployment raised, through the deployment's rate limit.
/// Only the node the deployment is placed on may send them.
#[utoipa::path(post, path = "/node/deployments/{id}/notifications", tag = "nodes",
    security(("token" = [])), params(("id" = String, Path, description = "The deployment")),
    request_body = NotificationBatch,
    responses((status = 202, body = BatchAccepted),
        (status = 400, description = "Too many in one batch", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not assigned to this node", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Not a batch of notifications", body = ErrorBody)))]
pub async fn post(
    State(state): State<AppState>,
    Extension(node): Extension<NodeCaller>,
    Path(id): Path<String>,
    body: Result<Json<NotificationBatch>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<BatchAccepted>)> {
    let placed_on = db::instances::status_of(&state.db, &id)
        .await?
        .and_then(|status| status.node);
    if placed_on.as_deref() != Some(node.name.as_str()) {
        return Err(ApiError::forbidden(format!(
            "deployment `{id}` is not assigned to node `{}`",
            node.name
        )));
    }
    let batch = json_body(body, "a batch of notifications")?;
    if batch.notifications.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "{} notifications in one batch; at most {MAX_BATCH}",
            batch.notifications.len()
        )));
    }
    let mut answer = BatchAccepted::default();
    for raised in batch.notifications {
        let admitted = state.notifier.raise(Notification {
            deployment: Some(id.clone()),
            source: Source::App,
            urgency: raised.urgency,
            title: raised.title,
            body: raised.body,
        });
        if admitted {
            answer.accepted += 1;
        } else {
            answer.suppressed += 1;
        }
    }
    Ok((StatusCode::ACCEPTED, Json(answer)))
}
