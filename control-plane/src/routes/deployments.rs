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
use crate::db::devices::DeviceKind;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{new_id, now_ms, rfc3339};
use crate::schedule::ScheduleRules;
use crate::state::AppState;

/// Create a deployment.
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
        state: InstanceState::Pending,
        node: None,
        detail: String::new(),
        restarts: 0,
        created_at: String::new(),
    };
    let created_at = now_ms();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO deployments (id, app_name, app_version, owner, config, schedule, state, created_at, node_labels) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&deployment.id)
    .bind(&deployment.app)
    .bind(&deployment.version)
    .bind(&deployment.owner)
    .bind(serde_json::to_string(&deployment.config).map_err(ApiError::internal)?)
    .bind(serde_json::to_string(&deployment.schedule).map_err(ApiError::internal)?)
    .bind(deployment.state.as_str())
    .bind(created_at)
    .bind(serde_json::to_string(&deployment.node_labels).map_err(ApiError::internal)?)
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
    tx.commit().await?;
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

type DeploymentRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
);

async fn load(state: &AppState, row: DeploymentRow) -> ApiResult<Deployment> {
    let (id, app, version, owner, config, schedule, status, created_at, node_labels) = row;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT role, device_id FROM deployment_bindings WHERE deployment_id = $1 ORDER BY role, device_id",
    )
    .bind(&id)
    .fetch_all(&state.db)
    .await?;
    let mut bindings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (role, device) in rows {
        bindings.entry(role).or_default().push(device);
    }
    let instance: Option<(String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT i.state, i.detail, i.restarts, n.name FROM instances i \
         LEFT JOIN nodes n ON n.id = i.node_id WHERE i.deployment_id = $1",
    )
    .bind(&id)
    .fetch_optional(&state.db)
    .await?;
    let (status, detail, restarts, node) = instance.unwrap_or((status, String::new(), 0, None));
    Ok(Deployment {
        id,
        app,
        version,
        owner,
        bindings,
        config: serde_json::from_str(&config).map_err(ApiError::internal)?,
        schedule: serde_json::from_str(&schedule).map_err(ApiError::internal)?,
        node_labels: node_labels
            .and_then(|labels| serde_json::from_str(&labels).ok())
            .unwrap_or_default(),
        state: status.parse().map_err(ApiError::internal)?,
        node,
        detail,
        restarts,
        created_at: rfc3339(created_at),
    })
}

const COLUMNS: &str =
    "id, app_name, app_version, owner, config, schedule, state, created_at, node_labels";

/// Deployments: an end user sees their own, everyone else sees all.
#[utoipa::path(get, path = "/deployments", tag = "deployments", security(("token" = [])),
    responses((status = 200, body = Vec<Deployment>)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<Deployment>>> {
    let owner = (caller.role == Role::EndUser).then_some(caller.name);
    let rows: Vec<DeploymentRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM deployments WHERE ($1 IS NULL OR owner = $1) ORDER BY created_at"
    ))
    .bind(owner)
    .fetch_all(&state.db)
    .await?;
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
    let row: Option<DeploymentRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM deployments WHERE id = $1"))
            .bind(&id)
            .fetch_optional(&state.db)
            .await?;
    let missing = || ApiError::not_found(format!("no deployment `{id}`"));
    let row = row.ok_or_else(missing)?;
    if caller.role == Role::EndUser && row.3 != caller.name {
        return Err(missing());
    }
    load(&state, row).await.map(Json)
}
