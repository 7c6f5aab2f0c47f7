//! Nodes: the machines that run apps and models, registered by a platform configurer, who may
//! also give a node a new token, drain it (its instances move to other nodes and it takes no
//! new work) and remove it.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use trellis_protocol::api::{NewNode, Node};

use super::json_body::JsonBody;
use super::names::check_name;
use crate::auth::token_hash;
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{new_id, now_ms, random_hex, rfc3339};
use crate::state::AppState;

/// List nodes.
#[utoipa::path(get, path = "/nodes", tag = "nodes", security(("token" = [])),
    responses((status = 200, body = Vec<Node>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<Node>>> {
    let rows = db::nodes::list(&state.db).await?;
    rows.into_iter()
        .map(|row| row.into_api())
        .collect::<ApiResult<_>>()
        .map(Json)
}

/// Register a node; the answer carries its daemon's token, once.
#[utoipa::path(post, path = "/nodes", tag = "nodes", security(("token" = [])), request_body = NewNode,
    responses((status = 201, body = Node), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(new): JsonBody<NewNode>,
) -> ApiResult<(StatusCode, Json<Node>)> {
    check_name("name", &new.name)?;
    let id = new_id("node");
    let created_at = now_ms();
    let token = random_hex(32);
    db::nodes::insert(
        &state.db,
        &id,
        &new.name,
        &new.labels,
        created_at,
        &token_hash(&token),
    )
    .await
    .map_err(|e| ApiError::already_exists(e, "node", &new.name))?;
    Ok((
        StatusCode::CREATED,
        Json(Node {
            id,
            name: new.name,
            labels: new.labels,
            state: db::nodes::REGISTERED.into(),
            created_at: rfc3339(created_at),
            last_seen: None,
            report: None,
            token: Some(token),
            bus: (!trellis_bus::is_embedded(&state.settings.bus))
                .then(|| state.settings.bus.clone()),
        }),
    ))
}

/// The node `id` names (its id, or its name).
async fn find(state: &AppState, id: &str) -> ApiResult<db::nodes::NodeRow> {
    db::nodes::find(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no node `{id}`")))
}

/// The node `id` names, as it is now.
async fn current(state: &AppState, id: &str) -> ApiResult<Node> {
    find(state, id).await?.into_api()
}

/// Give a node a new daemon token (shown once): its daemon's next request with the old one is
/// refused, so the daemon must be restarted with the new token.
#[utoipa::path(post, path = "/nodes/{id}/token", tag = "nodes", security(("token" = [])),
    params(("id" = String, Path, description = "the node's id or name")),
    responses((status = 200, body = Node), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Node>> {
    let node = find(&state, &id).await?;
    let token = random_hex(32);
    db::nodes::set_token_of(&state.db, &node.id, &token_hash(&token)).await?;
    Ok(Json(Node {
        token: Some(token),
        bus: (!trellis_bus::is_embedded(&state.settings.bus)).then(|| state.settings.bus.clone()),
        ..node.into_api()?
    }))
}

/// Drain a node: placement stops choosing it and its instances move to other live nodes (each
/// stays until another node can take it). It shows `draining`, then `drained`.
#[utoipa::path(post, path = "/nodes/{id}/drain", tag = "nodes", security(("token" = [])),
    params(("id" = String, Path, description = "the node's id or name")),
    responses((status = 200, body = Node), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn drain(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Node>> {
    let node = find(&state, &id).await?;
    db::nodes::set_drain(&state.db, &node.id, Some(now_ms())).await?;
    current(&state, &node.id).await.map(Json)
}

/// Let a drained (or draining) node take work again.
#[utoipa::path(post, path = "/nodes/{id}/undrain", tag = "nodes", security(("token" = [])),
    params(("id" = String, Path, description = "the node's id or name")),
    responses((status = 200, body = Node), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn undrain(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Node>> {
    let node = find(&state, &id).await?;
    db::nodes::set_drain(&state.db, &node.id, None).await?;
    current(&state, &node.id).await.map(Json)
}

/// Remove a node: its token is refused at once, its instances are placed again elsewhere, and
/// it leaves the list. Its name may be registered again.
#[utoipa::path(delete, path = "/nodes/{id}", tag = "nodes", security(("token" = [])),
    params(("id" = String, Path, description = "the node's id or name")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let node = find(&state, &id).await?;
    // The node first, so the reconciler cannot choose it again before its instances are free.
    db::nodes::delete(&state.db, &node.id).await?;
    let detail = format!("its node {} was removed", node.name);
    let released = db::instances::on_node(&state.db, &node.id).await?;
    db::instances::release_node(&state.db, &node.id, &detail, now_ms()).await?;
    for instance in released {
        crate::live::deployment_changed(&state, &instance.deployment_id).await;
    }
    state.live.loads.forget(&node.id);
    Ok(StatusCode::NO_CONTENT)
}

/// Gives node `name` a fresh token, registering it first if it is new.
pub async fn issue_node_token(state: &AppState, name: &str) -> ApiResult<String> {
    check_name("name", name)?;
    let token = random_hex(32);
    let hash = token_hash(&token);
    if !db::nodes::set_token(&state.db, name, &hash).await? {
        let labels = BTreeMap::new();
        db::nodes::insert(&state.db, &new_id("node"), name, &labels, now_ms(), &hash).await?;
    }
    Ok(token)
}
