//! The device gateway: sensors that do not speak Kafka post readings over HTTP, and controllers
//! long-poll their commands and report their state, each with the token issued when a platform
//! configurer registered it. Readings go onto the bus exactly as Kafka producers would put them.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use trellis_bus::{Subscription, controller_topic, sensor_topic};
use trellis_protocol::Value;
use trellis_protocol::api::{Accepted, NewReading};
use trellis_protocol::record::{CommandRecord, ReadingRecord};
use utoipa::IntoParams;

use crate::auth::policy::DeviceCaller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::now_ms;
use crate::state::AppState;

/// Longest wait of a commands request.
const LONG_POLL: Duration = Duration::from_secs(20);

/// Send a reading (sensor devices).
#[utoipa::path(post, path = "/device/readings", tag = "devices", security(("token" = [])),
    request_body = NewReading,
    responses((status = 202, body = Accepted), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn post_reading(
    State(state): State<AppState>,
    Extension(device): Extension<DeviceCaller>,
    Json(reading): Json<NewReading>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    if device.kind != "sensor" {
        return Err(ApiError::forbidden(
            "only sensors send readings; controllers poll commands",
        ));
    }
    let value: Value = serde_json::from_value(reading.value)
        .map_err(|e| ApiError::bad_request(format!("value: {e}")))?;
    let sequence = {
        let mut counters = state.devices.lock().expect("device counters");
        let seen = counters.entry(device.id.clone()).or_default();
        let sequence = reading.sequence.unwrap_or(seen.last_sequence + 1);
        seen.last_sequence = sequence;
        seen.readings += 1;
        seen.last_ms = now_ms();
        sequence
    };
    let record = ReadingRecord {
        id: format!("{}-{sequence}", device.id),
        sensor: device.id.clone(),
        sequence,
        timestamp_ms: reading.timestamp_ms.unwrap_or_else(now_ms),
        value,
    };
    let payload = serde_json::to_vec(&record).map_err(ApiError::internal)?;
    let bus = state.bus.clone();
    let topic = sensor_topic(&device.id);
    tokio::task::spawn_blocking(move || bus.publish(&topic, payload))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("{e}; retry later")))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            id: record.id,
            sequence,
        }),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Wait {
    /// How long to wait for a command, in milliseconds (at most 20000); default 20000.
    #[serde(default)]
    pub wait_ms: Option<u64>,
}

/// The next commands for this controller, waiting for one if there are none (controller devices).
#[utoipa::path(get, path = "/device/commands", tag = "devices", security(("token" = [])),
    params(Wait),
    responses((status = 200, body = Vec<Object>), (status = 403, body = ErrorBody)))]
pub async fn commands(
    State(state): State<AppState>,
    Extension(device): Extension<DeviceCaller>,
    Query(wait): Query<Wait>,
) -> ApiResult<Json<Vec<CommandRecord>>> {
    if device.kind != "controller" {
        return Err(ApiError::forbidden(
            "only controllers poll commands; sensors send readings",
        ));
    }
    let wait = wait
        .wait_ms
        .map_or(LONG_POLL, Duration::from_millis)
        .min(LONG_POLL);
    // Not under the lock: subscribing may wait on the bus, and other devices poll meanwhile.
    let kept = state.gateways.lock().await.remove(&device.id);
    let subscription = match kept {
        Some(subscription) => subscription,
        None => subscribe_commands(&state, &device.id).await?,
    };
    let (subscription, records) = tokio::task::spawn_blocking(move || {
        let mut subscription = subscription;
        let mut records = Vec::new();
        let mut timeout = wait;
        while let Some(delivery) = subscription.next(timeout) {
            if let Ok(record) = serde_json::from_slice::<CommandRecord>(&delivery.payload) {
                records.push(record);
            }
            subscription.commit(&delivery);
            // Once one arrived, take what else is there without waiting.
            timeout = Duration::ZERO;
            if records.len() >= 100 {
                break;
            }
        }
        (subscription, records)
    })
    .await
    .map_err(ApiError::internal)?;
    keep(&state, &device.id, subscription).await;
    Ok(Json(records))
}

/// Report the controller's state, e.g. `{"on": true, "speed": 2}` (controller devices).
#[utoipa::path(post, path = "/device/state", tag = "devices", security(("token" = [])),
    request_body(content = Object),
    responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn post_state(
    State(state): State<AppState>,
    Extension(device): Extension<DeviceCaller>,
    Json(reported): Json<serde_json::Value>,
) -> ApiResult<StatusCode> {
    if device.kind != "controller" {
        return Err(ApiError::forbidden("only controllers report a state"));
    }
    sqlx::query("UPDATE devices SET state = $1 WHERE id = $2")
        .bind(reported.to_string())
        .bind(&device.id)
        .execute(&state.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads controller `id`'s commands as the gateway's consumer group.
async fn subscribe_commands(state: &AppState, id: &str) -> ApiResult<Box<dyn Subscription>> {
    let bus = state.bus.clone();
    let topic = controller_topic(id);
    tokio::task::spawn_blocking(move || bus.subscribe(&topic, "gateway"))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("{e}; retry later")))
}

/// Keeps `subscription` as controller `id`'s reader, unless another request kept one first.
async fn keep(state: &AppState, id: &str, subscription: Box<dyn Subscription>) {
    let spare = {
        let mut gateways = state.gateways.lock().await;
        match gateways.entry(id.to_string()) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(subscription);
                None
            }
            std::collections::hash_map::Entry::Occupied(_) => Some(subscription),
        }
    };
    if let Some(spare) = spare {
        // Closing a reader commits what it handled, which may wait on the bus.
        let _ = tokio::task::spawn_blocking(move || drop(spare)).await;
    }
}

/// Starts keeping the commands of controller `id` for its device, from now on, so a command
/// sent before the device first polls is not lost. If the bus cannot be reached now, the
/// device's first poll subscribes instead, and commands sent before that are not kept.
pub async fn watch_controller(state: &AppState, id: &str) {
    if state.gateways.lock().await.contains_key(id) {
        return;
    }
    match subscribe_commands(state, id).await {
        Ok(subscription) => keep(state, id, subscription).await,
        Err(e) => tracing::warn!("watching controller {id}: {}", e.message),
    }
}

/// What the gateway has seen of a sensor since this process started.
#[derive(Clone, Debug, Default)]
pub struct SensorCounters {
    pub readings: u64,
    pub last_sequence: u64,
    pub last_ms: i64,
}

/// Counters by sensor id.
pub type DeviceCounters = HashMap<String, SensorCounters>;
