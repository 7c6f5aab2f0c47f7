//! Nodes: the machines that run apps and models, registered by a platform configurer.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use trellis_protocol::api::{NewNode, Node};

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
    Json(new): Json<NewNode>,
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
            bus: (state.settings.bus != "embedded").then(|| state.settings.bus.clone()),
        }),
    ))
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
