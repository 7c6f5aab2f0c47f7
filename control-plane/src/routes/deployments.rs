//! Deployments: an end user's app version bound to sensor and controller instances, with
//! parameter values and a schedule. Every binding is checked (role known, right count, right
//! type, an instance the user may use) before anything is written. What happens to a deployment
//! after it is made is in `deployment_lifecycle`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use trellis_protocol::api::{Deployment, EventKind, NewDeployment, RunState};
use trellis_protocol::node::InstanceState;

use super::json_body::JsonBody;
use crate::auth::{Caller, Role};
use crate::db;
use crate::db::deployments::{DeploymentRow, NewEvent};
use crate::deployment_checks::{check_bindings, check_schedule, checked_config};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{new_id, now_ms, rfc3339};
use crate::state::AppState;

/// Create a deployment. Each model its app calls is resolved to the newest version meeting the
/// manifest's requirement, and the deployment runs exactly that version from then on.
#[utoipa::path(post, path = "/deployments", tag = "deployments", security(("token" = [])),
    request_body = NewDeployment,
    responses((status = 201, body = Deployment), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(new): JsonBody<NewDeployment>,
) -> ApiResult<(StatusCode, Json<Deployment>)> {
    let app = db::apps::find(&state.db, &new.app, new.version.as_deref())
        .await?
        .ok_or_else(|| match &new.version {
            Some(version) => {
                ApiError::bad_request(format!("app: `{}` has no version {version}", new.app))
                    .on("version")
            }
            None => ApiError::bad_request(format!("app: no app `{}`", new.app)).on("app"),
        })?;
    let manifest = app.parse_manifest()?;
    check_bindings(&state, &caller, &manifest, &new.bindings).await?;
    let config = checked_config(&manifest, &new.config)?;
    check_schedule(&new.schedule)?;
    let models = crate::model_versions::resolve(&state.db, &manifest).await?;

    let deployment = Deployment {
        id: new_id("dep"),
        app: app.name,
        version: app.version,
        owner: caller.name,
        bindings: new.bindings,
        config,
        schedule: new.schedule,
        node_labels: new.node_labels,
        run_state: RunState::Running,
        models,
        state: InstanceState::Pending,
        node: None,
        detail: String::new(),
        restarts: 0,
        created_at: String::new(),
    };
    let created_at = now_ms();
    let event = NewEvent {
        at: created_at,
        actor: deployment.owner.clone(),
        kind: EventKind::Created.as_str(),
        version: deployment.version.clone(),
        from_version: None,
        changes: Vec::new(),
        reason: String::new(),
    };
    db::deployments::insert(&state.db, &deployment, &new.config, created_at, &event).await?;
    state
        .logs
        .event(crate::logs::Event {
            kind: "deployed",
            level: trellis_protocol::logs::LogLevel::Info,
            node: None,
            deployment: Some(&deployment.id),
            app: None,
            text: format!(
                "{} {} deployed by {}",
                deployment.app, deployment.version, deployment.owner
            ),
        })
        .await;
    Ok((
        StatusCode::CREATED,
        Json(Deployment {
            created_at: rfc3339(created_at),
            ..deployment
        }),
    ))
}

/// The deployment with its bindings and its instance's status.
pub(super) async fn load(state: &AppState, row: DeploymentRow) -> ApiResult<Deployment> {
    let bindings = db::deployments::bindings(&state.db, &row.id).await?;
    let models = db::deployment_models::of(&state.db, &row.id).await?;
    let instance = db::instances::status_of(&state.db, &row.id).await?;
    row.into_api(bindings, models, instance)
}

/// Deployments: an end user sees their own, everyone else sees all.
#[utoipa::path(get, path = "/deployments", tag = "deployments", security(("token" = [])),
    responses((status = 200, body = Vec<Deployment>)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<Deployment>>> {
    let owner = (caller.role == Role::EndUser).then_some(caller.name);
    let rows = db::deployments::list(&state.db, owner.as_deref()).await?;
    let mut deployments = Vec::with_capacity(rows.len());
    for row in rows {
        deployments.push(load(&state, row).await?);
    }
    Ok(Json(deployments))
}

/// One deployment.
#[utoipa::path(get, path = "/deployments/{id}", tag = "deployments", security(("token" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Deployment), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Deployment>> {
    let row = visible(&state, &caller, &id).await?;
    load(&state, row).await.map(Json)
}

/// Deployment `id` if `caller` may see it: an end user sees only their own (another's is as
/// missing as one that never was, so ids reveal nothing), everyone else all. A deleted one is
/// missing.
pub(super) async fn visible(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<DeploymentRow> {
    let row = db::deployments::find(&state.db, id).await?;
    only_theirs(caller, id, row)
}

/// `row` (deployment `id`) if `caller` may see it; 404 otherwise.
pub(super) fn only_theirs(
    caller: &Caller,
    id: &str,
    row: Option<DeploymentRow>,
) -> ApiResult<DeploymentRow> {
    match row {
        Some(row) if caller.role != Role::EndUser || row.owner == caller.name => Ok(row),
        _ => Err(ApiError::not_found(format!("no deployment `{id}`"))),
    }
}
