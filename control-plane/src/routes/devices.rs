//! Sensor and controller instances: a registered type at a location, with free labels. One table
//! holds both; `kind` tells them apart.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use trellis_protocol::api::{
    Device, DeviceFilter, DeviceUsers, LastReading, NewDevice, SentCommand,
};

use super::json_body::JsonBody;
use super::names::check_name;
use crate::auth::{Caller, Role, token_hash};
use crate::db;
use crate::db::devices::DeviceKind;
use crate::device_access::{self, EVERY_USER};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{new_id, now_ms, random_hex, rfc3339};
use crate::state::AppState;

/// Commands shown with each controller.
const LAST_COMMANDS: i64 = 5;

/// Whether `caller` may see what instance `device` measured and was told: admins and
/// configurers always, anyone else if the device is granted to them.
pub(super) fn may_use(caller: &Caller, device: &Device) -> bool {
    matches!(caller.role, Role::Admin | Role::PlatformConfigurer)
        || device_access::granted(&device.users, &caller.name)
}

/// Adds to `devices` what the registry keeps of their readings (sensors) or commands
/// (controllers), in one query for them all, for those `caller` may use.
async fn with_activity(
    state: &AppState,
    caller: &Caller,
    kind: DeviceKind,
    mut devices: Vec<Device>,
) -> ApiResult<Vec<Device>> {
    state.readings.flush().await;
    let ids: Vec<String> = devices
        .iter()
        .filter(|d| may_use(caller, d))
        .map(|d| d.id.clone())
        .collect();
    match kind {
        DeviceKind::Sensor => {
            let mut summaries = db::readings::summaries(&state.db, &ids).await?;
            for device in devices.iter_mut().filter(|d| may_use(caller, d)) {
                let summary = summaries.remove(&device.id);
                device.readings = Some(summary.as_ref().map_or(0, |s| s.count));
                device.last_reading = summary.map(|s| LastReading {
                    value: serde_json::from_str(&s.last_value)
                        .unwrap_or(serde_json::Value::String(s.last_value)),
                    at: rfc3339(s.last_at),
                });
            }
        }
        DeviceKind::Controller => {
            let mut sent = db::controller_commands::latest(&state.db, &ids, LAST_COMMANDS).await?;
            for device in devices.iter_mut().filter(|d| may_use(caller, d)) {
                let commands = sent.remove(&device.id).unwrap_or_default();
                device.last_commands = Some(
                    commands
                        .into_iter()
                        .map(|row| SentCommand {
                            at: rfc3339(row.at),
                            deployment: row.deployment_id,
                            command: serde_json::from_str(&row.command)
                                .unwrap_or(serde_json::Value::String(row.command)),
                        })
                        .collect(),
                );
            }
        }
    }
    Ok(devices)
}

/// Instances of `kind` matching `filter` (its page of them), and how many match in all.
async fn list(
    state: &AppState,
    caller: &Caller,
    kind: DeviceKind,
    filter: DeviceFilter,
) -> ApiResult<(Vec<Device>, u64)> {
    let label = match &filter.label {
        Some(label) => Some(label.split_once('=').ok_or_else(|| {
            ApiError::bad_request(format!("label: `{label}` should look like key=value"))
        })?),
        None => None,
    };
    let (rows, total) =
        db::devices::list(&state.db, state.logs.dialect(), kind, &filter, label).await?;
    let devices = rows
        .into_iter()
        .map(|row| row.into_api())
        .collect::<ApiResult<Vec<_>>>()?;
    Ok((with_activity(state, caller, kind, devices).await?, total))
}

/// The answer to a list: one page of instances, with the number matching in all.
fn page(devices: Vec<Device>, total: u64) -> ApiResult<impl IntoResponse> {
    let total = HeaderValue::from_str(&total.to_string()).map_err(ApiError::internal)?;
    Ok(([(TOTAL_COUNT, total)], Json(devices)))
}

/// The header holding how many instances match a listing, beyond its page.
const TOTAL_COUNT: &str = "x-total-count";

/// The filter's query, or a 400 naming what is wrong with it.
fn filter(query: Result<Query<DeviceFilter>, QueryRejection>) -> ApiResult<DeviceFilter> {
    query
        .map(|Query(filter)| filter)
        .map_err(|e| ApiError::bad_request(format!("query: {}", e.body_text())))
}

async fn get(
    state: &AppState,
    caller: &Caller,
    kind: DeviceKind,
    id: &str,
) -> ApiResult<Json<Device>> {
    let row = db::devices::find(&state.db, kind, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no {} `{id}`", kind.as_str())))?;
    let devices = with_activity(state, caller, kind, vec![row.into_api()?]).await?;
    Ok(Json(
        devices.into_iter().next().expect("one device in, one out"),
    ))
}

async fn create(
    state: &AppState,
    kind: DeviceKind,
    mut new: NewDevice,
) -> ApiResult<(StatusCode, Json<Device>)> {
    check_name("name", &new.name)?;
    if new.users.is_empty() && state.settings.open_devices {
        new.users = vec![EVERY_USER.to_string()];
    }
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
            last_reading: None,
            last_commands: None,
            token: Some(token),
        }),
    ))
}

/// Grants instance `id` to `users` (replacing whom it was granted to) and answers it as it now
/// is. Each name must be a user's (or `*`), so a typo does not grant nobody unnoticed.
async fn set_users(
    state: &AppState,
    caller: &Caller,
    kind: DeviceKind,
    id: &str,
    users: DeviceUsers,
) -> ApiResult<Json<Device>> {
    for (i, name) in users.users.iter().enumerate() {
        if name != EVERY_USER && db::users::find(&state.db, name).await?.is_none() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("users[{i}]: there is no user `{name}` (`*` grants every user)"),
            ));
        }
    }
    if !db::devices::set_users(&state.db, kind, id, &users.users).await? {
        return Err(ApiError::not_found(format!("no {} `{id}`", kind.as_str())));
    }
    get(state, caller, kind, id).await
}

/// Gives instance `id` a new gateway token, shown in the answer once; the old one is refused
/// from the next request on (the gateway looks every request's token up afresh).
async fn rotate_token(
    state: &AppState,
    caller: &Caller,
    kind: DeviceKind,
    id: &str,
) -> ApiResult<Json<Device>> {
    let token = random_hex(32);
    if !db::devices::set_token(&state.db, kind, id, &token_hash(&token)).await? {
        return Err(ApiError::not_found(format!("no {} `{id}`", kind.as_str())));
    }
    let Json(device) = get(state, caller, kind, id).await?;
    Ok(Json(Device {
        token: Some(token),
        ..device
    }))
}

/// List sensor instances, filtered by type, location, label and text, a page at a time (by name).
#[utoipa::path(get, path = "/sensors", tag = "registry", security(("token" = [])), params(DeviceFilter),
    responses((status = 200, body = Vec<Device>,
            headers(("X-Total-Count" = u64, description = "How many instances match, beyond this page"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_sensors(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<DeviceFilter>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let (devices, total) = list(&state, &caller, DeviceKind::Sensor, filter(query)?).await?;
    page(devices, total)
}

/// One sensor instance.
#[utoipa::path(get, path = "/sensors/{id}", tag = "registry", security(("token" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Device), (status = 404, body = ErrorBody)))]
pub async fn get_sensor(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Device>> {
    get(&state, &caller, DeviceKind::Sensor, &id).await
}

/// Register a sensor instance.
#[utoipa::path(post, path = "/sensors", tag = "registry", security(("token" = [])), request_body = NewDevice,
    responses((status = 201, body = Device), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_sensor(
    State(state): State<AppState>,
    JsonBody(new): JsonBody<NewDevice>,
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
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Device>> {
    rotate_token(&state, &caller, DeviceKind::Sensor, &id).await
}

/// Set who may use a sensor (bind it, watch it, read what it measured) besides admins and
/// platform configurers: names, or `*` for every user; this list replaces the one before.
#[utoipa::path(put, path = "/sensors/{id}/users", tag = "registry", security(("token" = [])),
    params(("id" = String, Path)), request_body = DeviceUsers,
    responses((status = 200, body = Device), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_sensor_users(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(users): JsonBody<DeviceUsers>,
) -> ApiResult<Json<Device>> {
    set_users(&state, &caller, DeviceKind::Sensor, &id, users).await
}

/// List controller instances, filtered by type, location, label and text, a page at a time (by name).
#[utoipa::path(get, path = "/controllers", tag = "registry", security(("token" = [])), params(DeviceFilter),
    responses((status = 200, body = Vec<Device>,
            headers(("X-Total-Count" = u64, description = "How many instances match, beyond this page"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_controllers(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<DeviceFilter>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let (devices, total) = list(&state, &caller, DeviceKind::Controller, filter(query)?).await?;
    page(devices, total)
}

/// One controller instance.
#[utoipa::path(get, path = "/controllers/{id}", tag = "registry", security(("token" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Device), (status = 404, body = ErrorBody)))]
pub async fn get_controller(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Device>> {
    get(&state, &caller, DeviceKind::Controller, &id).await
}

/// Register a controller instance.
#[utoipa::path(post, path = "/controllers", tag = "registry", security(("token" = [])), request_body = NewDevice,
    responses((status = 201, body = Device), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_controller(
    State(state): State<AppState>,
    JsonBody(new): JsonBody<NewDevice>,
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
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Device>> {
    rotate_token(&state, &caller, DeviceKind::Controller, &id).await
}

/// Set who may use a controller (bind it, watch it, read what it measured) besides admins and
/// platform configurers: names, or `*` for every user; this list replaces the one before.
#[utoipa::path(put, path = "/controllers/{id}/users", tag = "registry", security(("token" = [])),
    params(("id" = String, Path)), request_body = DeviceUsers,
    responses((status = 200, body = Device), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_controller_users(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(users): JsonBody<DeviceUsers>,
) -> ApiResult<Json<Device>> {
    set_users(&state, &caller, DeviceKind::Controller, &id, users).await
}
