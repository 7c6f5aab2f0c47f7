//! Apps: a component of the `app` world plus its manifest (`trellis.toml`), checked against the
//! WIT world and against the registry (every role type and model must exist) before anything is
//! stored.

use std::collections::BTreeMap;

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use trellis_host::manifest::AppManifest;
use trellis_protocol::api::{AppVersion, RoleInfo};
use utoipa::ToSchema;

use super::names::check_name;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{now_ms, rfc3339};
use crate::state::AppState;
use crate::upload::Parts;

pub const MANIFEST_FILE: &str = "trellis.toml";
pub const COMPONENT_FILE: &str = "app.wasm";

/// The multipart form of an app upload.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct AppUpload {
    #[serde(rename = "trellis.toml")]
    #[schema(value_type = String, format = Binary)]
    manifest: Vec<u8>,
    #[serde(rename = "app.wasm")]
    #[schema(value_type = String, format = Binary)]
    component: Vec<u8>,
}

type AppRow = (String, String, String, String, String, String, i64);

const COLUMNS: &str =
    "name, version, description, manifest, component_sha256, uploaded_by, created_at";

fn app_version(row: AppRow) -> ApiResult<AppVersion> {
    let (name, version, description, manifest_text, component, uploaded_by, created) = row;
    let manifest = AppManifest::parse(&manifest_text).map_err(ApiError::internal)?;
    let roles =
        |roles: &BTreeMap<String, trellis_host::manifest::Role>| -> BTreeMap<String, RoleInfo> {
            roles
                .iter()
                .map(|(name, role)| {
                    let info = RoleInfo {
                        type_name: role.kind.clone(),
                        min: role.min,
                        max: role.max,
                    };
                    (name.clone(), info)
                })
                .collect()
        };
    Ok(AppVersion {
        sensors: roles(&manifest.sensors),
        controllers: roles(&manifest.controllers),
        models: manifest.models.clone(),
        config: manifest
            .config
            .iter()
            .map(|(name, param)| (name.clone(), format!("{:?}", param.kind).to_lowercase()))
            .collect(),
        name,
        version,
        description,
        manifest: manifest_text,
        component_sha256: component,
        uploaded_by,
        created_at: rfc3339(created),
    })
}

/// The stored version `version` of app `name` (`None`: the newest), with its manifest.
pub async fn find(
    state: &AppState,
    name: &str,
    version: Option<&str>,
) -> ApiResult<Option<(AppVersion, AppManifest)>> {
    let row: Option<AppRow> = match version {
        None => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM apps WHERE name = $1 ORDER BY created_at DESC LIMIT 1"
            ))
            .bind(name)
            .fetch_optional(&state.db)
            .await?
        }
        Some(version) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM apps WHERE name = $1 AND version = $2"
            ))
            .bind(name)
            .bind(version)
            .fetch_optional(&state.db)
            .await?
        }
    };
    let Some(row) = row else { return Ok(None) };
    let manifest = AppManifest::parse(&row.3).map_err(ApiError::internal)?;
    Ok(Some((app_version(row)?, manifest)))
}

/// Every version of every app, newest first within each app.
#[utoipa::path(get, path = "/apps", tag = "apps", security(("token" = [])),
    responses((status = 200, body = Vec<AppVersion>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<AppVersion>>> {
    let rows: Vec<AppRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM apps ORDER BY name, created_at DESC"
    ))
    .fetch_all(&state.db)
    .await?;
    rows.into_iter()
        .map(app_version)
        .collect::<ApiResult<_>>()
        .map(Json)
}

/// The versions of one app, newest first.
#[utoipa::path(get, path = "/apps/{name}", tag = "apps", security(("token" = [])),
    params(("name" = String, Path)),
    responses((status = 200, body = Vec<AppVersion>), (status = 404, body = ErrorBody)))]
pub async fn versions(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<AppVersion>>> {
    let rows: Vec<AppRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM apps WHERE name = $1 ORDER BY created_at DESC"
    ))
    .bind(&name)
    .fetch_all(&state.db)
    .await?;
    if rows.is_empty() {
        return Err(ApiError::not_found(format!("no app `{name}`")));
    }
    rows.into_iter()
        .map(app_version)
        .collect::<ApiResult<_>>()
        .map(Json)
}

/// Upload an app: its manifest and its component.
#[utoipa::path(post, path = "/apps", tag = "apps", security(("token" = [])),
    request_body(content = AppUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = AppVersion), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    multipart: Multipart,
) -> ApiResult<(StatusCode, Json<AppVersion>)> {
    let mut parts = Parts::read(multipart, &[MANIFEST_FILE, COMPONENT_FILE]).await?;
    let manifest_text = parts.take_text(MANIFEST_FILE)?;
    let component = parts.take(COMPONENT_FILE);
    let manifest = AppManifest::parse(&manifest_text)
        .map_err(|e| ApiError::bad_request(format!("{MANIFEST_FILE}: {e}")))?;
    check_name(&format!("{MANIFEST_FILE}: name"), &manifest.name)?;
    check_name(&format!("{MANIFEST_FILE}: version"), &manifest.version)?;
    check_against_registry(&state, &manifest).await?;
    if find(&state, &manifest.name, Some(&manifest.version))
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(format!(
            "app `{}` version {} already exists; raise `version` in {MANIFEST_FILE}",
            manifest.name, manifest.version
        )));
    }
    let host = state.host.clone();
    let bytes = component.clone();
    tokio::task::spawn_blocking(move || host.load_app(&bytes).map(|_| ()))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::bad_request(format!("{COMPONENT_FILE}: {e}")))?;

    let blob = state.artifacts.put(&component)?;
    let row: AppRow = (
        manifest.name.clone(),
        manifest.version.clone(),
        manifest.description.clone(),
        manifest_text,
        blob.sha256.clone(),
        caller.name,
        now_ms(),
    );
    let inserted = sqlx::query(&format!(
        "INSERT INTO apps ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&row.0)
    .bind(&row.1)
    .bind(&row.2)
    .bind(&row.3)
    .bind(&row.4)
    .bind(&row.5)
    .bind(row.6)
    .execute(&state.db)
    .await;
    if let Err(e) = inserted {
        state.artifacts.forget(&blob);
        return Err(ApiError::already_exists(
            e,
            "app version",
            &format!("{} {}", manifest.name, manifest.version),
        ));
    }
    Ok((StatusCode::CREATED, Json(app_version(row)?)))
}

/// Every sensor type, controller type and model the manifest names must be registered; the
/// error lists all that are not.
async fn check_against_registry(state: &AppState, manifest: &AppManifest) -> ApiResult<()> {
    let mut unknown = Vec::new();
    let checks = manifest
        .sensors
        .iter()
        .map(|(role, r)| ("sensor_types", "sensor role", role, &r.kind))
        .chain(
            manifest
                .controllers
                .iter()
                .map(|(role, r)| ("controller_types", "controller role", role, &r.kind)),
        );
    for (table, what, role, type_name) in checks {
        let found: Option<(String,)> =
            sqlx::query_as(&format!("SELECT name FROM {table} WHERE name = $1"))
                .bind(type_name)
                .fetch_optional(&state.db)
                .await?;
        if found.is_none() {
            let kind = if table == "sensor_types" {
                "sensor"
            } else {
                "controller"
            };
            unknown.push(format!(
                "{what} `{role}` needs {kind} type `{type_name}`, which is not registered"
            ));
        }
    }
    for model in &manifest.models {
        let found: Option<(String,)> = sqlx::query_as("SELECT name FROM models WHERE name = $1")
            .bind(model)
            .fetch_optional(&state.db)
            .await?;
        if found.is_none() {
            unknown.push(format!("model `{model}` has not been uploaded"));
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{MANIFEST_FILE}: {}",
            unknown.join("; ")
        )))
    }
}
