//! Sensor types (what a reading carries) and controller types (the commands they accept).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use trellis_protocol::api::{ControllerType, SensorType, ValueKind};

use super::names::check_name;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::now_ms;
use crate::state::AppState;

type SensorTypeRow = (String, String, String, String, Option<String>, Option<f64>);

fn sensor_type(row: SensorTypeRow) -> SensorType {
    let (name, description, unit, value, media_type, sampling_hz) = row;
    SensorType {
        name,
        description,
        unit,
        value: ValueKind::parse(&value),
        media_type,
        sampling_hz,
    }
}

const SENSOR_TYPE_COLUMNS: &str = "name, description, unit, value_kind, media_type, sampling_hz";

/// List sensor types.
#[utoipa::path(get, path = "/sensor-types", tag = "registry", security(("token" = [])),
    responses((status = 200, body = Vec<SensorType>)))]
pub async fn list_sensor_types(State(state): State<AppState>) -> ApiResult<Json<Vec<SensorType>>> {
    let rows: Vec<SensorTypeRow> = sqlx::query_as(&format!(
        "SELECT {SENSOR_TYPE_COLUMNS} FROM sensor_types ORDER BY name"
    ))
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows.into_iter().map(sensor_type).collect()))
}

/// One sensor type.
#[utoipa::path(get, path = "/sensor-types/{name}", tag = "registry", security(("token" = [])),
    params(("name" = String, Path)),
    responses((status = 200, body = SensorType), (status = 404, body = ErrorBody)))]
pub async fn get_sensor_type(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<SensorType>> {
    let row: Option<SensorTypeRow> = sqlx::query_as(&format!(
        "SELECT {SENSOR_TYPE_COLUMNS} FROM sensor_types WHERE name = $1"
    ))
    .bind(&name)
    .fetch_optional(&state.db)
    .await?;
    row.map(|row| Json(sensor_type(row)))
        .ok_or_else(|| ApiError::not_found(format!("no sensor type `{name}`")))
}

/// Register a sensor type.
#[utoipa::path(post, path = "/sensor-types", tag = "registry", security(("token" = [])),
    request_body = SensorType,
    responses((status = 201, body = SensorType), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_sensor_type(
    State(state): State<AppState>,
    Json(kind): Json<SensorType>,
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
    sqlx::query(
        "INSERT INTO sensor_types (name, description, unit, value_kind, media_type, sampling_hz, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&kind.name)
    .bind(&kind.description)
    .bind(&kind.unit)
    .bind(kind.value.as_str())
    .bind(&kind.media_type)
    .bind(kind.sampling_hz)
    .bind(now_ms())
    .execute(&state.db)
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
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT name, description, commands FROM controller_types ORDER BY name")
            .fetch_all(&state.db)
            .await?;
    rows.into_iter()
        .map(controller_type)
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
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT name, description, commands FROM controller_types WHERE name = $1")
            .bind(&name)
            .fetch_optional(&state.db)
            .await?;
    let row = row.ok_or_else(|| ApiError::not_found(format!("no controller type `{name}`")))?;
    controller_type(row).map(Json)
}

fn controller_type(
    (name, description, commands): (String, String, String),
) -> ApiResult<ControllerType> {
    Ok(ControllerType {
        name,
        description,
        commands: serde_json::from_str(&commands).map_err(ApiError::internal)?,
    })
}

/// Register a controller type.
#[utoipa::path(post, path = "/controller-types", tag = "registry", security(("token" = [])),
    request_body = ControllerType,
    responses((status = 201, body = ControllerType), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_controller_type(
    State(state): State<AppState>,
    Json(kind): Json<ControllerType>,
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
    sqlx::query(
        "INSERT INTO controller_types (name, description, commands, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&kind.name)
    .bind(&kind.description)
    .bind(serde_json::to_string(&kind.commands).map_err(ApiError::internal)?)
    .bind(now_ms())
    .execute(&state.db)
    .await
    .map_err(|e| ApiError::already_exists(e, "controller type", &kind.name))?;
    Ok((StatusCode::CREATED, Json(kind)))
}
