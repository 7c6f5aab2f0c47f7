//! The `deployments` table and its `deployment_bindings`: an end user's app version bound to
//! sensor and controller instances by role, with parameter values, a schedule and the labels a
//! node must carry to run it. A deployment, its bindings and its model versions
//! (`deployment_models`) are written together or not at all.

use std::collections::BTreeMap;

use sqlx::AnyPool;
use trellis_protocol::api::Deployment;
use trellis_protocol::node::BoundDevice;

use super::instances::InstanceStatus;
use super::{from_json, to_json};
use crate::error::{ApiError, ApiResult};
use crate::ids::rfc3339;

/// A stored deployment. `config`, `schedule` and `node_labels` are JSON; `node_labels` is empty
/// for deployments made before nodes had labels to match.
#[derive(sqlx::FromRow)]
pub struct DeploymentRow {
    pub id: String,
    pub app_name: String,
    pub app_version: String,
    pub owner: String,
    pub config: String,
    pub schedule: String,
    pub state: String,
    pub created_at: i64,
    pub node_labels: Option<String>,
}

impl DeploymentRow {
    /// The deployment as the API shows it, given its bindings, its model versions and, once the
    /// reconciler took it up, its instance's status (which then says more than the state it was
    /// created in).
    pub fn into_api(
        self,
        bindings: BTreeMap<String, Vec<String>>,
        models: BTreeMap<String, String>,
        instance: Option<InstanceStatus>,
    ) -> ApiResult<Deployment> {
        let instance = instance.unwrap_or(InstanceStatus {
            state: self.state,
            detail: String::new(),
            restarts: 0,
            node: None,
        });
        Ok(Deployment {
            id: self.id,
            app: self.app_name,
            version: self.app_version,
            owner: self.owner,
            bindings,
            config: from_json(&self.config)?,
            schedule: from_json(&self.schedule)?,
            node_labels: self
                .node_labels
                .and_then(|labels| serde_json::from_str(&labels).ok())
                .unwrap_or_default(),
            models,
            state: instance.state.parse().map_err(ApiError::internal)?,
            node: instance.node,
            detail: instance.detail,
            restarts: instance.restarts,
            created_at: rfc3339(self.created_at),
        })
    }
}

/// What the reconciler weighs of a deployment: its schedule, when it was made (which a schedule
/// counts from), its app version's manifest (for the memory it needs) and its node labels.
#[derive(sqlx::FromRow)]
pub struct DesiredRow {
    pub id: String,
    pub schedule: String,
    pub created_at: i64,
    pub manifest: String,
    pub node_labels: Option<String>,
}

/// A deployment that uses something (an app or model version), named for the refusal to delete
/// it.
#[derive(sqlx::FromRow)]
pub struct DeploymentUse {
    pub id: String,
    pub owner: String,
}

/// A device bound into a deployment, with what its node's app sees of it.
#[derive(sqlx::FromRow)]
pub struct BoundDeviceRow {
    pub role: String,
    pub id: String,
    pub kind: String,
    pub site: String,
    pub building: String,
    pub room: String,
    pub labels: String,
}

impl BoundDeviceRow {
    /// The device as its node's app sees it: a location path and `key=value` labels.
    pub fn into_node(self) -> BoundDevice {
        // Labels that do not parse are left out rather than keeping the app from running.
        let labels: BTreeMap<String, String> =
            serde_json::from_str(&self.labels).unwrap_or_default();
        BoundDevice {
            role: self.role,
            id: self.id,
            location: format!("{}/{}/{}", self.site, self.building, self.room),
            labels: labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        }
    }
}

/// What a [`DeploymentRow`] reads.
const COLUMNS: &str =
    "id, app_name, app_version, owner, config, schedule, state, created_at, node_labels";

/// Every deployment of `owner` (of everyone, without one), oldest first.
pub async fn list(db: &AnyPool, owner: Option<&str>) -> sqlx::Result<Vec<DeploymentRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM deployments WHERE ($1 IS NULL OR owner = $1) ORDER BY created_at"
    ))
    .bind(owner)
    .fetch_all(db)
    .await
}

/// Deployment `id`, if there is one.
pub async fn find(db: &AnyPool, id: &str) -> sqlx::Result<Option<DeploymentRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM deployments WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Deployment `id`'s bound device ids by role, each list in id order.
pub async fn bindings(db: &AnyPool, id: &str) -> sqlx::Result<BTreeMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT role, device_id FROM deployment_bindings WHERE deployment_id = $1 ORDER BY role, device_id",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    let mut bindings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (role, device) in rows {
        bindings.entry(role).or_default().push(device);
    }
    Ok(bindings)
}

/// The devices bound into deployment `id`, by role, then device id.
pub async fn bound_devices(db: &AnyPool, id: &str) -> sqlx::Result<Vec<BoundDeviceRow>> {
    sqlx::query_as(
        "SELECT b.role, d.id, d.kind, d.site, d.building, d.room, d.labels \
         FROM deployment_bindings b JOIN devices d ON d.id = b.device_id \
         WHERE b.deployment_id = $1 ORDER BY b.role, d.id",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// Every deployment with its app version's manifest, oldest first (ties by id), so the
/// reconciler places them in a stable order.
pub async fn desired(db: &AnyPool) -> sqlx::Result<Vec<DesiredRow>> {
    sqlx::query_as(
        "SELECT d.id, d.schedule, d.created_at, a.manifest, d.node_labels FROM deployments d \
         JOIN apps a ON a.name = d.app_name AND a.version = d.app_version ORDER BY d.created_at, d.id",
    )
    .fetch_all(db)
    .await
}

/// The deployments of version `version` of app `name`, oldest first.
pub async fn users_of_app(
    db: &AnyPool,
    name: &str,
    version: &str,
) -> sqlx::Result<Vec<DeploymentUse>> {
    sqlx::query_as(
        "SELECT id, owner FROM deployments WHERE app_name = $1 AND app_version = $2 \
         ORDER BY created_at, id",
    )
    .bind(name)
    .bind(version)
    .fetch_all(db)
    .await
}

/// Stores `deployment`, made at `created_at`, with its bindings and model versions, in one
/// transaction.
pub async fn insert(db: &AnyPool, deployment: &Deployment, created_at: i64) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO deployments (id, app_name, app_version, owner, config, schedule, state, created_at, node_labels) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&deployment.id)
    .bind(&deployment.app)
    .bind(&deployment.version)
    .bind(&deployment.owner)
    .bind(to_json(&deployment.config)?)
    .bind(to_json(&deployment.schedule)?)
    .bind(deployment.state.as_str())
    .bind(created_at)
    .bind(to_json(&deployment.node_labels)?)
    .execute(&mut *tx)
    .await?;
    for (role, ids) in &deployment.bindings {
        for id in ids {
            sqlx::query(
                "INSERT INTO deployment_bindings (deployment_id, role, device_id) VALUES ($1, $2, $3)",
            )
            .bind(&deployment.id)
            .bind(role)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
    }
    super::deployment_models::insert(&mut tx, &deployment.id, &deployment.models).await?;
    tx.commit().await
}
