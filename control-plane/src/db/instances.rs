//! The `instances` table: one row per deployment the reconciler has taken up, saying where it is
//! placed and what its node last said of it.

use sqlx::AnyPool;
use trellis_protocol::node::{AssignedModel, Assignment, BoundDevice, InstanceReport};

use super::from_json;
use crate::error::ApiResult;

/// A deployment's instance as the reconciler and the heartbeat compare it.
#[derive(sqlx::FromRow)]
pub struct InstanceRow {
    pub deployment_id: String,
    pub node_id: Option<String>,
    pub state: String,
    pub detail: String,
    pub restarts: i64,
    /// The app version its deployment runs now.
    pub version: Option<String>,
}

/// How a deployment's instance is doing, with the name of its node, for the API.
#[derive(sqlx::FromRow)]
pub struct InstanceStatus {
    pub state: String,
    pub detail: String,
    pub restarts: i64,
    pub node: Option<String>,
}

/// An instance assigned to a node, with what the node needs to run it: its app version's
/// component and manifest, and the deployment's parameter values (JSON).
#[derive(sqlx::FromRow)]
pub struct AssignedRow {
    pub id: String,
    pub app_name: String,
    pub app_version: String,
    pub component_sha256: String,
    pub manifest: String,
    pub config: String,
}

impl AssignedRow {
    /// The assignment as its node receives it, with the devices bound to its roles and the
    /// models its app names.
    pub fn into_node(
        self,
        sensors: Vec<BoundDevice>,
        controllers: Vec<BoundDevice>,
        models: Vec<AssignedModel>,
    ) -> ApiResult<Assignment> {
        Ok(Assignment {
            deployment: self.id,
            app: self.app_name,
            version: self.app_version,
            component_sha256: self.component_sha256,
            manifest: self.manifest,
            config: from_json(&self.config)?,
            sensors,
            controllers,
            models,
        })
    }
}

/// What an [`InstanceRow`] reads.
const ROW: &str = "SELECT i.deployment_id, i.node_id, i.state, i.detail, i.restarts, \
     d.app_version AS version FROM instances i LEFT JOIN deployments d ON d.id = i.deployment_id";

/// Every instance.
pub async fn list(db: &AnyPool) -> sqlx::Result<Vec<InstanceRow>> {
    sqlx::query_as(ROW).fetch_all(db).await
}

/// How many instances of live deployments are in each state, for `/metrics`.
pub async fn count_by_state(db: &AnyPool) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "SELECT i.state, COUNT(*) FROM instances i JOIN deployments d ON d.id = i.deployment_id \
         WHERE d.deleted_at IS NULL GROUP BY i.state ORDER BY i.state",
    )
    .fetch_all(db)
    .await
}

/// The instances placed on node `node_id`.
pub async fn on_node(db: &AnyPool, node_id: &str) -> sqlx::Result<Vec<InstanceRow>> {
    sqlx::query_as(&format!("{ROW} WHERE i.node_id = $1"))
        .bind(node_id)
        .fetch_all(db)
        .await
}

/// The status of deployment `deployment_id`'s instance, if the reconciler has taken it up.
pub async fn status_of(db: &AnyPool, deployment_id: &str) -> sqlx::Result<Option<InstanceStatus>> {
    sqlx::query_as(
        "SELECT i.state, i.detail, i.restarts, n.name AS node FROM instances i \
         LEFT JOIN nodes n ON n.id = i.node_id WHERE i.deployment_id = $1",
    )
    .bind(deployment_id)
    .fetch_optional(db)
    .await
}

/// What node `node_id` is assigned to run, by deployment id.
pub async fn assigned_to(db: &AnyPool, node_id: &str) -> sqlx::Result<Vec<AssignedRow>> {
    sqlx::query_as(
        "SELECT d.id, d.app_name, d.app_version, a.component_sha256, a.manifest, d.config \
         FROM instances i JOIN deployments d ON d.id = i.deployment_id \
         JOIN apps a ON a.name = d.app_name AND a.version = d.app_version \
         WHERE i.node_id = $1 AND d.deleted_at IS NULL AND d.run_state = 'running' ORDER BY d.id",
    )
    .bind(node_id)
    .fetch_all(db)
    .await
}

/// Whether artifact `sha256` is one node `node_id` needs for what it is assigned (as
/// [`assigned_to`] lists it): an app's component, or a model's ONNX file or contract.
pub async fn needs_artifact(db: &AnyPool, node_id: &str, sha256: &str) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM instances i JOIN deployments d ON d.id = i.deployment_id \
         LEFT JOIN apps a ON a.name = d.app_name AND a.version = d.app_version \
         LEFT JOIN deployment_models dm ON dm.deployment_id = d.id \
         LEFT JOIN models m ON m.name = dm.model_name AND m.version = dm.model_version \
         WHERE i.node_id = $1 AND d.deleted_at IS NULL AND d.run_state = 'running' \
         AND (a.component_sha256 = $2 OR m.onnx_sha256 = $2 OR m.contract_sha256 = $2) LIMIT 1",
    )
    .bind(node_id)
    .bind(sha256)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// Takes up deployment `deployment_id` with an instance on `node` (or on none yet), with no
/// restarts counted.
pub async fn insert(
    db: &AnyPool,
    deployment_id: &str,
    node: Option<&str>,
    state: &str,
    detail: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO instances (node_id, state, detail, updated_at, deployment_id, restarts) \
         VALUES ($1, $2, $3, $4, $5, 0)",
    )
    .bind(node)
    .bind(state)
    .bind(detail)
    .bind(now)
    .bind(deployment_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Moves deployment `deployment_id`'s instance to `node` (or to none) in `state`. Its restart
/// count starts again from zero, as for a new placement.
pub async fn reassign(
    db: &AnyPool,
    deployment_id: &str,
    node: Option<&str>,
    state: &str,
    detail: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE instances SET node_id = $1, state = $2, detail = $3, updated_at = $4, restarts = 0 \
         WHERE deployment_id = $5",
    )
    .bind(node)
    .bind(state)
    .bind(detail)
    .bind(now)
    .bind(deployment_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Drops deployment `deployment_id`'s instance (the deployment is deleted): its node stops it.
pub async fn remove(db: &AnyPool, deployment_id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM instances WHERE deployment_id = $1")
        .bind(deployment_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deployment `deployment_id`'s instance, where placed, starts over as `placed` on the same node
/// with no restarts counted: its node is about to replace it with a new version.
pub async fn renew(db: &AnyPool, deployment_id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE instances SET state = 'placed', detail = '', restarts = 0, updated_at = $1 \
         WHERE deployment_id = $2 AND node_id IS NOT NULL",
    )
    .bind(now)
    .bind(deployment_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Takes every instance off node `node_id` (removed), leaving it `pending` with `detail` for
/// the reconciler to place again. Only rows still on that node are touched, so an instance the
/// reconciler has already moved keeps its new node.
pub async fn release_node(db: &AnyPool, node_id: &str, detail: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE instances SET node_id = NULL, state = 'pending', detail = $1, updated_at = $2, \
         restarts = 0 WHERE node_id = $3",
    )
    .bind(detail)
    .bind(now)
    .bind(node_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Records what node `node_id` reported at `now` of its `instances`, in one transaction. An
/// instance since moved to another node is left alone, so a late word from its old node cannot
/// overwrite what its new node says.
pub async fn record_reports(
    db: &AnyPool,
    node_id: &str,
    instances: &[&InstanceReport],
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    for instance in instances {
        sqlx::query(
            "UPDATE instances SET state = $1, detail = $2, restarts = $3, updated_at = $4 \
             WHERE deployment_id = $5 AND node_id = $6",
        )
        .bind(instance.state.as_str())
        .bind(&instance.detail)
        .bind(i64::from(instance.restarts))
        .bind(now)
        .bind(&instance.deployment)
        .bind(node_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
