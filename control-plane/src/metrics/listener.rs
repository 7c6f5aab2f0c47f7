//! `--metrics-listen`: `/metrics` on an address of its own, for operators who keep scrapes off
//! the API's listener (a private interface, say). There it needs the metrics token only if one
//! is configured; the network it listens on is the operator's access control.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::auth::token_hash;
use crate::error::ApiError;
use crate::state::AppState;

/// The router of the metrics listener: `GET /metrics` and nothing else.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(serve))
        .with_state(state)
}

async fn serve(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.settings.metrics_token {
        let sent = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| token_hash(token.trim()));
        if sent != Some(token_hash(expected)) {
            return ApiError::unauthorized(
                "send the metrics token (--metrics-token) as `Authorization: Bearer <token>`",
            )
            .into_response();
        }
    }
    crate::routes::metrics::render(&state).await.into_response()
}
