//! Logging in and out.

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use trellis_protocol::api::{Login, Me, Session};

use super::json_body::json_body;
use crate::auth::login_limit::Refusal;
use crate::auth::policy::BearerToken;
use crate::auth::{Caller, Role, create_session, end_session};
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::rfc3339;
use crate::peer::Peer;
use crate::state::AppState;

/// Log in with a name and password; returns a session token. A disabled user is refused.
/// Attempts are limited per client address and per user name (429 with `Retry-After`).
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = Session), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many attempts from this address or \
            for this name; `Retry-After` says in how many seconds to try again",
            headers(("Retry-After" = u64, description = "seconds until an attempt is allowed")))))]
pub async fn login(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<Peer>>>,
    body: Result<Json<Login>, JsonRejection>,
) -> Result<Json<Session>, Response> {
    let login = json_body(body, "a login (`name` and `password`)").map_err(into_response)?;
    let address = client.map(|Extension(ConnectInfo(Peer(address)))| address.ip());
    // Counted before any work, so a guesser cannot spend the server's time either.
    if let Err(refusal) = state.logins.attempt(address, &login.name) {
        return Err(too_many(refusal));
    }
    let user = db::users::find_credentials(&state.db, &login.name)
        .await
        .map_err(into_response)?;
    let refused = || ApiError::unauthorized("wrong user name or password").into_response();
    // An unknown name is checked against a stand-in hash: the same work, the same wait.
    let matches = state
        .passwords
        .verify(
            login.password.clone(),
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await;
    let Some(db::users::Credentials {
        id,
        role,
        disabled_at,
        ..
    }) = user.filter(|_| matches)
    else {
        return Err(refused());
    };
    // Said only to someone who knows the password, so it tells a stranger nothing.
    if disabled_at.is_some() {
        return Err(ApiError::forbidden(format!(
            "user `{}` is disabled; an admin can enable it again (`trellis user enable {0}`)",
            login.name
        ))
        .into_response());
    }
    let (token, expires_at) = create_session(&state.db, &id, state.settings.session_ttl)
        .await
        .map_err(into_response)?;
    Ok(Json(Session {
        token,
        expires_at: rfc3339(expires_at),
        user: Me {
            name: login.name,
            role: Role::parse(&role)
                .ok_or_else(|| ApiError::internal("unknown role stored").into_response())?,
        },
    }))
}

fn into_response(error: impl Into<ApiError>) -> Response {
    error.into().into_response()
}

/// A 429 in the API's error shape, with `Retry-After` in whole seconds (rounded up).
fn too_many(refusal: Refusal) -> Response {
    let seconds = refusal.retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "too many login attempts for {}; try again in {seconds} s",
            refusal.what
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
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
