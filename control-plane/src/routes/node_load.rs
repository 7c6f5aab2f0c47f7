//! `GET /nodes/{id}/load`: a node's load over the last minutes, from its heartbeats, so a chart
//! of it starts filled before the live stream adds to it.

use axum::Json;
use axum::extract::{Path, State};
use trellis_protocol::live::NodeLoad;

use crate::db;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::now_ms;
use crate::live::node_load::WINDOW_MS;
use crate::state::AppState;

/// A node's CPU, memory, temperature and instance count at each heartbeat of the last 15
/// minutes (since this control plane started), oldest first.
#[utoipa::path(get, path = "/nodes/{id}/load", tag = "nodes", security(("token" = [])),
    params(("id" = String, Path, description = "the node's id or name")),
    responses((status = 200, body = NodeLoad), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn load(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<NodeLoad>> {
    let node = db::nodes::find(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no node `{id}`")))?;
    let points = state.live.loads.of(&node.id, now_ms());
    Ok(Json(NodeLoad {
        node: node.id,
        name: node.name,
        window_s: (WINDOW_MS / 1000) as u64,
        points,
    }))
}
