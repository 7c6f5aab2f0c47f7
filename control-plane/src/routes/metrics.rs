//! `GET /metrics`: every family of [`crate::metrics::PlaneMetrics`] in the Prometheus text
//! format, for Prometheus to scrape with the metrics token (`--metrics-token`) as its bearer
//! token, or for an admin with their session. It sits beside `/api/v1`, where scrapers look.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;

use crate::error::{ApiResult, ErrorBody};
use crate::metrics::CONTENT_TYPE as TEXT_FORMAT;
use crate::state::AppState;

/// Prometheus metrics in the text format (the metrics token, or an admin's session).
#[utoipa::path(get, path = "/metrics", tag = "metrics", security(("token" = [])),
    responses((status = 200, description = "Every metric family, Prometheus text format 0.0.4",
            content_type = "text/plain", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn serve(
    State(state): State<AppState>,
) -> ApiResult<([(&'static str, &'static str); 1], String)> {
    render(&state).await
}

/// The text a scrape gets, with its content type.
pub async fn render(state: &AppState) -> ApiResult<([(&'static str, &'static str); 1], String)> {
    let text = state.metrics.render(state).await?;
    Ok(([(CONTENT_TYPE.as_str(), TEXT_FORMAT)], text))
}
