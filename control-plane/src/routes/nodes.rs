//! Nodes: the machines that run apps and models, registered by a platform configurer.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use trellis_protocol::api::{NewNode, Node};

use super::names::check_name;
use crate::auth::token_hash;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{new_id, now_ms, random_hex, rfc3339};
use crate::state::AppState;

/// List nodes.
#[utoipa::path(get, path = "/nodes", tag = "nodes", security(("token" = [])),
    responses((status = 200, body = Vec<Node>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<Node>>> {
    type Row = (
        String,
        String,
        String,
        String,
        i64,
        Option<i64>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, name, labels, state, created_at, last_seen, report FROM nodes ORDER BY name",
    )
    .fetch_all(&state.db)
    .await?;
    rows.into_iter()
        .map(|(id, name, labels, state, created_at, last_seen, report)| {
            Ok(Node {
                id,
                name,
                labels: serde_json::from_str(&labels).map_err(ApiError::internal)?,
                state,
                created_at: rfc3339(created_at),
                last_seen: last_seen.map(rfc3339),
                report: report.and_then(|r| serde_json::from_str(&r).ok()),
                token: None,
                bus: None,
            })
        })
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
    sqlx::query(
        "INSERT INTO nodes (id, name, labels, state, created_at, token_hash) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(&new.name)
    .bind(serde_json::to_string(&new.labels).map_err(ApiError::internal)?)
    .bind("registered")
    .bind(created_at)
    .bind(token_hash(&token))
    .execute(&state.db)
    .await
    .map_err(|e| ApiError::already_exists(e, "node", &new.name))?;
    Ok((
        StatusCode::CREATED,
        Json(Node {
            id,
            name: new.name,
            labels: new.labels,
            state: "registered".into(),
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
    let updated = sqlx::query("UPDATE nodes SET token_hash = $1 WHERE name = $2")
        .bind(token_hash(&token))
        .bind(name)
        .execute(&state.db)
        .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO nodes (id, name, labels, state, created_at, token_hash) VALUES ($1, $2, '{}', 'registered', $3, $4)",
        )
        .bind(new_id("node"))
        .bind(name)
        .bind(now_ms())
        .bind(token_hash(&token))
        .execute(&state.db)
        .await?;
    }
    Ok(token)
}
