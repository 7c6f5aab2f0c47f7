//! What node daemons call, with their node token: heartbeats (metrics and instance states),
//! their assignments (long-polled), and artifacts by hash.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Deserialize;
use trellis_protocol::node::{
    AssignedModel, Assignment, Assignments, BoundDevice, HeartbeatAnswer, InstanceReport,
    NodeReport,
};
use utoipa::IntoParams;

use crate::auth::policy::NodeCaller;
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::now_ms;
use crate::state::AppState;

/// How long an assignments request waits for a change before answering anyway.
const LONG_POLL: Duration = Duration::from_secs(20);

/// Report the node's metrics and the state of its instances.
#[utoipa::path(post, path = "/node/heartbeat", tag = "nodes", security(("token" = [])),
    request_body = NodeReport,
    responses((status = 200, body = HeartbeatAnswer), (status = 401, body = ErrorBody)))]
pub async fn heartbeat(
    State(state): State<AppState>,
    Extension(node): Extension<NodeCaller>,
    Json(report): Json<NodeReport>,
) -> ApiResult<Json<HeartbeatAnswer>> {
    let now = now_ms();
    let text = serde_json::to_string(&report).map_err(ApiError::internal)?;
    sqlx::query("UPDATE nodes SET last_seen = $1, report = $2, state = 'up' WHERE id = $3")
        .bind(now)
        .bind(text)
        .bind(&node.id)
        .execute(&state.db)
        .await?;
    // Only what is still assigned to this node (a late word from a node that lost an instance
    // must not overwrite its new node's), and only what changed, in one transaction.
    let stored: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT deployment_id, state, detail, restarts FROM instances WHERE node_id = $1",
    )
    .bind(&node.id)
    .fetch_all(&state.db)
    .await?;
    let stored: BTreeMap<String, (String, String, i64)> = stored
        .into_iter()
        .map(|(id, state, detail, restarts)| (id, (state, detail, restarts)))
        .collect();
    let changed: Vec<&InstanceReport> = report
        .instances
        .iter()
        .filter(|i| {
            stored
                .get(&i.deployment)
                .is_some_and(|(state, detail, restarts)| {
                    (state.as_str(), detail, *restarts)
                        != (i.state.as_str(), &i.detail, i64::from(i.restarts))
                })
        })
        .collect();
    if !changed.is_empty() {
        let mut tx = state.db.begin().await?;
        for instance in changed {
            sqlx::query(
                "UPDATE instances SET state = $1, detail = $2, restarts = $3, updated_at = $4 \
                 WHERE deployment_id = $5 AND node_id = $6",
            )
            .bind(instance.state.as_str())
            .bind(&instance.detail)
            .bind(i64::from(instance.restarts))
            .bind(now)
            .bind(&instance.deployment)
            .bind(&node.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
    Ok(Json(HeartbeatAnswer {
        heartbeat_ms: state.settings.heartbeat_interval.as_millis() as u64,
        bus: state.settings.bus.clone(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Since {
    /// The generation the node already has; the answer waits (up to 20 s) for a newer one.
    #[serde(default)]
    pub after: Option<u64>,
}

/// The node's assignments; with `after`, waits until they may have changed.
#[utoipa::path(get, path = "/node/assignments", tag = "nodes", security(("token" = [])),
    params(Since),
    responses((status = 200, body = Assignments), (status = 401, body = ErrorBody)))]
pub async fn assignments(
    State(state): State<AppState>,
    Extension(node): Extension<NodeCaller>,
    Query(since): Query<Since>,
) -> ApiResult<Json<Assignments>> {
    let mut changes = state.assignments.subscribe();
    if since.after == Some(*changes.borrow_and_update()) {
        let _ = tokio::time::timeout(LONG_POLL, changes.changed()).await;
    }
    let generation = *changes.borrow();
    let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT d.id, d.app_name, d.app_version, a.component_sha256, a.manifest, d.config \
         FROM instances i JOIN deployments d ON d.id = i.deployment_id \
         JOIN apps a ON a.name = d.app_name AND a.version = d.app_version \
         WHERE i.node_id = $1 ORDER BY d.id",
    )
    .bind(&node.id)
    .fetch_all(&state.db)
    .await?;
    let mut instances = Vec::with_capacity(rows.len());
    for (deployment, app, version, component_sha256, manifest, config) in rows {
        let (sensors, controllers) = bound_devices(&state, &deployment).await?;
        let models = models_of(&state, &manifest).await?;
        instances.push(Assignment {
            deployment,
            app,
            version,
            component_sha256,
            manifest,
            config: serde_json::from_str(&config).map_err(ApiError::internal)?,
            sensors,
            controllers,
            models,
        });
    }
    Ok(Json(Assignments {
        generation,
        instances,
    }))
}

/// The newest version of each model an app's manifest names.
async fn models_of(state: &AppState, manifest: &str) -> ApiResult<Vec<AssignedModel>> {
    let manifest =
        trellis_host::manifest::AppManifest::parse(manifest).map_err(ApiError::internal)?;
    let mut models = Vec::new();
    for name in &manifest.models {
        if let Some(row) = db::models::latest(&state.db, name).await? {
            models.push(row.into_node());
        }
    }
    Ok(models)
}

/// The sensors and the controllers bound to a deployment's roles.
async fn bound_devices(
    state: &AppState,
    deployment: &str,
) -> ApiResult<(Vec<BoundDevice>, Vec<BoundDevice>)> {
    type Row = (String, String, String, String, String, String, String);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT b.role, d.id, d.kind, d.site, d.building, d.room, d.labels \
         FROM deployment_bindings b JOIN devices d ON d.id = b.device_id \
         WHERE b.deployment_id = $1 ORDER BY b.role, d.id",
    )
    .bind(deployment)
    .fetch_all(&state.db)
    .await?;
    let (mut sensors, mut controllers) = (Vec::new(), Vec::new());
    for (role, id, kind, site, building, room, labels) in rows {
        let labels: BTreeMap<String, String> = serde_json::from_str(&labels).unwrap_or_default();
        let bound = BoundDevice {
            role,
            id,
            location: format!("{site}/{building}/{room}"),
            labels: labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        };
        if kind == "sensor" {
            sensors.push(bound);
        } else {
            controllers.push(bound);
        }
    }
    Ok((sensors, controllers))
}

/// An artifact by its SHA-256, for the node's cache.
#[utoipa::path(get, path = "/node/artifacts/{sha256}", tag = "nodes", security(("token" = [])),
    params(("sha256" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, body = ErrorBody)))]
pub async fn artifact(
    State(state): State<AppState>,
    Path(sha256): Path<String>,
) -> ApiResult<impl IntoResponse> {
    super::artifacts::serve(&state, &sha256)
}
