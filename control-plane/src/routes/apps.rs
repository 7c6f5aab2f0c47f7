//! Apps: a component of the `app` world plus its manifest (`trellis.toml`), checked against the
//! WIT world and against the registry (every role type and model must exist) before anything is
//! stored; its versions are uploaded and deleted by the name's owner. Whether a version of each
//! model meets the manifest's requirement is checked when the app is deployed, since model
//! versions come and go after the upload.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use trellis_host::manifest::AppManifest;
use trellis_protocol::api::AppVersion;
use utoipa::ToSchema;

use super::names::check_name;
use super::owners::{check_owner, in_use};
use crate::auth::Caller;
use crate::db;
use crate::db::apps::AppRow;
use crate::db::devices::DeviceKind;
use crate::db::owners::Owned;
use crate::error::{ApiError, ApiResult, ErrorBody, FieldError};
use crate::ids::now_ms;
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

/// Every version of every app, newest first within each app.
#[utoipa::path(get, path = "/apps", tag = "apps", security(("token" = [])),
    responses((status = 200, body = Vec<AppVersion>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<AppVersion>>> {
    let rows = db::apps::list(&state.db).await?;
    rows.into_iter()
        .map(AppRow::into_api)
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
    let rows = db::apps::versions(&state.db, &name).await?;
    if rows.is_empty() {
        return Err(ApiError::not_found(format!("no app `{name}`")));
    }
    rows.into_iter()
        .map(AppRow::into_api)
        .collect::<ApiResult<_>>()
        .map(Json)
}

/// Upload an app: its manifest and its component. A refusal names the file at fault in `field`,
/// and lists each file's problem in `errors` when both have one. The first upload of a name makes the uploader
/// its owner; only they and admins may upload further versions of it.
#[utoipa::path(post, path = "/apps", tag = "apps", security(("token" = [])),
    request_body(content = AppUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = AppVersion),
        (status = 400, description = "a file is missing or wrong; `field` names it, `errors` lists each problem", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    multipart: Multipart,
) -> ApiResult<(StatusCode, Json<AppVersion>)> {
    let mut parts = Parts::read(multipart, &[MANIFEST_FILE, COMPONENT_FILE]).await?;
    let manifest_text = parts.take_text(MANIFEST_FILE);
    let component = parts.take(COMPONENT_FILE);
    let parsed = manifest_text.and_then(|text| {
        AppManifest::parse(&text)
            .map(|manifest| (text, manifest))
            .map_err(|e| ApiError::bad_request(format!("{MANIFEST_FILE}: {e}")).on(MANIFEST_FILE))
    });
    let (manifest_text, manifest) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return Err(with_component_problems(&state, error, &component).await),
    };
    let on_manifest = |e: ApiError| e.on(MANIFEST_FILE);
    check_name(&format!("{MANIFEST_FILE}: name"), &manifest.name).map_err(on_manifest)?;
    check_name(&format!("{MANIFEST_FILE}: version"), &manifest.version).map_err(on_manifest)?;
    check_owner(&state, &caller, Owned::App, &manifest.name, "upload").await?;
    if let Err(error) = check_against_registry(&state, &manifest).await {
        return Err(with_component_problems(&state, error.on(MANIFEST_FILE), &component).await);
    }
    if db::apps::find(&state.db, &manifest.name, Some(&manifest.version))
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(format!(
            "app `{}` version {} already exists; raise `version` in {MANIFEST_FILE}",
            manifest.name, manifest.version
        ))
        .on(MANIFEST_FILE));
    }
    if let Some(problem) = component_problem(&state, &component).await? {
        return Err(ApiError::bad_request(problem).on(COMPONENT_FILE));
    }

    // Held until the row that refers to the component is committed, so the collector cannot take
    // it for garbage meanwhile.
    let lease = state.artifacts.lease().await;
    let blob = lease.put(&component)?;
    let row = AppRow {
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        description: manifest.description.clone(),
        manifest: manifest_text,
        component_sha256: blob.sha256.clone(),
        uploaded_by: caller.name,
        created_at: now_ms(),
        owner: None,
    };
    if let Err(e) = db::apps::insert(&state.db, &row).await {
        state.artifacts.forget(&blob);
        return Err(ApiError::already_exists(
            e,
            "app version",
            &format!("{} {}", manifest.name, manifest.version),
        ));
    }
    drop(lease);
    state
        .logs
        .event(crate::logs::Event {
            kind: "uploaded",
            level: trellis_protocol::logs::LogLevel::Info,
            node: None,
            deployment: None,
            app: Some(&manifest.name),
            text: format!(
                "app {} {} uploaded by {}",
                manifest.name, manifest.version, row.uploaded_by
            ),
        })
        .await;
    let stored = db::apps::find(&state.db, &manifest.name, Some(&manifest.version))
        .await?
        .ok_or_else(|| ApiError::internal("the stored app version vanished"))?;
    Ok((StatusCode::CREATED, Json(stored.into_api()?)))
}

/// Delete an app version: its owner or an admin, and only while no deployment runs it. Deleting
/// the last version deletes the name (anyone may then upload it afresh). Its component is
/// collected unless another version shares it.
#[utoipa::path(delete, path = "/apps/{name}/{version}", tag = "apps", security(("token" = [])),
    params(("name" = String, Path), ("version" = String, Path)),
    responses((status = 204, description = "deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "deployments run it; the message names each", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if db::apps::find(&state.db, &name, Some(&version))
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(format!(
            "no app `{name}` version {version}"
        )));
    }
    check_owner(&state, &caller, Owned::App, &name, "delete").await?;
    let what = format!("app `{name}` version {version}");
    let users = db::deployments::users_of_app(&state.db, &name, &version).await?;
    if !users.is_empty() {
        return Err(in_use(&what, &users));
    }
    match db::apps::delete(&state.db, &name, &version).await {
        Ok(_) => {}
        // A deployment made since the check above: it refers to the version.
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            let users = db::deployments::users_of_app(&state.db, &name, &version).await?;
            return Err(in_use(&what, &users));
        }
        Err(e) => return Err(e.into()),
    }
    crate::collector::collect_after_deletion(&state).await;
    Ok(StatusCode::NO_CONTENT)
}

/// What is wrong with `component` as an app (a component of the `app` world), if anything.
async fn component_problem(state: &AppState, component: &[u8]) -> ApiResult<Option<String>> {
    let host = state.host.clone();
    let bytes = component.to_vec();
    let loaded = tokio::task::spawn_blocking(move || host.load_app(&bytes).map(|_| ()))
        .await
        .map_err(ApiError::internal)?;
    Ok(loaded.err().map(|e| format!("{COMPONENT_FILE}: {e}")))
}

/// `error`, a refusal of the manifest, together with what is wrong with the component, if
/// anything, so the uploader learns of both files to fix at once.
async fn with_component_problems(state: &AppState, error: ApiError, component: &[u8]) -> ApiError {
    let Ok(Some(problem)) = component_problem(state, component).await else {
        return error;
    };
    ApiError::several(vec![
        FieldError {
            field: MANIFEST_FILE.into(),
            error: error.message,
        },
        FieldError {
            field: COMPONENT_FILE.into(),
            error: problem,
        },
    ])
}

/// Every sensor type, controller type and model the manifest names must be registered; the
/// error lists all that are not.
async fn check_against_registry(state: &AppState, manifest: &AppManifest) -> ApiResult<()> {
    let mut unknown = Vec::new();
    let checks = manifest
        .sensors
        .iter()
        .map(|(role, r)| (DeviceKind::Sensor, role, &r.kind))
        .chain(
            manifest
                .controllers
                .iter()
                .map(|(role, r)| (DeviceKind::Controller, role, &r.kind)),
        );
    for (kind, role, type_name) in checks {
        let found = match kind {
            DeviceKind::Sensor => db::sensor_types::exists(&state.db, type_name).await?,
            DeviceKind::Controller => db::controller_types::exists(&state.db, type_name).await?,
        };
        if !found {
            let kind = kind.as_str();
            unknown.push(format!(
                "{kind} role `{role}` needs {kind} type `{type_name}`, which is not registered"
            ));
        }
    }
    for model in manifest.models.keys() {
        if !db::models::exists(&state.db, model).await? {
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
