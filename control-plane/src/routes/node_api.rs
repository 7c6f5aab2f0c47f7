//! What node daemons call, with their node token: heartbeats (metrics and instance states),
//! their assignments (long-polled), and artifacts by hash.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Deserialize;
use trellis_protocol::live::{LiveEvent, LoadPoint, MemoryUse};
use trellis_protocol::node::{
    Assignments, BoundDevice, HeartbeatAnswer, InstanceReport, NodeReport,
};
use utoipa::IntoParams;

use crate::auth::policy::NodeCaller;
use crate::db;
use crate::db::devices::DeviceKind;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{now_ms, rfc3339};
use crate::state::AppState;

use super::json_body::json_body;

/// How long an assignments request waits for a change before answering anyway.
const LONG_POLL: Duration = Duration::from_secs(20);

/// Report the node's metrics and the state of its instances.
#[utoipa::path(post, path = "/node/heartbeat", tag = "nodes", security(("token" = [])),
    request_body = NodeReport,
    responses((status = 200, body = HeartbeatAnswer),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 422, description = "Not a heartbeat, or a metric out of range (named in `field`)",
            body = ErrorBody)))]
pub async fn heartbeat(
    State(state): State<AppState>,
    Extension(node): Extension<NodeCaller>,
    body: Result<Json<NodeReport>, JsonRejection>,
) -> ApiResult<Json<HeartbeatAnswer>> {
    let report = json_body(body, "a heartbeat")?;
    crate::node_reports::check(&report.metrics)?;
    let now = now_ms();
    let text = serde_json::to_string(&report).map_err(ApiError::internal)?;
    if db::nodes::record_heartbeat(&state.db, &node.id, now, &text).await? {
        tracing::info!("node {} is up", node.name);
        let event = crate::logs::Event {
            kind: "node-up",
            level: trellis_protocol::logs::LogLevel::Info,
            node: Some(&node.name),
            deployment: None,
            app: None,
            text: format!("node {} is up", node.name),
        };
        state.logs.event(event).await;
    }
    // Only what is still assigned to this node (a late word from a node that lost an instance
    // must not overwrite its new node's), and only what changed.
    let stored: BTreeMap<String, db::instances::InstanceRow> =
        db::instances::on_node(&state.db, &node.id)
            .await?
            .into_iter()
            .map(|row| (row.deployment_id.clone(), row))
            .collect();
    // A report of a version the deployment no longer runs (the node has not replaced the
    // instance yet) says nothing of the new one, whose failures may roll it back.
    let changed: Vec<&InstanceReport> = report
        .instances
        .iter()
        .filter(|i| {
            stored.get(&i.deployment).is_some_and(|row| {
                let stale = report
                    .versions
                    .get(&i.deployment)
                    .is_some_and(|runs| Some(runs) != row.version.as_ref());
                !stale
                    && (row.state.as_str(), &row.detail, row.restarts)
                        != (i.state.as_str(), &i.detail, i64::from(i.restarts))
            })
        })
        .collect();
    if !changed.is_empty() {
        db::instances::record_reports(&state.db, &node.id, &changed, now).await?;
    }
    for report_of in &changed {
        crate::live::deployment_changed(&state, &report_of.deployment).await;
    }
    tell_load(&state, &node, &report, now).await?;
    for report_of in &changed {
        let before = &stored[&report_of.deployment];
        let told = crate::notify::platform::instance_change(
            &node.name,
            before.version.as_deref(),
            (before.state.as_str(), before.restarts),
            report_of,
            state.notifier.base_url(),
        );
        if let Some(notification) = told {
            state.notifier.raise(notification);
        }
    }
    Ok(Json(HeartbeatAnswer {
        heartbeat_ms: state.settings.heartbeat_interval.as_millis() as u64,
        bus: state.settings.bus.clone(),
        lease_ms: state.settings.lease().as_millis() as u64,
    }))
}

/// Keeps the heartbeat's load in the node's recent history and tells the live streams of it.
async fn tell_load(
    state: &AppState,
    node: &NodeCaller,
    report: &NodeReport,
    now: i64,
) -> ApiResult<()> {
    let metrics = &report.metrics;
    let point = LoadPoint {
        at: rfc3339(now),
        cpu: metrics.cpu_percent,
        memory: MemoryUse {
            used_mb: metrics.memory_used_mb,
            total_mb: metrics.memory_total_mb,
        },
        temperature: metrics.temperature_c,
        instances: report.instances.len(),
    };
    state.live.loads.record(&node.id, now, point.clone());
    if !state.live.has_listeners() {
        return Ok(());
    }
    // The state as the node list shows it (`up`, `draining`, ...).
    let shown = match db::nodes::find(&state.db, &node.id).await? {
        Some(row) => row.into_api()?.state,
        None => return Ok(()),
    };
    state.live.publish(LiveEvent::Node {
        node: node.id.clone(),
        name: node.name.clone(),
        cpu: point.cpu,
        memory: point.memory,
        temperature: point.temperature,
        instances: point.instances,
        state: shown,
        at: point.at,
    });
    Ok(())
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
    let rows = db::instances::assigned_to(&state.db, &node.id).await?;
    let mut instances = Vec::with_capacity(rows.len());
    for row in rows {
        let (sensors, controllers) = bound_devices(&state, &row.id).await?;
        let models = db::deployment_models::assigned(&state.db, &row.id)
            .await?
            .into_iter()
            .map(|model| model.into_node())
            .collect();
        instances.push(row.into_node(sensors, controllers, models)?);
    }
    Ok(Json(Assignments {
        generation,
        instances,
    }))
}

/// The sensors and the controllers bound to a deployment's roles.
async fn bound_devices(
    state: &AppState,
    deployment: &str,
) -> ApiResult<(Vec<BoundDevice>, Vec<BoundDevice>)> {
    let rows = db::deployments::bound_devices(&state.db, deployment).await?;
    let (mut sensors, mut controllers) = (Vec::new(), Vec::new());
    for row in rows {
        if row.kind == DeviceKind::Sensor.as_str() {
            sensors.push(row.into_node());
        } else {
            controllers.push(row.into_node());
        }
    }
    Ok((sensors, controllers))
}

/// An artifact by its SHA-256, for the node's cache: only one the node needs for what it is
/// assigned (its apps' components, their models' files and contracts), so a node's token does
/// not open every upload.
#[utoipa::path(get, path = "/node/artifacts/{sha256}", tag = "nodes", security(("token" = [])),
    params(("sha256" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not an artifact of the node's assignments", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn artifact(
    State(state): State<AppState>,
    Extension(node): Extension<NodeCaller>,
    Path(sha256): Path<String>,
) -> ApiResult<impl IntoResponse> {
    // Whether an unassigned artifact exists is not told either: both answer 403.
    if !db::instances::needs_artifact(&state.db, &node.id, &sha256).await? {
        return Err(ApiError::forbidden(format!(
            "artifact `{sha256}` is not part of what node `{}` is assigned",
            node.name
        )));
    }
    super::artifacts::serve(&state, &sha256)
}
