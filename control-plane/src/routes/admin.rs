//! Upkeep an admin may start by hand.

use axum::Json;
use axum::extract::State;
use trellis_protocol::api::Collected;

use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;

/// Remove now the stored artifacts no model or app version refers to, and the compiled
/// components and contracts no version refers to (this also runs periodically and after every
/// deletion). Artifacts of uploads in progress are kept. Answers what was removed and kept.
#[utoipa::path(post, path = "/admin/collect", tag = "admin", security(("token" = [])),
    responses((status = 200, body = Collected), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn collect(State(state): State<AppState>) -> ApiResult<Json<Collected>> {
    crate::collector::collect(&state).await.map(Json)
}
