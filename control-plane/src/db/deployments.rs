//! The `deployments` table, its `deployment_bindings` and its history (`deployment_events`): an
//! end user's app version bound to sensor and controller instances by role, with parameter
//! values, a schedule and the labels a node must carry to run it. A deployment, its bindings, its
//! model versions (`deployment_models`) and the event that changed them are written together or
//! not at all. A deleted deployment keeps its row and history, so its history can still be read,
//! but is no longer listed, found or run.

use std::collections::BTreeMap;

use sqlx::{Any, AnyConnection, AnyPool, Transaction};
use trellis_protocol::api::{Deployment, DeploymentEvent, FieldChange, RunState};
use trellis_protocol::node::{BoundDevice, InstanceState};

use super::instances::InstanceStatus;
use super::{from_json, to_json};
use crate::error::{ApiError, ApiResult};
use crate::ids::rfc3339;

/// A stored deployment. `config`, `config_set`, `schedule` and `node_labels` are JSON;
/// `node_labels` is empty for deployments made before nodes had labels to match, `config_set`
/// for those made before their owner's own values were kept apart.
#[derive(Clone, sqlx::FromRow)]
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
    /// `running` or `stopped`.
    pub run_state: String,
    /// The parameter values the owner gave, as text by name.
    pub config_set: Option<String>,
    /// Until when a failing instance is rolled back by the control plane (after an upgrade).
    pub watch_until: Option<i64>,
    /// The last thing worth telling that happened to it.
    pub note: String,
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
        let run_state = if self.run_state == RunState::Stopped.as_str() {
            RunState::Stopped
        } else {
            RunState::Running
        };
        let mut instance = instance.unwrap_or(InstanceStatus {
            state: self.state,
            detail: String::new(),
            restarts: 0,
            node: None,
        });
        // Stopped is stopped at once, before the reconciler and the node have caught up.
        if run_state == RunState::Stopped {
            instance.state = InstanceState::Stopped.as_str().into();
        }
        if instance.detail.is_empty() {
            instance.detail = self.note;
        }
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
            run_state,
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
/// counts from), its app version's manifest (for the memory it needs), its node labels and
/// whether its owner stopped it.
#[derive(sqlx::FromRow)]
pub struct DesiredRow {
    pub id: String,
    pub schedule: String,
    pub created_at: i64,
    pub manifest: String,
    pub node_labels: Option<String>,
    pub run_state: String,
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
const COLUMNS: &str = "id, app_name, app_version, owner, config, schedule, state, created_at, \
     node_labels, run_state, config_set, watch_until, note";

/// Every deployment of `owner` (of everyone, without one), oldest first.
pub async fn list(db: &AnyPool, owner: Option<&str>) -> sqlx::Result<Vec<DeploymentRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM deployments WHERE ($1 IS NULL OR owner = $1) AND deleted_at IS NULL \
         ORDER BY created_at"
    ))
    .bind(owner)
    .fetch_all(db)
    .await
}

/// Deployment `id`, if there is one and it is not deleted.
pub async fn find(db: &AnyPool, id: &str) -> sqlx::Result<Option<DeploymentRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM deployments WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Deployment `id`, deleted or not (its history outlives it).
pub async fn find_with_deleted(db: &AnyPool, id: &str) -> sqlx::Result<Option<DeploymentRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM deployments WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// A watched deployment (upgraded a moment ago) whose instance fails, with its last error.
#[derive(sqlx::FromRow)]
pub struct FailingRow {
    pub id: String,
    pub detail: String,
}

/// Deployments watched until after `now` whose instance is `failed` or was restarted at least
/// `restarts` times.
pub async fn failing_while_watched(
    db: &AnyPool,
    now: i64,
    restarts: i64,
) -> sqlx::Result<Vec<FailingRow>> {
    sqlx::query_as(
        "SELECT d.id, i.detail FROM deployments d JOIN instances i ON i.deployment_id = d.id \
         WHERE d.deleted_at IS NULL AND d.watch_until IS NOT NULL AND d.watch_until >= $1 \
         AND (i.state = 'failed' OR i.restarts >= $2) ORDER BY d.id",
    )
    .bind(now)
    .bind(restarts)
    .fetch_all(db)
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
        "SELECT d.id, d.schedule, d.created_at, a.manifest, d.node_labels, d.run_state \
         FROM deployments d JOIN apps a ON a.name = d.app_name AND a.version = d.app_version \
         WHERE d.deleted_at IS NULL ORDER BY d.created_at, d.id",
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
        "SELECT id, owner FROM deployments WHERE app_name = $1 AND app_version = $2 AND deleted_at IS NULL \
         ORDER BY created_at, id",
    )
    .bind(name)
    .bind(version)
    .fetch_all(db)
    .await
}

/// Stores `deployment`, made at `created_at` with `config_set` as its owner's own parameter
/// values, with its bindings, its model versions and its `created` event, in one transaction.
pub async fn insert(
    db: &AnyPool,
    deployment: &Deployment,
    config_set: &BTreeMap<String, String>,
    created_at: i64,
    event: &NewEvent,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO deployments (id, app_name, app_version, owner, config, schedule, state, created_at, node_labels, run_state, config_set, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '')",
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
    .bind(deployment.run_state.as_str())
    .bind(to_json(config_set)?)
    .execute(&mut *tx)
    .await?;
    insert_bindings(&mut tx, &deployment.id, &deployment.bindings).await?;
    super::deployment_models::insert(&mut tx, &deployment.id, &deployment.models).await?;
    append_event(&mut tx, &deployment.id, event).await?;
    tx.commit().await
}

async fn insert_bindings(
    tx: &mut Transaction<'_, Any>,
    id: &str,
    bindings: &BTreeMap<String, Vec<String>>,
) -> sqlx::Result<()> {
    for (role, devices) in bindings {
        for device in devices {
            sqlx::query(
                "INSERT INTO deployment_bindings (deployment_id, role, device_id) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(role)
            .bind(device)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Writes what a lifecycle action changed of `row` (version, parameters, schedule, node
/// labels, run state, watch, note), its new `bindings` and model versions (`models`) if it
/// changed them, and its `event`, in one transaction; `deleted_at` marks it deleted, and a
/// deleted deployment holds no model version (so the version can be deleted).
pub async fn update(
    db: &AnyPool,
    row: &DeploymentRow,
    bindings: Option<&BTreeMap<String, Vec<String>>>,
    models: Option<&BTreeMap<String, String>>,
    deleted_at: Option<i64>,
    event: &NewEvent,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE deployments SET app_version = $1, config = $2, config_set = $3, schedule = $4, \
         node_labels = $5, run_state = $6, watch_until = $7, note = $8, deleted_at = $9 WHERE id = $10",
    )
    .bind(&row.app_version)
    .bind(&row.config)
    .bind(&row.config_set)
    .bind(&row.schedule)
    .bind(&row.node_labels)
    .bind(&row.run_state)
    .bind(row.watch_until)
    .bind(&row.note)
    .bind(deleted_at)
    .bind(&row.id)
    .execute(&mut *tx)
    .await?;
    if let Some(bindings) = bindings {
        sqlx::query("DELETE FROM deployment_bindings WHERE deployment_id = $1")
            .bind(&row.id)
            .execute(&mut *tx)
            .await?;
        insert_bindings(&mut tx, &row.id, bindings).await?;
    }
    if models.is_some() || deleted_at.is_some() {
        super::deployment_models::replace(&mut tx, &row.id, models.unwrap_or(&BTreeMap::new()))
            .await?;
    }
    append_event(&mut tx, &row.id, event).await?;
    tx.commit().await
}

/// Removes, with their history, the deleted deployments that ran version `version` of app
/// `name`, on the transaction that deletes that version: they refer to it, and nothing else
/// would let it go.
pub async fn purge_deleted(
    connection: &mut AnyConnection,
    name: &str,
    version: &str,
) -> sqlx::Result<()> {
    const DELETED: &str = "SELECT id FROM deployments \
         WHERE app_name = $1 AND app_version = $2 AND deleted_at IS NOT NULL";
    for table in [
        "deployment_events",
        "deployment_bindings",
        "deployment_models",
        "instances",
    ] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE deployment_id IN ({DELETED})"
        ))
        .bind(name)
        .bind(version)
        .execute(&mut *connection)
        .await?;
    }
    sqlx::query(&format!("DELETE FROM deployments WHERE id IN ({DELETED})"))
        .bind(name)
        .bind(version)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Stops watching deployment `id` for a failing new version.
pub async fn end_watch(db: &AnyPool, id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE deployments SET watch_until = NULL WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// An event about to be added to a deployment's history.
pub struct NewEvent {
    pub at: i64,
    pub actor: String,
    /// An [`trellis_protocol::api::EventKind`]'s name.
    pub kind: &'static str,
    pub version: String,
    pub from_version: Option<String>,
    pub changes: Vec<FieldChange>,
    pub reason: String,
}

/// Adds `event` as the next entry of deployment `id`'s history.
async fn append_event(
    tx: &mut Transaction<'_, Any>,
    id: &str,
    event: &NewEvent,
) -> sqlx::Result<()> {
    let (next,): (i64,) = sqlx::query_as(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM deployment_events WHERE deployment_id = $1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO deployment_events (deployment_id, seq, at, actor, kind, version, from_version, changes, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(next)
    .bind(event.at)
    .bind(&event.actor)
    .bind(event.kind)
    .bind(&event.version)
    .bind(&event.from_version)
    .bind(to_json(&event.changes)?)
    .bind(&event.reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A stored history entry.
#[derive(sqlx::FromRow)]
pub struct EventRow {
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub version: String,
    pub from_version: Option<String>,
    pub changes: String,
    pub reason: String,
}

impl EventRow {
    /// The entry as the API shows it.
    pub fn into_api(self) -> ApiResult<DeploymentEvent> {
        Ok(DeploymentEvent {
            at: rfc3339(self.at),
            actor: self.actor,
            kind: self.kind.parse().map_err(ApiError::internal)?,
            version: self.version,
            from_version: self.from_version,
            changes: from_json(&self.changes)?,
            reason: self.reason,
        })
    }
}

/// Deployment `id`'s history, oldest first.
pub async fn history(db: &AnyPool, id: &str) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as(
        "SELECT at, actor, kind, version, from_version, changes, reason FROM deployment_events \
         WHERE deployment_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(db)
    .await
}
