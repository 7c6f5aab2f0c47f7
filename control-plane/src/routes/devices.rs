//! Sensor and controller instances: a registered type at a location, with free labels. One table
//! holds both; `kind` tells them apart.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use trellis_protocol::api::{Device, DeviceFilter, NewDevice};

use super::names::check_name;
use crate::auth::token_hash;
use crate::db;
use crate::db::devices::DeviceKind;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{new_id, now_ms, random_hex, rfc3339};
use crate::state::AppState;

/// Adds what the gateway counted to a sensor.
fn with_counts(state: &AppState, mut device: Device) -> Device {
    device.readings = state.gateway.readings_of(&device.id);
    device
}

/// Instances of `kind` matching `filter`.
async fn list(state: &AppState, kind: DeviceKind, filter: DeviceFilter) -> ApiResult<Vec<Device>> {
    let label = match &filter.label {
        Some(label) => Some(label.split_once('=').ok_or_else(|| {
            ApiError::bad_request(format!("label: `{label}` should look like key=value"))
        })?),
        None => None,
    };
    let rows = db::devices::list(&state.db, kind, &filter).await?;
    let devices = rows
        .into_iter()
        .map(|row| row.into_api())
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(devices
        .into_iter()
        .filter(|d| label.is_none_or(|(k, v)| d.labels.get(k).is_some_and(|x| x == v)))
        .map(|d| with_counts(state, d))
        .collect())
}

async fn get(state: &AppState, kind: DeviceKind, id: &str) -> ApiResult<Json<Device>> {
    let row = db::devices::find(&state.db, kind, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no {} `{id}`", kind.as_str())))?;
    Ok(Json(with_counts(state, row.into_api()?)))
}

async fn create(
    state: &AppState,
    kind: DeviceKind,
    new: NewDevice,
) -> ApiResult<(StatusCode, Json<Device>)> {
    check_name("name", &new.name)?;
    let known = match kind {
        DeviceKind::Sensor => db::sensor_types::exists(&state.db, &new.type_name).await?,
        DeviceKind::Controller => db::controller_types::exists(&state.db, &new.type_name).await?,
    };
    if !known {
        return Err(ApiError::bad_request(format!(
            "type: `{}` is not a registered {} type",
            new.type_name,
            kind.as_str()
        )));
    }
    let location = &new.location;
    for (field, value) in [
        ("location.site", &location.site),
        ("location.building", &location.building),
        ("location.room", &location.room),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::bad_request(format!("{field}: must not be empty")));
        }
    }
    if location
        .latitude
        .is_some_and(|lat| !(-90.0..=90.0).contains(&lat))
    {
        return Err(ApiError::bad_request(
            "location.latitude: must be within -90..90",
        ));
    }
    if location
        .longitude
        .is_some_and(|lon| !(-180.0..=180.0).contains(&lon))
    {
        return Err(ApiError::bad_request(
            "location.longitude: must be within -180..180",
        ));
    }
    let id = new_id(kind.id_prefix());
    let created_at = now_ms();
    let token = random_hex(32);
    db::devices::insert(&state.db, kind, &id, &new, created_at, &token_hash(&token))
        .await
        .map_err(|e| ApiError::already_exists(e, kind.as_str(), &new.name))?;
    if kind == DeviceKind::Controller {
        state.gateway.watch_controller(&id).await;
    }
    Ok((
        StatusCode::CREATED,
        Json(Device {
            id,
            name: new.name,
            type_name: new.type_name,
            location: new.location,
            labels: new.labels,
            users: new.users,
            created_at: rfc3339(created_at),
            state: None,
            readings: None,
            token: Some(token),
        }),
    ))
}

/// Gives instance `id` a new gateway token, shown in the answer once; the old one is refused
/// from the next request on (the gateway looks every request's token up afresh).
async fn rotate_token(state: &AppState, kind: DeviceKind, id: &str) -> ApiResult<Json<Device>> {
    let token = random_hex(32);
    if !db::devices::set_token(&state.db, kind, id, &token_hash(&token)).await? {
        return Err(ApiError::not_found(format!("no {} `{id}`", kind.as_str())));
    }
    let Json(device) = get(state, kind, id).await?;
    Ok(Json(Device {
        token: Some(token),
        ..device
    }))
}

/// List sensor instances, filtered by type, location and label.
#[utoipa::path(get, path = "/sensors", tag = "registry", security(("token" = [])), params(DeviceFilter),
    responses((status = 200, body = Vec<Device>), (status = 400, body = ErrorBody)))]
pub async fn list_sensors(
    State(state): State<AppState>,
    Query(filter): Query<DeviceFilter>,
) -> ApiResult<Json<Vec<Device>>> {
    list(&state, DeviceKind::Sensor, filter).await.map(Json)
}

/// One sensor instance.
#[utoipa::path(get, path = "/sensors/{id}", tag = "registry", security(("token" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Device), (status = 404, body = ErrorBody)))]
pub async fn get_sensor(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Device>> {
    get(&state, DeviceKind::Sensor, &id).await
}

/// Register a sensor instance.
#[utoipa::path(post, path = "/sensors", tag = "registry", security(("token" = [])), request_body = NewDevice,
    responses((status = 201, body = Device), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_sensor(
    State(state): State<AppState>,
    Json(new): Json<NewDevice>,
) -> ApiResult<(StatusCode, Json<Device>)> {
    create(&state, DeviceKind::Sensor, new).await
}

/// Give a sensor a new gateway token (shown once); its old token is refused at once.
#[utoipa::path(post, path = "/sensors/{id}/token", tag = "registry", security(("token" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Device), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_sensor_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Device>> {
    rotate_token(&state, DeviceKind::Sensor, &id).await
}

/// List controller instances, filtered by type, location and label.
#[utoipa::path(get, path = "/controllers", tag = "registry", security(("token" = [])), params(DeviceFilter),
    responses((status = 200, body = Vec<Device>), (status = 400, body = ErrorBody)))]
pub async fn list_controllers(
    State(state): State<AppState>,
    Query(filter): Query<DeviceFilter>,
) -> ApiResult<Json<Vec<Device>>> {
    list(&state, DeviceKind::Controller, filter).await.map(Json)
}

/// One controller instance.
#[utoipa::path(get, path = "/controllers/{id}", tag = "registry", security(("token" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Device), (status = 404, body = ErrorBody)))]
pub async fn get_controller(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Device>> {
    get(&state, DeviceKind::Controller, &id).await
}

/// Register a controller instance.
#[utoipa::path(post, path = "/controllers", tag = "registry", security(("token" = [])), request_body = NewDevice,
    responses((status = 201, body = Device), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_controller(
    State(state): State<AppState>,
    Json(new): Json<NewDevice>,
) -> ApiResult<(StatusCode, Json<Device>)> {
    create(&state, DeviceKind::Controller, new).await
}

/// Give a controller a new gateway token (shown once); its old token is refused at once.
#[utoipa::path(post, path = "/controllers/{id}/token", tag = "registry", security(("token" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Device), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_controller_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Device>> {
    rotate_token(&state, DeviceKind::Controller, &id).await
}
