//! The `nodes` table: the machines that run apps and models, with their daemon's token hash and
//! what their last heartbeat said.

use std::collections::BTreeMap;

use sqlx::AnyPool;
use trellis_protocol::api::Node;

use super::{from_json, to_json};
use crate::error::ApiResult;
use crate::ids::rfc3339;

/// A stored node. `labels` is JSON; `report` is its last heartbeat, as JSON; `instances` counts
/// the instances placed on it.
#[derive(sqlx::FromRow)]
pub struct NodeRow {
    pub id: String,
    pub name: String,
    pub labels: String,
    pub state: String,
    pub created_at: i64,
    pub last_seen: Option<i64>,
    pub report: Option<String>,
    pub drain_requested_at: Option<i64>,
    pub instances: i64,
}

impl NodeRow {
    /// Whether a configurer asked it to drain: it takes no new work.
    pub fn draining(&self) -> bool {
        self.drain_requested_at.is_some()
    }

    /// The node as the API lists it: without a token, which is only shown once. A node asked
    /// to drain is `draining` while instances remain on it, then `drained`.
    pub fn into_api(self) -> ApiResult<Node> {
        let state = match (self.draining(), self.instances) {
            (true, 0) => DRAINED.to_string(),
            (true, _) => DRAINING.to_string(),
            (false, _) => self.state,
        };
        Ok(Node {
            id: self.id,
            name: self.name,
            labels: from_json(&self.labels)?,
            state,
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
/// The state shown for a node asked to drain while instances remain on it.
pub const DRAINING: &str = "draining";
/// The state shown for a node asked to drain once nothing runs there.
pub const DRAINED: &str = "drained";

/// What a [`NodeRow`] reads.
const COLUMNS: &str = "id, name, labels, state, created_at, last_seen, report, drain_requested_at, \
    (SELECT COUNT(*) FROM instances WHERE instances.node_id = nodes.id) AS instances";

/// Every node, by name.
pub async fn list(db: &AnyPool) -> sqlx::Result<Vec<NodeRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM nodes ORDER BY name"))
        .fetch_all(db)
        .await
}

/// The node whose id, or else whose name, is `id_or_name`.
pub async fn find(db: &AnyPool, id_or_name: &str) -> sqlx::Result<Option<NodeRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM nodes WHERE id = $1 OR name = $1 \
         ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1"
    ))
    .bind(id_or_name)
    .fetch_optional(db)
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

/// Gives node `id` the daemon token kept as `token_hash`, so its old token is refused from the
/// next request on.
pub async fn set_token_of(db: &AnyPool, id: &str, token_hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE nodes SET token_hash = $1 WHERE id = $2")
        .bind(token_hash)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Asks node `id` to drain since `since` (Unix ms), or (`None`) to take work again. Asking a
/// draining node again keeps when it was first asked.
pub async fn set_drain(db: &AnyPool, id: &str, since: Option<i64>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE nodes SET drain_requested_at = CASE WHEN $1 IS NULL THEN NULL \
         ELSE COALESCE(drain_requested_at, $1) END WHERE id = $2",
    )
    .bind(since)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes node `id`, and with it its token.
pub async fn delete(db: &AnyPool, id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM nodes WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Records a heartbeat from node `id` at `now` (Unix ms) with its `report` (JSON): a node that
/// reports is up. True when it was not up before.
pub async fn record_heartbeat(
    db: &AnyPool,
    id: &str,
    now: i64,
    report: &str,
) -> sqlx::Result<bool> {
    sqlx::query("UPDATE nodes SET last_seen = $1, report = $2 WHERE id = $3")
        .bind(now)
        .bind(report)
        .bind(id)
        .execute(db)
        .await?;
    let came_up = sqlx::query("UPDATE nodes SET state = 'up' WHERE id = $1 AND state <> 'up'")
        .bind(id)
        .execute(db)
        .await?;
    Ok(came_up.rows_affected() > 0)
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
