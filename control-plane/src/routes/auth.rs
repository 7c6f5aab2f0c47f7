//! Logging in and out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use trellis_protocol::api::{Login, Me, Session};

use crate::auth::policy::BearerToken;
use crate::auth::{Caller, Role, create_session, end_session, verify_password};
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::rfc3339;
use crate::state::AppState;
use super::json_body::JsonBody;

/// Log in with a name and password; returns a session token. A disabled user is refused.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = Session), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    JsonBody(login): JsonBody<Login>,
) -> ApiResult<Json<Session>> {
    let user = db::users::find_credentials(&state.db, &login.name).await?;
    let refused = || ApiError::unauthorized("wrong user name or password");
    let db::users::Credentials {
        id,
        role,
        password_hash,
        disabled_at,
    } = user.ok_or_else(refused)?;
    let password = login.password.clone();
    // argon2 takes tens of milliseconds on purpose; keep it off the async workers.
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &password_hash))
        .await
        .map_err(ApiError::internal)?;
    if !matches {
        return Err(refused());
    }
    // Said only to someone who knows the password, so it tells a stranger nothing.
    if disabled_at.is_some() {
        return Err(ApiError::forbidden(format!(
            "user `{}` is disabled; an admin can enable it again (`trellis user enable {0}`)",
            login.name
        )));
    }
    let (token, expires_at) = create_session(&state.db, &id, state.settings.session_ttl).await?;
    Ok(Json(Session {
        token,
        expires_at: rfc3339(expires_at),
        user: Me {
            name: login.name,
            role: Role::parse(&role).ok_or_else(|| ApiError::internal("unknown role stored"))?,
        },
    }))
}

/// End the session of the token sent.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("token" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    Extension(token): Extension<BearerToken>,
) -> ApiResult<StatusCode> {
    end_session(&state.db, &token.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("token" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(Extension(caller): Extension<Caller>) -> Json<Me> {
    Json(Me {
        name: caller.name,
        role: caller.role,
    })
}
