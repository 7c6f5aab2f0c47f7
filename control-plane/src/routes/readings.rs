//! A sensor's history: its stored readings over a range, downsampled on the server when the
//! range holds more than the points asked for.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use trellis_protocol::api::{HistoryQuery, ReadingHistory};

use super::devices::may_use;
use super::logs::moment;
use crate::auth::Caller;
use crate::db;
use crate::db::devices::DeviceKind;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::now_ms;
use crate::readings::history::{self, DEFAULT_POINTS, MAX_POINTS};
use crate::state::AppState;

/// A sensor's readings over a range: the readings themselves when there are at most `points`,
/// else `points` time buckets with the count, min, mean and max of each.
#[utoipa::path(get, path = "/sensors/{id}/readings", tag = "registry", security(("token" = [])),
    params(("id" = String, Path), HistoryQuery),
    responses((status = 200, body = ReadingHistory), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> ApiResult<Json<ReadingHistory>> {
    let Query(query) = query.map_err(|e| unprocessable(format!("query: {}", e.body_text())))?;
    let now = now_ms();
    let since = query
        .since
        .as_deref()
        .map(|t| moment("since", t, now))
        .transpose()?;
    let until = query
        .until
        .as_deref()
        .map(|t| moment("until", t, now))
        .transpose()?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(unprocessable("until: must come after since".to_string()));
    }
    let points = query.points.unwrap_or(DEFAULT_POINTS);
    if !(1..=MAX_POINTS).contains(&points) {
        return Err(unprocessable(format!(
            "points: {points} is not within 1..={MAX_POINTS}"
        )));
    }
    let sensor = db::devices::find(&state.db, DeviceKind::Sensor, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no sensor `{id}`")))?
        .into_api()?;
    if !may_use(&caller, &sensor) {
        return Err(ApiError::forbidden(format!(
            "sensor `{}` ({id}) is reserved for other users; ask a platform configurer to add you",
            sensor.name
        )));
    }
    state.readings.flush().await;
    Ok(Json(
        history::read(&state.db, &id, since, until, points).await?,
    ))
}

fn unprocessable(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}
