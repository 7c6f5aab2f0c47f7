//! Login sessions: each user lists theirs and revokes any of them (a lost laptop's, say); an
//! admin may list and revoke anyone's. Sessions are named by an id, never by their token.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use trellis_protocol::api::ActiveSession;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::db;
use crate::db::sessions::SessionRow;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{now_ms, rfc3339};
use crate::state::AppState;

/// Whose sessions to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Whose {
    /// A user's name (admins, for anyone but themselves), or `*` for everyone's (admins);
    /// default: the caller's own.
    pub user: Option<String>,
}

fn to_api(row: SessionRow, caller: &Caller) -> ActiveSession {
    ActiveSession {
        current: row.id == caller.session_id,
        id: row.id,
        user: row.user_name,
        created_at: row.created_at.map(rfc3339),
        last_used_at: row.last_used_at.map(rfc3339),
        expires_at: rfc3339(row.expires_at),
    }
}

/// Live sessions: the caller's own, or (admins) a user's or everyone's.
#[utoipa::path(get, path = "/auth/sessions", tag = "auth", security(("token" = [])),
    params(Whose),
    responses((status = 200, body = Vec<ActiveSession>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(whose): Query<Whose>,
) -> ApiResult<Json<Vec<ActiveSession>>> {
    let user_id = match whose.user.as_deref() {
        None => Some(caller.user_id.clone()),
        Some(name) if name == caller.name => Some(caller.user_id.clone()),
        Some(_) if !caller.is_admin() => {
            return Err(ApiError::forbidden(format!(
                "a {} may list only their own sessions",
                caller.role.as_str()
            )));
        }
        Some("*") => None,
        Some(name) => Some(
            db::users::find(&state.db, name)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("user: no user `{name}`")))?
                .id,
        ),
    };
    let rows = db::sessions::list(&state.db, user_id.as_deref(), now_ms()).await?;
    Ok(Json(rows.into_iter().map(|r| to_api(r, &caller)).collect()))
}

/// End a session at once: one of the caller's own, or (admins) anyone's.
#[utoipa::path(delete, path = "/auth/sessions/{id}", tag = "auth", security(("token" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let session = db::sessions::find(&state.db, &id, now_ms()).await?;
    // Someone else's session is as good as missing to a non-admin: ids are not to be probed.
    match session {
        Some(session) if session.user_id == caller.user_id || caller.is_admin() => {
            db::sessions::delete_by_id(&state.db, &session.id).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        _ if caller.is_admin() => Err(ApiError::not_found(format!("no live session `{id}`"))),
        _ => Err(ApiError::not_found(format!(
            "no live session `{id}` of yours; `trellis session list` shows them"
        ))),
    }
}
