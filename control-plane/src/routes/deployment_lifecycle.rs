//! What an owner (or an admin) does with a deployment after making it: stop and start it, change
//! its settings, upgrade and roll back its app version, delete it, and read its history. An end
//! user reaches only their own deployments; another's answers 404, as `GET` does. Each action
//! that changes something is written with its history entry in one transaction, and its node
//! learns of it at once.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::json;
use trellis_protocol::api::{
    Deployment, DeploymentChanges, DeploymentEvent, EventKind, FieldChange, Rollback, RunState,
    Schedule, Upgrade,
};

use super::deployments::{load, only_theirs, visible};
use super::json_body::JsonBody;
use crate::auth::Caller;
use crate::db;
use crate::db::deployments::{DeploymentRow, NewEvent};
use crate::deployment_checks::{check_bindings, check_schedule, checked_config, config_set_of};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::now_ms;
use crate::lifecycle::{self, VersionChange};
use crate::state::AppState;

/// What a stopped deployment's instance says, from the moment it is stopped.
pub const STOPPED: &str = "stopped; start it to run it again";

/// A history entry of `kind` by `caller` at version `version`.
fn event(caller: &Caller, kind: EventKind, version: &str) -> NewEvent {
    NewEvent {
        at: now_ms(),
        actor: caller.name.clone(),
        kind: kind.as_str(),
        version: version.into(),
        from_version: None,
        changes: Vec::new(),
        reason: String::new(),
    }
}

/// Stop a deployment: it keeps its settings but gets no instance until started again; its node
/// stops the instance.
#[utoipa::path(post, path = "/deployments/{id}/stop", tag = "deployments", security(("token" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Deployment), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn stop(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Deployment>> {
    let mut row = visible(&state, &caller, &id).await?;
    if row.run_state != RunState::Stopped.as_str() {
        row.run_state = RunState::Stopped.as_str().into();
        row.watch_until = None;
        row.note = String::new();
        let event = event(&caller, EventKind::Stopped, &row.app_version);
        db::deployments::update(&state.db, &row, None, None, None, &event).await?;
        db::instances::reassign(&state.db, &id, None, "stopped", STOPPED, now_ms()).await?;
        lifecycle::assignments_changed(&state);
        crate::live::deployment_changed(&state, &id).await;
    }
    load(&state, row).await.map(Json)
}

/// Start a stopped deployment: the reconciler places it again (within its schedule).
#[utoipa::path(post, path = "/deployments/{id}/start", tag = "deployments", security(("token" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Deployment), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Deployment>> {
    let mut row = visible(&state, &caller, &id).await?;
    if row.run_state != RunState::Running.as_str() {
        row.run_state = RunState::Running.as_str().into();
        let event = event(&caller, EventKind::Started, &row.app_version);
        db::deployments::update(&state.db, &row, None, None, None, &event).await?;
        let waiting = "started; waiting for the reconciler to place it";
        db::instances::reassign(&state.db, &id, None, "pending", waiting, now_ms()).await?;
        lifecycle::assignments_changed(&state);
        crate::live::deployment_changed(&state, &id).await;
    }
    load(&state, row).await.map(Json)
}

/// Delete (undeploy) a deployment: its instance is unassigned at once and its node stops it.
/// Its history stays readable.
#[utoipa::path(delete, path = "/deployments/{id}", tag = "deployments", security(("token" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<axum::http::StatusCode> {
    let mut row = visible(&state, &caller, &id).await?;
    row.watch_until = None;
    let event = event(&caller, EventKind::Deleted, &row.app_version);
    db::deployments::update(&state.db, &row, None, None, Some(event.at), &event).await?;
    db::instances::remove(&state.db, &id).await?;
    lifecycle::assignments_changed(&state);
    crate::live::deployment_changed(&state, &id).await;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Change a deployment's parameters, schedule, bindings or node labels. Each given field is
/// checked as at creation; if any fails, the answer names it and nothing changes. Its node
/// restarts the instance with the new settings.
#[utoipa::path(patch, path = "/deployments/{id}", tag = "deployments", security(("token" = [])),
    params(("id" = String, Path)), request_body = DeploymentChanges,
    responses((status = 200, body = Deployment), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(wanted): JsonBody<DeploymentChanges>,
) -> ApiResult<Json<Deployment>> {
    let mut row = visible(&state, &caller, &id).await?;
    let app = db::apps::find(&state.db, &row.app_name, Some(&row.app_version))
        .await?
        .ok_or_else(|| {
            ApiError::conflict(format!(
                "version {} of `{}` is gone; upgrade the deployment first",
                row.app_version, row.app_name
            ))
        })?;
    let manifest = app.parse_manifest()?;
    let mut changes = Vec::new();
    let change = |field: String, from: serde_json::Value, to: serde_json::Value| FieldChange {
        field,
        from,
        to,
    };

    let old_config: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&row.config).map_err(ApiError::internal)?;
    if let Some(given) = &wanted.config {
        let mut set = config_set_of(row.config_set.as_deref(), &old_config, &manifest)?;
        set.extend(given.clone());
        let config = checked_config(&manifest, &set)?;
        for (name, value) in &config {
            let before = old_config.get(name).cloned().unwrap_or_default();
            if &before != value {
                changes.push(change(format!("config.{name}"), before, value.clone()));
            }
        }
        row.config = serde_json::to_string(&config).map_err(ApiError::internal)?;
        row.config_set = Some(serde_json::to_string(&set).map_err(ApiError::internal)?);
    }

    let old_bindings = db::deployments::bindings(&state.db, &id).await?;
    let mut bindings = None;
    if let Some(given) = &wanted.bindings {
        let mut merged = old_bindings.clone();
        for (role, devices) in given {
            let mut devices = devices.clone();
            devices.sort();
            devices.dedup();
            if devices.is_empty() {
                merged.remove(role);
            } else {
                merged.insert(role.clone(), devices);
            }
        }
        check_bindings(&state, &caller, &manifest, &merged).await?;
        let roles: std::collections::BTreeSet<&String> =
            old_bindings.keys().chain(merged.keys()).collect();
        for role in roles {
            let (before, after) = (old_bindings.get(role), merged.get(role));
            if before != after {
                changes.push(change(
                    format!("bindings.{role}"),
                    json!(before),
                    json!(after),
                ));
            }
        }
        if merged != old_bindings {
            bindings = Some(merged);
        }
    }

    if let Some(schedule) = &wanted.schedule {
        check_schedule(schedule)?;
        let before: Schedule = serde_json::from_str(&row.schedule).map_err(ApiError::internal)?;
        if &before != schedule {
            changes.push(change("schedule".into(), json!(before), json!(schedule)));
            row.schedule = serde_json::to_string(schedule).map_err(ApiError::internal)?;
        }
    }

    let mut labels_changed = false;
    if let Some(labels) = &wanted.node_labels {
        let before: BTreeMap<String, String> = row
            .node_labels
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default();
        if &before != labels {
            changes.push(change("node_labels".into(), json!(before), json!(labels)));
            row.node_labels = Some(serde_json::to_string(labels).map_err(ApiError::internal)?);
            labels_changed = true;
        }
    }

    if !changes.is_empty() {
        let mut event = event(&caller, EventKind::Changed, &row.app_version);
        event.changes = changes;
        row.note = String::new();
        db::deployments::update(&state.db, &row, bindings.as_ref(), None, None, &event).await?;
        if labels_changed {
            // Its node may lack the new labels: the reconciler places it again.
            let detail = "node labels changed; placing it again";
            let now = now_ms();
            db::instances::reassign(&state.db, &id, None, "pending", detail, now).await?;
            crate::live::deployment_changed(&state, &id).await;
        }
        lifecycle::assignments_changed(&state);
    }
    load(&state, row).await.map(Json)
}

/// Upgrade a deployment to another version of its app. The bindings must fit the new version's
/// roles (else 400 naming the role). If the new version fails within the grace period, the
/// control plane rolls it back by itself.
#[utoipa::path(post, path = "/deployments/{id}/upgrade", tag = "deployments", security(("token" = [])),
    params(("id" = String, Path)), request_body = Upgrade,
    responses((status = 200, body = Deployment), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn upgrade(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(wanted): JsonBody<Upgrade>,
) -> ApiResult<Json<Deployment>> {
    let row = visible(&state, &caller, &id).await?;
    if wanted.version == row.app_version {
        return Err(ApiError::conflict(format!(
            "version: {id} already runs version {} of `{}`",
            row.app_version, row.app_name
        )));
    }
    let to = db::apps::find(&state.db, &row.app_name, Some(&wanted.version))
        .await?
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "version: `{}` has no version {}",
                row.app_name, wanted.version
            ))
        })?;
    let grace = i64::try_from(state.settings.upgrade_grace.as_millis()).unwrap_or(i64::MAX);
    let change = VersionChange {
        kind: EventKind::Upgraded,
        actor: caller.name.clone(),
        reason: String::new(),
        watch_until: Some(now_ms().saturating_add(grace)),
        note: String::new(),
    };
    let row = lifecycle::change_version(&state, &caller, row, &to, change).await?;
    load(&state, row).await.map(Json)
}

/// Roll a deployment back to the version it ran before its current one (409 if its history has
/// none).
#[utoipa::path(post, path = "/deployments/{id}/rollback", tag = "deployments", security(("token" = [])),
    params(("id" = String, Path)), request_body = Rollback,
    responses((status = 200, body = Deployment), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn rollback(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(wanted): JsonBody<Rollback>,
) -> ApiResult<Json<Deployment>> {
    let row = visible(&state, &caller, &id).await?;
    let history = db::deployments::history(&state.db, &id).await?;
    let previous = lifecycle::previous_version(&history).ok_or_else(|| {
        ApiError::conflict(format!(
            "{id} has no earlier version in its history to roll back to"
        ))
    })?;
    let to = db::apps::find(&state.db, &row.app_name, Some(&previous))
        .await?
        .ok_or_else(|| {
            ApiError::conflict(format!(
                "version {previous} of `{}`, the one before, is gone",
                row.app_name
            ))
        })?;
    let change = VersionChange {
        kind: EventKind::RolledBack,
        actor: caller.name.clone(),
        reason: wanted.reason.unwrap_or_default(),
        watch_until: None,
        note: String::new(),
    };
    let row = lifecycle::change_version(&state, &caller, row, &to, change).await?;
    load(&state, row).await.map(Json)
}

/// A deployment's history, oldest first: who did what when (created, stopped, started, changed
/// and how, upgraded and rolled back from what to what and why, deleted). A deleted deployment's
/// history stays readable.
#[utoipa::path(get, path = "/deployments/{id}/history", tag = "deployments", security(("token" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<DeploymentEvent>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<DeploymentEvent>>> {
    let row: DeploymentRow = only_theirs(
        &caller,
        &id,
        db::deployments::find_with_deleted(&state.db, &id).await?,
    )?;
    let events = db::deployments::history(&state.db, &row.id).await?;
    events
        .into_iter()
        .map(|e| e.into_api())
        .collect::<ApiResult<Vec<_>>>()
        .map(Json)
}
