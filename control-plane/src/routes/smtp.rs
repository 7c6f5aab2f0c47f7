//! The SMTP server notifications are mailed through, which an admin sets once. Its password is
//! stored to log in with and never answered.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use lettre::message::Mailbox;
use trellis_protocol::api::{SmtpSecurity, SmtpServer, SmtpSettings};

use super::json_body::json_body;
use crate::db;
use crate::db::smtp_settings::SmtpRow;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{now_ms, rfc3339};
use crate::notify::email::is_loopback;
use crate::state::AppState;

fn answer(row: SmtpRow) -> ApiResult<SmtpServer> {
    Ok(SmtpServer {
        host: row.host,
        port: u16::try_from(row.port).map_err(ApiError::internal)?,
        security: row.security.parse().map_err(ApiError::internal)?,
        username: row.username,
        password_set: row.password.is_some(),
        from: row.sender,
        updated_at: rfc3339(row.updated_at),
    })
}

/// The SMTP server notifications are mailed through (without its password).
#[utoipa::path(get, path = "/admin/smtp", tag = "notifications", security(("token" = [])),
    responses((status = 200, body = SmtpServer), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No SMTP server is set", body = ErrorBody)))]
pub async fn get(State(state): State<AppState>) -> ApiResult<Json<SmtpServer>> {
    let row = db::smtp_settings::get(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("no SMTP server is set: `trellis notify smtp set`"))?;
    answer(row).map(Json)
}

/// Set the SMTP server. `security` is `starttls` (default) or `tls`, or `none` for a server on
/// this machine only. A password left out is kept while the username stays the same.
#[utoipa::path(put, path = "/admin/smtp", tag = "notifications", security(("token" = [])),
    request_body = SmtpSettings,
    responses((status = 200, body = SmtpServer),
        (status = 400, description = "A setting is not valid; the message names it", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Not SMTP settings", body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    body: Result<Json<SmtpSettings>, JsonRejection>,
) -> ApiResult<Json<SmtpServer>> {
    let new = json_body(body, "SMTP settings")?;
    check(&new)?;
    let stored = db::smtp_settings::get(&state.db).await?;
    let password = match (&new.password, &new.username) {
        (Some(password), _) => Some(password.clone()),
        (None, Some(user)) => stored
            .filter(|s| s.username.as_ref() == Some(user))
            .and_then(|s| s.password),
        (None, None) => None,
    };
    let row = SmtpRow {
        host: new.host,
        port: i64::from(new.port),
        security: new.security.as_str().into(),
        username: new.username,
        password,
        sender: new.from,
        updated_at: now_ms(),
    };
    db::smtp_settings::put(&state.db, &row).await?;
    answer(row).map(Json)
}

/// Forget the SMTP server: e-mail notifications fail (recorded so) until one is set again.
#[utoipa::path(delete, path = "/admin/smtp", tag = "notifications", security(("token" = [])),
    responses((status = 204, description = "Forgotten"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No SMTP server is set", body = ErrorBody)))]
pub async fn delete(State(state): State<AppState>) -> ApiResult<StatusCode> {
    if db::smtp_settings::delete(&state.db).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no SMTP server is set"))
    }
}

fn check(new: &SmtpSettings) -> ApiResult<()> {
    if new.host.trim().is_empty() || new.host.contains(char::is_whitespace) {
        return Err(ApiError::bad_request(format!(
            "host: `{}` is not a host name or address",
            new.host
        )));
    }
    if new.port == 0 {
        return Err(ApiError::bad_request("port: 0 is not a port"));
    }
    if new.security == SmtpSecurity::None && !is_loopback(&new.host) {
        return Err(ApiError::bad_request(format!(
            "security: `none` sends mail and passwords unencrypted, so it is only for a server on \
             this machine (127.0.0.1, ::1, localhost); use `starttls` or `tls` for {}",
            new.host
        )));
    }
    if new.password.is_some() && new.username.is_none() {
        return Err(ApiError::bad_request(
            "password: given without a username to log in with",
        ));
    }
    new.from.parse::<Mailbox>().map_err(|e| {
        ApiError::bad_request(format!(
            "from: `{}` is not an e-mail address: {e}",
            new.from
        ))
    })?;
    Ok(())
}
