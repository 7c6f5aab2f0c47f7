//! The device gateway's endpoints: sensors that do not speak Kafka post readings over HTTP, and
//! controllers long-poll their commands and report their state, each with the token issued when
//! a platform configurer registered it. The [`crate::gateway::DeviceGateway`] does the work.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use trellis_protocol::Value;
use trellis_protocol::api::{Accepted, NewReading};
use trellis_protocol::live::LiveEvent;
use trellis_protocol::record::CommandRecord;
use utoipa::IntoParams;

use crate::auth::policy::DeviceCaller;
use crate::db;
use crate::db::controller_commands::SentCommandRow;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{now_ms, rfc3339};
use crate::state::AppState;
use super::json_body::JsonBody;

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
    JsonBody(reading): JsonBody<NewReading>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    if device.kind != "sensor" {
        return Err(ApiError::forbidden(
            "only sensors send readings; controllers poll commands",
        ));
    }
    let value: Value = serde_json::from_value(reading.value)
        .map_err(|e| ApiError::bad_request(format!("value: {e}")))?;
    let accepted = state
        .gateway
        .accept_reading(&device.id, value, reading.sequence, reading.timestamp_ms)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
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
    let records = state.gateway.commands(&device.id, wait).await?;
    let handed = now_ms();
    let sent: Vec<SentCommandRow> = records
        .iter()
        .map(|record| SentCommandRow {
            controller_id: device.id.clone(),
            at: handed,
            deployment_id: record.deployment.clone(),
            command: serde_json::to_string(&record.command).unwrap_or_default(),
        })
        .collect();
    // The commands are the controller's now; failing to note them must not lose them.
    if let Err(e) = db::controller_commands::insert(&state.db, &sent).await {
        tracing::warn!("noting the commands handed to {}: {e}", device.id);
    }
    Ok(Json(records))
}

/// Report the controller's state, e.g. `{"on": true, "speed": 2}` (controller devices).
#[utoipa::path(post, path = "/device/state", tag = "devices", security(("token" = [])),
    request_body(content = Object),
    responses((status = 204), (status = 403, body = ErrorBody)))]
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
