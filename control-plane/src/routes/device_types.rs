//! Sensor types (what a reading carries) and controller types (the commands they accept).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use trellis_protocol::api::{ControllerType, SensorType, ValueKind};

use super::json_body::JsonBody;
use super::names::check_name;
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::now_ms;
use crate::state::AppState;

/// List sensor types.
#[utoipa::path(get, path = "/sensor-types", tag = "registry", security(("token" = [])),
    responses((status = 200, body = Vec<SensorType>)))]
pub async fn list_sensor_types(State(state): State<AppState>) -> ApiResult<Json<Vec<SensorType>>> {
    let rows = db::sensor_types::list(&state.db).await?;
    Ok(Json(rows.into_iter().map(|row| row.into_api()).collect()))
}

/// One sensor type.
#[utoipa::path(get, path = "/sensor-types/{name}", tag = "registry", security(("token" = [])),
    params(("name" = String, Path)),
    responses((status = 200, body = SensorType), (status = 404, body = ErrorBody)))]
pub async fn get_sensor_type(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<SensorType>> {
    let row = db::sensor_types::find(&state.db, &name).await?;
    row.map(|row| Json(row.into_api()))
        .ok_or_else(|| ApiError::not_found(format!("no sensor type `{name}`")))
}

/// Register a sensor type.
#[utoipa::path(post, path = "/sensor-types", tag = "registry", security(("token" = [])),
    request_body = SensorType,
    responses((status = 201, body = SensorType), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_sensor_type(
    State(state): State<AppState>,
    JsonBody(kind): JsonBody<SensorType>,
) -> ApiResult<(StatusCode, Json<SensorType>)> {
    check_name("name", &kind.name)?;
    match (kind.value, &kind.media_type) {
        (ValueKind::Bytes, None) => {
            return Err(ApiError::bad_request(
                "media_type: `bytes` readings need a media type, e.g. image/png",
            ));
        }
        (ValueKind::Bytes, Some(_)) | (_, None) => {}
        (_, Some(_)) => {
            return Err(ApiError::bad_request(
                "media_type: only `bytes` readings have a media type",
            ));
        }
    }
    if let Some(hz) = kind.sampling_hz
        && !(hz.is_finite() && hz > 0.0)
    {
        return Err(ApiError::bad_request(
            "sampling_hz: must be a positive number of readings per second",
        ));
    }
    db::sensor_types::insert(&state.db, &kind, now_ms())
        .await
        .map_err(|e| ApiError::already_exists(e, "sensor type", &kind.name))?;
    Ok((StatusCode::CREATED, Json(kind)))
}

/// List controller types.
#[utoipa::path(get, path = "/controller-types", tag = "registry", security(("token" = [])),
    responses((status = 200, body = Vec<ControllerType>)))]
pub async fn list_controller_types(
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<ControllerType>>> {
    let rows = db::controller_types::list(&state.db).await?;
    rows.into_iter()
        .map(|row| row.into_api())
        .collect::<ApiResult<_>>()
        .map(Json)
}

/// One controller type.
#[utoipa::path(get, path = "/controller-types/{name}", tag = "registry", security(("token" = [])),
    params(("name" = String, Path)),
    responses((status = 200, body = ControllerType), (status = 404, body = ErrorBody)))]
pub async fn get_controller_type(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<ControllerType>> {
    let row = db::controller_types::find(&state.db, &name).await?;
    let row = row.ok_or_else(|| ApiError::not_found(format!("no controller type `{name}`")))?;
    row.into_api().map(Json)
}

/// Register a controller type.
#[utoipa::path(post, path = "/controller-types", tag = "registry", security(("token" = [])),
    request_body = ControllerType,
    responses((status = 201, body = ControllerType), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_controller_type(
    State(state): State<AppState>,
    JsonBody(kind): JsonBody<ControllerType>,
) -> ApiResult<(StatusCode, Json<ControllerType>)> {
    check_name("name", &kind.name)?;
    if kind.commands.is_empty() {
        return Err(ApiError::bad_request(
            "commands: a controller type accepts at least one command",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for command in &kind.commands {
        check_name("commands[].name", &command.name)?;
        if !seen.insert(&command.name) {
            return Err(ApiError::bad_request(format!(
                "commands: `{}` is listed twice",
                command.name
            )));
        }
        for param in &command.params {
            check_name(
                &format!("commands.{}.params[].name", command.name),
                &param.name,
            )?;
        }
    }
    db::controller_types::insert(&state.db, &kind, now_ms())
        .await
        .map_err(|e| ApiError::already_exists(e, "controller type", &kind.name))?;
    Ok((StatusCode::CREATED, Json(kind)))
}
