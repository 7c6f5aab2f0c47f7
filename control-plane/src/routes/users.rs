//! Users, managed by admins: created with a role, their role changed, disabled and enabled;
//! and passwords, which each user changes for themselves and an admin may reset for anyone.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use trellis_protocol::api::{NewUser, PasswordChange, User, UserChange};

use super::json_body::JsonBody;
use super::names::check_name;
use crate::auth::{Caller, Role};
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
    JsonBody(user): JsonBody<NewUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    check_name("name", &user.name)?;
    check_password("password", &user.password)?;
    let created_at = insert_user(&state, &user.name, &user.password, user.role)
        .await
        .map_err(|e| ApiError::already_exists(e, "user", &user.name))?;
    Ok((
        StatusCode::CREATED,
        Json(User {
            name: user.name,
            role: user.role,
            created_at: rfc3339(created_at),
            disabled: false,
        }),
    ))
}

/// Change a user's role, or disable or enable them. Disabling ends every session of theirs at
/// once; a role change holds from their next request. The last enabled admin can be neither
/// demoted nor disabled.
#[utoipa::path(patch, path = "/users/{name}", tag = "users", security(("token" = [])),
    params(("name" = String, Path)), request_body = UserChange,
    responses((status = 200, body = User), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn change(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(change): JsonBody<UserChange>,
) -> ApiResult<Json<User>> {
    if change.role.is_none() && change.disabled.is_none() {
        return Err(ApiError::bad_request(
            "give `role`, `disabled` or both: there is nothing else to change",
        ));
    }
    let user = find_user(&state, &name).await?;
    let role = Role::parse(&user.role).ok_or_else(|| ApiError::internal("unknown role stored"))?;
    let new_role = change.role.unwrap_or(role);
    let disabled_at = match change.disabled {
        None => user.disabled_at,
        Some(false) => None,
        // Disabling a disabled user keeps when it first happened.
        Some(true) => user.disabled_at.or(Some(now_ms())),
    };
    let was_admin = role == Role::Admin && user.disabled_at.is_none();
    let stays_admin = new_role == Role::Admin && disabled_at.is_none();
    let keep_an_admin = was_admin && !stays_admin;
    if !db::users::set_account(&state.db, &user.id, new_role, disabled_at, keep_an_admin).await? {
        return Err(ApiError::conflict(format!(
            "`{name}` is the last enabled admin: make another user an admin (or enable one) first, \
             so someone can still manage users"
        )));
    }
    if disabled_at.is_some() {
        db::sessions::delete_for_user(&state.db, &user.id, None).await?;
    }
    Ok(Json(User {
        name: user.name,
        role: new_role,
        created_at: rfc3339(user.created_at),
        disabled: disabled_at.is_some(),
    }))
}

/// Set a user's password. Your own needs `current_password`; an admin sets anyone else's
/// without it. Every other session of the user ends, so a stolen session does not outlive the
/// password it was opened with.
#[utoipa::path(put, path = "/users/{name}/password", tag = "users", security(("token" = [])),
    params(("name" = String, Path)), request_body = PasswordChange,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn set_password(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    JsonBody(change): JsonBody<PasswordChange>,
) -> ApiResult<StatusCode> {
    let own = name == caller.name;
    if !own && !caller.is_admin() {
        return Err(ApiError::forbidden(format!(
            "a {} may change only their own password",
            caller.role.as_str()
        )));
    }
    check_password("new_password", &change.new_password)?;
    let user = find_user(&state, &name).await?;
    if own {
        let current = change.current_password.ok_or_else(|| {
            ApiError::bad_request("current_password: needed to change your own password")
        })?;
        let hash = db::users::password_hash(&state.db, &user.id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no user `{name}`")))?;
        let matches = state.passwords.verify(current, Some(hash)).await;
        if !matches {
            return Err(ApiError::forbidden(
                "current_password: that is not your current password",
            ));
        }
    }
    let hash = hash(&state, change.new_password).await?;
    db::users::set_password(&state.db, &user.id, &hash).await?;
    let keep = own.then_some(caller.session_id.as_str());
    db::sessions::delete_for_user(&state.db, &user.id, keep).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn find_user(state: &AppState, name: &str) -> ApiResult<db::users::UserRow> {
    db::users::find(&state.db, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user `{name}`")))
}

/// The password rules, said of the input `field`: every password set anywhere passes them.
pub(crate) fn check_password(field: &str, password: &str) -> ApiResult<()> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::bad_request(format!(
            "{field}: use at least {MIN_PASSWORD} characters"
        )));
    }
    Ok(())
}

/// argon2 takes tens of milliseconds on purpose; run in the bounded password pool.
async fn hash(state: &AppState, password: String) -> ApiResult<String> {
    state
        .passwords
        .hash(password)
        .await
        .map_err(ApiError::internal)
}

/// Adds a user; returns when it was created.
pub async fn insert_user(
    state: &AppState,
    name: &str,
    password: &str,
    role: Role,
) -> ApiResult<i64> {
    let hash = hash(state, password.to_string()).await?;
    let created_at = now_ms();
    db::users::insert(&state.db, &new_id("usr"), name, role, &hash, created_at).await?;
    Ok(created_at)
}
