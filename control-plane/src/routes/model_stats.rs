//! `GET /models/{name}/stats`: each version's requests and latency over the last minutes, as
//! the control plane measured its predictions, so a model's live view starts filled.

use axum::Json;
use axum::extract::{Path, State};
use trellis_protocol::live::{ModelStats, VersionStats};

use crate::db;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::now_ms;
use crate::live::model_stats::WINDOW_MS;
use crate::state::AppState;

/// Request count, mean and 95th-percentile latency of each version's predictions (through
/// `POST /models/{name}/{version}/predict`) over the last 5 minutes; versions without requests
/// show 0 and no latency.
#[utoipa::path(get, path = "/models/{name}/stats", tag = "models", security(("token" = [])),
    params(("name" = String, Path)),
    responses((status = 200, body = ModelStats), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn stats(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<ModelStats>> {
    let stored = db::models::versions(&state.db, &name).await?;
    if stored.is_empty() {
        return Err(ApiError::not_found(format!("no model `{name}`")));
    }
    let measured = state.live.models.of(&name, now_ms());
    let versions = stored
        .into_iter()
        .map(|row| {
            measured
                .iter()
                .find(|v| v.version == row.version)
                .cloned()
                .unwrap_or(VersionStats {
                    version: row.version,
                    requests: 0,
                    mean_latency_ms: None,
                    p95_latency_ms: None,
                })
        })
        .collect();
    Ok(Json(ModelStats {
        model: name,
        window_s: (WINDOW_MS / 1000) as u64,
        versions,
    }))
}
