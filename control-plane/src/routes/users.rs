//! Users, managed by admins.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use trellis_protocol::api::{NewUser, User};

use super::names::check_name;
use crate::auth::{Role, hash_password};
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{new_id, now_ms, rfc3339};
use crate::state::AppState;

/// The shortest password accepted.
const MIN_PASSWORD: usize = 8;

/// List users.
#[utoipa::path(get, path = "/users", tag = "users", security(("token" = [])),
    responses((status = 200, body = Vec<User>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<User>>> {
    let rows = db::users::list(&state.db).await?;
    Ok(Json(
        rows.into_iter()
            .filter_map(db::users::UserRow::into_api)
            .collect(),
    ))
}

/// Create a user with a role.
#[utoipa::path(post, path = "/users", tag = "users", security(("token" = [])), request_body = NewUser,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Json(user): Json<NewUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    check_name("name", &user.name)?;
    if user.password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::bad_request(format!(
            "password: use at least {MIN_PASSWORD} characters"
        )));
    }
    let created_at = insert_user(&state, &user.name, &user.password, user.role)
        .await
        .map_err(|e| ApiError::already_exists(e, "user", &user.name))?;
    Ok((
        StatusCode::CREATED,
        Json(User {
            name: user.name,
            role: user.role,
            created_at: rfc3339(created_at),
        }),
    ))
}

/// Adds a user; returns when it was created.
pub async fn insert_user(
    state: &AppState,
    name: &str,
    password: &str,
    role: Role,
) -> ApiResult<i64> {
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let created_at = now_ms();
    db::users::insert(&state.db, &new_id("usr"), name, role, &hash, created_at).await?;
    Ok(created_at)
}
