//! Sensor and controller instances: a registered type at a location, with free labels. One table
//! holds both; `kind` tells them apart.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use trellis_protocol::api::{Device, DeviceFilter, Location, NewDevice};

use super::names::check_name;
use crate::auth::token_hash;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{new_id, now_ms, random_hex, rfc3339};
use crate::state::AppState;

/// Sensor or controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    Sensor,
    Controller,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Sensor => "sensor",
            DeviceKind::Controller => "controller",
        }
    }

    fn type_table(self) -> &'static str {
        match self {
            DeviceKind::Sensor => "sensor_types",
            DeviceKind::Controller => "controller_types",
        }
    }

    fn id_prefix(self) -> &'static str {
        match self {
            DeviceKind::Sensor => "sen",
            DeviceKind::Controller => "ctl",
        }
    }
}

type DeviceRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<f64>,
    Option<f64>,
    String,
    String,
    i64,
    Option<String>,
);

const COLUMNS: &str =
    "id, name, type_name, site, building, room, latitude, longitude, labels, users, created_at";

/// The columns a [`DeviceRow`] reads.
const SELECTED: &str = "id, name, type_name, site, building, room, latitude, longitude, labels, users, created_at, state";

fn device(row: DeviceRow) -> ApiResult<Device> {
    let (
        id,
        name,
        type_name,
        site,
        building,
        room,
        latitude,
        longitude,
        labels,
        users,
        created,
        state,
    ) = row;
    Ok(Device {
        id,
        name,
        type_name,
        location: Location {
            site,
            building,
            room,
            latitude,
            longitude,
        },
        labels: serde_json::from_str(&labels).map_err(ApiError::internal)?,
        users: serde_json::from_str(&users).map_err(ApiError::internal)?,
        created_at: rfc3339(created),
        state: state.and_then(|s| serde_json::from_str(&s).ok()),
        readings: None,
        token: None,
    })
}

/// Adds what the gateway counted to a sensor.
fn with_counts(state: &AppState, mut device: Device) -> Device {
    device.readings = state.gateway.readings_of(&device.id);
    device
}

/// Instances of `kind` matching `filter`.
pub async fn list(
    state: &AppState,
    kind: DeviceKind,
    filter: DeviceFilter,
) -> ApiResult<Vec<Device>> {
    let label = match &filter.label {
        Some(label) => Some(label.split_once('=').ok_or_else(|| {
            ApiError::bad_request(format!("label: `{label}` should look like key=value"))
        })?),
        None => None,
    };
    let rows: Vec<DeviceRow> = sqlx::query_as(&format!(
        "SELECT {SELECTED} FROM devices WHERE kind = $1 \
         AND ($2 IS NULL OR type_name = $2) AND ($3 IS NULL OR site = $3) \
         AND ($4 IS NULL OR building = $4) AND ($5 IS NULL OR room = $5) ORDER BY name"
    ))
    .bind(kind.as_str())
    .bind(&filter.type_name)
    .bind(&filter.site)
    .bind(&filter.building)
    .bind(&filter.room)
    .fetch_all(&state.db)
    .await?;
    let devices = rows
        .into_iter()
        .map(device)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(devices
        .into_iter()
        .filter(|d| label.is_none_or(|(k, v)| d.labels.get(k).is_some_and(|x| x == v)))
        .map(|d| with_counts(state, d))
        .collect())
}

/// The instance `id` of `kind`, if there is one.
pub async fn find(state: &AppState, kind: DeviceKind, id: &str) -> ApiResult<Option<Device>> {
    let row: Option<DeviceRow> = sqlx::query_as(&format!(
        "SELECT {SELECTED} FROM devices WHERE kind = $1 AND id = $2"
    ))
    .bind(kind.as_str())
    .bind(id)
    .fetch_optional(&state.db)
    .await?;
    Ok(row.map(device).transpose()?.map(|d| with_counts(state, d)))
}

async fn get(state: &AppState, kind: DeviceKind, id: &str) -> ApiResult<Json<Device>> {
    find(state, kind, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no {} `{id}`", kind.as_str())))
}

async fn create(
    state: &AppState,
    kind: DeviceKind,
    new: NewDevice,
) -> ApiResult<(StatusCode, Json<Device>)> {
    check_name("name", &new.name)?;
    let known: Option<(String,)> = sqlx::query_as(&format!(
        "SELECT name FROM {} WHERE name = $1",
        kind.type_table()
    ))
    .bind(&new.type_name)
    .fetch_optional(&state.db)
    .await?;
    if known.is_none() {
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
    let labels = serde_json::to_string(&new.labels).map_err(ApiError::internal)?;
    let users = serde_json::to_string(&new.users).map_err(ApiError::internal)?;
    let token = random_hex(32);
    sqlx::query(&format!(
        "INSERT INTO devices (kind, {COLUMNS}, token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(kind.as_str())
    .bind(&id)
    .bind(&new.name)
    .bind(&new.type_name)
    .bind(&location.site)
    .bind(&location.building)
    .bind(&location.room)
    .bind(location.latitude)
    .bind(location.longitude)
    .bind(labels)
    .bind(users)
    .bind(created_at)
    .bind(token_hash(&token))
    .execute(&state.db)
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
