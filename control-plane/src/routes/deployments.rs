//! Deployments: an end user's app version bound to sensor and controller instances, with
//! parameter values and a schedule. Every binding is checked (role known, right count, right
//! type, an instance the user may use) before anything is written.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use trellis_host::manifest::AppManifest;
use trellis_protocol::Value;
use trellis_protocol::api::{Deployment, NewDeployment};
use trellis_protocol::node::InstanceState;

use crate::auth::{Caller, Role};
use crate::db;
use crate::db::deployments::DeploymentRow;
use crate::db::devices::DeviceKind;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{new_id, now_ms, rfc3339};
use crate::schedule::ScheduleRules;
use crate::state::AppState;

/// Create a deployment. Each model its app calls is resolved to the newest version meeting the
/// manifest's requirement, and the deployment runs exactly that version from then on.
#[utoipa::path(post, path = "/deployments", tag = "deployments", security(("token" = [])),
    request_body = NewDeployment,
    responses((status = 201, body = Deployment), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(new): Json<NewDeployment>,
) -> ApiResult<(StatusCode, Json<Deployment>)> {
    let app = db::apps::find(&state.db, &new.app, new.version.as_deref())
        .await?
        .ok_or_else(|| match &new.version {
            Some(version) => {
                ApiError::bad_request(format!("app: `{}` has no version {version}", new.app))
            }
            None => ApiError::bad_request(format!("app: no app `{}`", new.app)),
        })?;
    let manifest = app.parse_manifest()?;
    check_bindings(&state, &caller, &manifest, &new.bindings).await?;
    let models = crate::model_versions::resolve(&state.db, &manifest).await?;
    let overrides: Vec<(String, String)> = new.config.clone().into_iter().collect();
    let params = manifest
        .config_values(&overrides)
        .map_err(|e| ApiError::bad_request(format!("config: {e}")))?;
    new.schedule.check().map_err(ApiError::bad_request)?;
    let config: serde_json::Map<_, _> = params
        .into_iter()
        .map(|param| (param.name, Value::from(param.value).to_json()))
        .collect();

    let deployment = Deployment {
        id: new_id("dep"),
        app: app.name,
        version: app.version,
        owner: caller.name,
        bindings: new.bindings,
        config,
        schedule: new.schedule,
        node_labels: new.node_labels,
        models,
        state: InstanceState::Pending,
        node: None,
        detail: String::new(),
        restarts: 0,
        created_at: String::new(),
    };
    let created_at = now_ms();
    db::deployments::insert(&state.db, &deployment, created_at).await?;
    Ok((
        StatusCode::CREATED,
        Json(Deployment {
            created_at: rfc3339(created_at),
            ..deployment
        }),
    ))
}

/// Each binding names a role of the app, each role gets between `min` and `max` instances,
/// each instance exists, has the role's type and may be used by the caller.
async fn check_bindings(
    state: &AppState,
    caller: &Caller,
    manifest: &AppManifest,
    bindings: &BTreeMap<String, Vec<String>>,
) -> ApiResult<()> {
    for role in bindings.keys() {
        if !manifest.sensors.contains_key(role) && !manifest.controllers.contains_key(role) {
            let roles: Vec<_> = manifest
                .sensors
                .keys()
                .chain(manifest.controllers.keys())
                .map(String::as_str)
                .collect();
            return Err(ApiError::bad_request(format!(
                "bindings: `{role}` is not a role of {}; its roles are {}",
                manifest.name,
                roles.join(", ")
            )));
        }
    }
    let roles = manifest
        .sensors
        .iter()
        .map(|(name, role)| (DeviceKind::Sensor, name, role))
        .chain(
            manifest
                .controllers
                .iter()
                .map(|(name, role)| (DeviceKind::Controller, name, role)),
        );
    for (kind, name, role) in roles {
        let ids = bindings.get(name).map(Vec::as_slice).unwrap_or_default();
        let count = ids.len() as u32;
        if count < role.min || count > role.max {
            let wanted = if role.min == role.max {
                role.min.to_string()
            } else {
                format!("{} to {}", role.min, role.max)
            };
            return Err(ApiError::bad_request(format!(
                "bindings: role `{name}` takes {wanted} {} instance(s) of type `{}`; {count} given",
                kind.as_str(),
                role.kind
            )));
        }
        for id in ids {
            let device = db::devices::find(&state.db, kind, id)
                .await?
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "bindings: role `{name}`: there is no {} `{id}`",
                        kind.as_str()
                    ))
                })?
                .into_api()?;
            if device.type_name != role.kind {
                return Err(ApiError::bad_request(format!(
                    "bindings: role `{name}` needs a `{}` {}; `{}` ({id}) is a `{}`",
                    role.kind,
                    kind.as_str(),
                    device.name,
                    device.type_name
                )));
            }
            let allowed = device.users.is_empty()
                || caller.role == Role::Admin
                || device.users.contains(&caller.name);
            if !allowed {
                return Err(ApiError::forbidden(format!(
                    "bindings: role `{name}`: {} `{}` ({id}) is reserved for other users; ask a platform configurer to add you",
                    kind.as_str(),
                    device.name
                )));
            }
        }
    }
    Ok(())
}

/// The deployment with its bindings and its instance's status.
async fn load(state: &AppState, row: DeploymentRow) -> ApiResult<Deployment> {
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
    let missing = || ApiError::not_found(format!("no deployment `{id}`"));
    let row = db::deployments::find(&state.db, &id)
        .await?
        .ok_or_else(missing)?;
    if caller.role == Role::EndUser && row.owner != caller.name {
        return Err(missing());
    }
    load(&state, row).await.map(Json)
}
