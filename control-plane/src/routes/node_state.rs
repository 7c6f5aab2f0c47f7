//! Apps' state checkpoints, which node daemons send and fetch with their node token: a node
//! checkpoints the state of each deployment it runs, and a node about to start a deployment
//! fetches the last checkpoint, so a deployment takes its state along when it moves.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use trellis_protocol::node::{CheckpointAccepted, StateCheckpoint};

use crate::auth::policy::NodeCaller;
use crate::db;
use crate::db::app_state::Written;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::now_ms;
use crate::state::AppState;

/// Where deployment `id`'s instance is placed now: `Some(node name)`, `None` if on no node.
async fn placed_on(state: &AppState, id: &str) -> ApiResult<Option<String>> {
    Ok(db::instances::status_of(&state.db, id)
        .await?
        .and_then(|status| status.node))
}

fn not_yours(id: &str, node: &NodeCaller) -> ApiError {
    ApiError::forbidden(format!(
        "deployment `{id}` is not assigned to node `{}`",
        node.name
    ))
}

/// The deployment's last state checkpoint (generation 0 and empty if none was taken), for the
/// node it is assigned to.
#[utoipa::path(get, path = "/node/deployments/{id}/state", tag = "nodes",
    security(("token" = [])), params(("id" = String, Path, description = "The deployment")),
    responses((status = 200, body = StateCheckpoint), (status = 401, body = ErrorBody),
        (status = 403, description = "Not assigned to this node", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Extension(node): Extension<NodeCaller>,
    Path(id): Path<String>,
) -> ApiResult<Json<StateCheckpoint>> {
    if placed_on(&state, &id).await?.as_deref() != Some(node.name.as_str()) {
        return Err(not_yours(&id, &node));
    }
    let Some(row) = db::app_state::get(&state.db, &id).await? else {
        return Ok(Json(StateCheckpoint::default()));
    };
    let mut checkpoint: StateCheckpoint =
        serde_json::from_str(&row.checkpoint).map_err(ApiError::internal)?;
    checkpoint.generation = row.generation as u64;
    Ok(Json(checkpoint))
}

/// Stores the deployment's state as its node has it now. `generation` says which checkpoint the
/// node's state continues from; one that another node has since replaced is refused (409). The
/// node the deployment is assigned to may send it, and so may the node that sent the last one
/// while the deployment is on no node (its last checkpoint as it stops).
#[utoipa::path(put, path = "/node/deployments/{id}/state", tag = "nodes",
    security(("token" = [])), params(("id" = String, Path, description = "The deployment")),
    request_body = StateCheckpoint,
    responses((status = 200, body = CheckpointAccepted), (status = 401, body = ErrorBody),
        (status = 403, description = "Not assigned to this node", body = ErrorBody),
        (status = 409, description = "Another node's newer checkpoint is stored", body = ErrorBody),
        (status = 422, description = "Not a checkpoint", body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    Extension(node): Extension<NodeCaller>,
    Path(id): Path<String>,
    body: Result<Json<StateCheckpoint>, JsonRejection>,
) -> ApiResult<Json<CheckpointAccepted>> {
    let Json(checkpoint) = body.map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the body is not a state checkpoint: {}", e.body_text()),
        )
    })?;
    let base = i64::try_from(checkpoint.generation)
        .map_err(|_| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "generation is too large"))?;
    match placed_on(&state, &id).await? {
        Some(name) if name == node.name => {}
        // Stopped, or moved off a node that stopped reporting: only the last writer may still
        // send its last checkpoint (it continues what is stored).
        None => {
            let last_writer = db::app_state::get(&state.db, &id).await?;
            if last_writer.is_none_or(|row| row.node_id != node.id) {
                return Err(not_yours(&id, &node));
            }
        }
        Some(_) => return Err(not_yours(&id, &node)),
    }
    let text = serde_json::to_string(&checkpoint).map_err(ApiError::internal)?;
    match db::app_state::put(&state.db, &id, &node.id, base, &text, now_ms()).await? {
        Written::Accepted(generation) => Ok(Json(CheckpointAccepted {
            generation: generation as u64,
        })),
        Written::Superseded(stored) => Err(ApiError::conflict(format!(
            "deployment `{id}`: this state continues from checkpoint {base}, but checkpoint {} \
             from another node is stored since",
            stored.generation
        ))),
    }
}
