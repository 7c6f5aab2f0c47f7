//! The device gateway's endpoints: sensors that do not speak Kafka post readings over HTTP, and
//! controllers long-poll their commands and report their state, each with the token issued when
//! a platform configurer registered it. The [`crate::gateway::DeviceGateway`] does the work.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use trellis_protocol::Value;
use trellis_protocol::api::{Accepted, DeliveredCommand, NewReading, NewReadings};
use trellis_protocol::live::LiveEvent;
use utoipa::IntoParams;

use super::json_body::JsonBody;
use crate::auth::policy::DeviceCaller;
use crate::db;
use crate::db::controller_commands::SentCommandRow;
use crate::db::devices::DeviceKind;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::gateway::{Declared, Incoming, Polled};
use crate::ids::{now_ms, rfc3339};
use crate::state::AppState;

/// Longest wait of a commands request.
const LONG_POLL: Duration = Duration::from_secs(20);

/// Send a reading (sensor devices). Its value must be of the kind the sensor's type declares.
#[utoipa::path(post, path = "/device/readings", tag = "devices", security(("token" = [])),
    request_body = NewReading,
    responses((status = 202, body = Accepted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn post_reading(
    State(state): State<AppState>,
    Extension(device): Extension<DeviceCaller>,
    JsonBody(reading): JsonBody<NewReading>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    if device.kind != "sensor" {
        return Err(ApiError::forbidden(
            "only sensors send readings; controllers poll commands",
        ));
    }
    let incoming = incoming(reading).map_err(ApiError::bad_request)?;
    let declared = declared(&state, &device.id).await?;
    let mut accepted = state
        .gateway
        .accept_readings(&device.id, &declared, vec![incoming])
        .await?;
    Ok((StatusCode::ACCEPTED, Json(accepted.remove(0))))
}

/// Send several readings in one request (sensor devices), in the order they were measured: up
/// to 1,000, each of the kind the sensor's type declares. They are put on the bus together, or
/// none is and the error names the first that was wrong (by its place); after a 503 send the
/// whole batch again, since apps drop what they have seen by its sequence.
#[utoipa::path(post, path = "/device/readings/batch", tag = "devices", security(("token" = [])),
    request_body = NewReadings,
    responses((status = 202, body = Vec<Accepted>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn post_readings(
    State(state): State<AppState>,
    Extension(device): Extension<DeviceCaller>,
    JsonBody(batch): JsonBody<NewReadings>,
) -> ApiResult<(StatusCode, Json<Vec<Accepted>>)> {
    if device.kind != "sensor" {
        return Err(ApiError::forbidden(
            "only sensors send readings; controllers poll commands",
        ));
    }
    let count = batch.readings.len();
    if count > MAX_BATCH_READINGS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "readings: {count} in one request; at most {MAX_BATCH_READINGS} (send the rest \
                 in another)"
            ),
        ));
    }
    let readings = batch
        .readings
        .into_iter()
        .enumerate()
        .map(|(i, reading)| {
            incoming(reading).map_err(|why| {
                ApiError::bad_request(format!("reading {} of {count}: {why}", i + 1))
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let declared = declared(&state, &device.id).await?;
    let accepted = state
        .gateway
        .accept_readings(&device.id, &declared, readings)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// The most readings one batch may carry.
const MAX_BATCH_READINGS: usize = 1000;

/// `reading` with its value read; what is wrong with the value otherwise.
fn incoming(reading: NewReading) -> Result<Incoming, String> {
    Ok(Incoming {
        value: serde_json::from_value::<Value>(reading.value).map_err(|e| format!("value: {e}"))?,
        sequence: reading.sequence,
        timestamp_ms: reading.timestamp_ms,
    })
}

/// What the readings of sensor `id` must be, looked up once.
async fn declared(state: &AppState, id: &str) -> ApiResult<Arc<Declared>> {
    if let Some(known) = state.gateway.declared().get(id) {
        return Ok(known);
    }
    let sensor = db::devices::find(&state.db, DeviceKind::Sensor, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no sensor `{id}`")))?;
    let kind = db::sensor_types::find(&state.db, &sensor.type_name)
        .await?
        .ok_or_else(|| {
            ApiError::internal(format!(
                "sensor {id}'s type `{}` is not registered",
                sensor.type_name
            ))
        })?
        .into_api()
        .value;
    Ok(state.gateway.declared().remember(
        id,
        Declared {
            name: sensor.name,
            type_name: sensor.type_name,
            kind,
        },
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Poll {
    /// How long to wait for a command, in milliseconds (at most 20000); default 20000.
    #[serde(default)]
    pub wait_ms: Option<u64>,
    /// The `delivery` of the last command received: it and every one before it are
    /// acknowledged and not handed out again. Commands not acknowledged come again at each poll.
    #[serde(default)]
    pub ack: Option<u64>,
}

/// The commands this controller has not acknowledged, waiting for one if there are none
/// (controller devices). Each comes with its `delivery`; send the last one received as `ack` on
/// the next poll. One poll per controller waits at a time: a newer one replaces it, and it
/// answers 409 at once.
#[utoipa::path(get, path = "/device/commands", tag = "devices", security(("token" = [])),
    params(Poll),
    responses((status = 200, body = Vec<DeliveredCommand>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn commands(
    State(state): State<AppState>,
    Extension(device): Extension<DeviceCaller>,
    query: Result<Query<Poll>, QueryRejection>,
) -> ApiResult<Json<Vec<DeliveredCommand>>> {
    if device.kind != "controller" {
        return Err(ApiError::forbidden(
            "only controllers poll commands; sensors send readings",
        ));
    }
    let Query(poll) =
        query.map_err(|e| ApiError::bad_request(format!("query: {}", e.body_text())))?;
    let wait = poll
        .wait_ms
        .map_or(LONG_POLL, Duration::from_millis)
        .min(LONG_POLL);
    let handed = match state.gateway.commands(&device.id, poll.ack, wait).await? {
        Polled::Commands(handed) => handed,
        Polled::Replaced => {
            return Err(ApiError::conflict(format!(
                "a newer poll of controller {} replaced this one: a controller polls once at a time",
                device.id
            )));
        }
    };
    let at = now_ms();
    let sent: Vec<SentCommandRow> = handed
        .iter()
        .filter(|(_, first)| *first)
        .map(|(command, _)| SentCommandRow {
            controller_id: device.id.clone(),
            at,
            deployment_id: command.record.deployment.clone(),
            command: serde_json::to_string(&command.record.command).unwrap_or_default(),
        })
        .collect();
    // Noted once, at the first delivery; failing to note them must not keep them from the device.
    if let Err(e) = db::controller_commands::insert(&state.db, &sent).await {
        tracing::warn!("noting the commands handed to {}: {e}", device.id);
    }
    Ok(Json(
        handed.into_iter().map(|(command, _)| command).collect(),
    ))
}

/// Report the controller's state, e.g. `{"on": true, "speed": 2}` (controller devices).
#[utoipa::path(post, path = "/device/state", tag = "devices", security(("token" = [])),
    request_body(content = Object),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn post_state(
    State(state): State<AppState>,
    Extension(device): Extension<DeviceCaller>,
    JsonBody(reported): JsonBody<serde_json::Value>,
) -> ApiResult<StatusCode> {
    if device.kind != "controller" {
        return Err(ApiError::forbidden("only controllers report a state"));
    }
    db::devices::set_state(&state.db, &device.id, &reported.to_string()).await?;
    state.live.publish(LiveEvent::ControllerState {
        controller: device.id,
        state: reported,
        at: rfc3339(now_ms()),
    });
    Ok(StatusCode::NO_CONTENT)
}
