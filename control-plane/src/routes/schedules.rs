//! `GET /schedules/preview`: the next start times of a cron expression, read by the same parser
//! deployments' schedules are, so a deploy form can show them before anything is deployed.

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use chrono::{SecondsFormat, Utc};
use serde::Deserialize;
use trellis_protocol::live::SchedulePreview;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::schedule::parse_cron;

/// The most start times one preview lists.
const MAX_COUNT: usize = 100;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewParams {
    /// A five-field cron expression, in UTC, e.g. `0 8 * * MON-FRI`.
    pub cron: String,
    /// How many start times (1 to 100); 5 unless given.
    pub count: Option<usize>,
}

fn unprocessable(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// The next start times of a cron expression (RFC 3339, UTC), soonest first.
#[utoipa::path(get, path = "/schedules/preview", tag = "deployments", security(("token" = [])),
    params(PreviewParams),
    responses((status = 200, body = SchedulePreview), (status = 401, body = ErrorBody),
        (status = 422, description = "A cron expression that does not parse, or a count out of range", body = ErrorBody)))]
pub async fn preview(
    query: Result<Query<PreviewParams>, QueryRejection>,
) -> ApiResult<Json<SchedulePreview>> {
    let Query(params) = query.map_err(|e| unprocessable(format!("query: {}", e.body_text())))?;
    let count = params.count.unwrap_or(5);
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(unprocessable(format!(
            "count: {count} is not between 1 and {MAX_COUNT}"
        )));
    }
    let cron = parse_cron(&params.cron).map_err(unprocessable)?;
    let mut starts = Vec::with_capacity(count);
    let mut from = Utc::now();
    while starts.len() < count {
        // An expression that never fires again (a date that does not come) ends the list.
        let Ok(next) = cron.find_next_occurrence(&from, false) else {
            break;
        };
        starts.push(next.to_rfc3339_opts(SecondsFormat::Secs, true));
        from = next;
    }
    Ok(Json(SchedulePreview {
        cron: params.cron,
        starts,
    }))
}
