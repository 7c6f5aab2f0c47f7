//! Nodes: the machines that run apps and models, registered by a platform configurer.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::names::check_name;
use super::types::exists;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{new_id, now_ms, rfc3339};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNode {
    pub name: String,
    /// Labels that placement can match, e.g. `site=north-campus`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct Node {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `registered` until the node's daemon first reports.
    pub state: String,
    pub created_at: String,
}

/// List nodes.
#[utoipa::path(get, path = "/nodes", tag = "nodes", security(("token" = [])),
    responses((status = 200, body = Vec<Node>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<Node>>> {
    let rows: Vec<(String, String, String, String, i64)> =
        sqlx::query_as("SELECT id, name, labels, state, created_at FROM nodes ORDER BY name")
            .fetch_all(&state.db)
            .await?;
    rows.into_iter()
        .map(|(id, name, labels, state, created_at)| {
            Ok(Node {
                id,
                name,
                labels: serde_json::from_str(&labels).map_err(ApiError::internal)?,
                state,
                created_at: rfc3339(created_at),
            })
        })
        .collect::<ApiResult<_>>()
        .map(Json)
}

/// Register a node.
#[utoipa::path(post, path = "/nodes", tag = "nodes", security(("token" = [])), request_body = NewNode,
    responses((status = 201, body = Node), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Json(new): Json<NewNode>,
) -> ApiResult<(StatusCode, Json<Node>)> {
    check_name("name", &new.name)?;
    let id = new_id("node");
    let created_at = now_ms();
    sqlx::query(
        "INSERT INTO nodes (id, name, labels, state, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(&new.name)
    .bind(serde_json::to_string(&new.labels).map_err(ApiError::internal)?)
    .bind("registered")
    .bind(created_at)
    .execute(&state.db)
    .await
    .map_err(|e| exists(e, "node", &new.name))?;
    Ok((
        StatusCode::CREATED,
        Json(Node {
            id,
            name: new.name,
            labels: new.labels,
            state: "registered".into(),
            created_at: rfc3339(created_at),
        }),
    ))
}
