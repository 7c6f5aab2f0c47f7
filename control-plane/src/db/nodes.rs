//! The `nodes` table: the machines that run apps and models, with their daemon's token hash and
//! what their last heartbeat said.

use std::collections::BTreeMap;

use sqlx::AnyPool;
use trellis_protocol::api::Node;

use super::{from_json, to_json};
use crate::error::ApiResult;
use crate::ids::rfc3339;

/// A stored node. `labels` is JSON; `report` is its last heartbeat, as JSON.
#[derive(sqlx::FromRow)]
pub struct NodeRow {
    pub id: String,
    pub name: String,
    pub labels: String,
    pub state: String,
    pub created_at: i64,
    pub last_seen: Option<i64>,
    pub report: Option<String>,
}

impl NodeRow {
    /// The node as the API lists it: without a token, which is only shown once.
    pub fn into_api(self) -> ApiResult<Node> {
        Ok(Node {
            id: self.id,
            name: self.name,
            labels: from_json(&self.labels)?,
            state: self.state,
            created_at: rfc3339(self.created_at),
            last_seen: self.last_seen.map(rfc3339),
            // A report that does not parse is shown as none rather than failing the listing.
            report: self.report.and_then(|r| serde_json::from_str(&r).ok()),
            token: None,
            bus: None,
        })
    }
}

/// The node a daemon token belongs to.
#[derive(sqlx::FromRow)]
pub struct TokenHolder {
    pub id: String,
    pub name: String,
}

/// The state of a node that has never sent a heartbeat.
pub const REGISTERED: &str = "registered";

/// Every node, by name.
pub async fn list(db: &AnyPool) -> sqlx::Result<Vec<NodeRow>> {
    sqlx::query_as(
        "SELECT id, name, labels, state, created_at, last_seen, report FROM nodes ORDER BY name",
    )
    .fetch_all(db)
    .await
}

/// The node holding the daemon token kept as `token_hash`, if any.
pub async fn find_by_token(db: &AnyPool, token_hash: &str) -> sqlx::Result<Option<TokenHolder>> {
    sqlx::query_as("SELECT id, name FROM nodes WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(db)
        .await
}

/// Registers node `id` called `name`, with the daemon token kept as `token_hash`; a taken name
/// fails on the unique key.
pub async fn insert(
    db: &AnyPool,
    id: &str,
    name: &str,
    labels: &BTreeMap<String, String>,
    created_at: i64,
    token_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO nodes (id, name, labels, state, created_at, token_hash) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(name)
    .bind(to_json(labels)?)
    .bind(REGISTERED)
    .bind(created_at)
    .bind(token_hash)
    .execute(db)
    .await?;
    Ok(())
}

/// Gives the node called `name` the daemon token kept as `token_hash`; false if there is no such
/// node.
pub async fn set_token(db: &AnyPool, name: &str, token_hash: &str) -> sqlx::Result<bool> {
    let updated = sqlx::query("UPDATE nodes SET token_hash = $1 WHERE name = $2")
        .bind(token_hash)
        .bind(name)
        .execute(db)
        .await?;
    Ok(updated.rows_affected() > 0)
}

/// Records a heartbeat from node `id` at `now` (Unix ms) with its `report` (JSON): a node that
/// reports is up.
pub async fn record_heartbeat(db: &AnyPool, id: &str, now: i64, report: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE nodes SET last_seen = $1, report = $2, state = 'up' WHERE id = $3")
        .bind(now)
        .bind(report)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Sets node `id`'s state, as the reconciler judges it from its heartbeats.
pub async fn set_state(db: &AnyPool, id: &str, state: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE nodes SET state = $1 WHERE id = $2")
        .bind(state)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
