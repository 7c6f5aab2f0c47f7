//! Who gets a deployment's notifications (its owner sets e-mail addresses and webhooks), who
//! gets the admins' (node down), and the record of every delivery.

use std::collections::BTreeSet;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use trellis_protocol::api::{Delivery, NewRecipients, Recipients, Webhook};
use utoipa::IntoParams;

use super::deployments::visible;
use super::json_body::json_body;
use crate::auth::Caller;
use crate::db;
use crate::db::notification_deliveries::DeliveryRow;
use crate::db::notification_recipients::RecipientRow;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{now_ms, rfc3339};
use crate::state::AppState;

/// The most recipients one deployment (or the admins) may have.
pub const MAX_RECIPIENTS: usize = 20;

/// How many deliveries a listing answers unless asked for another number.
const DEFAULT_LISTED: i64 = 100;
const MAX_LISTED: i64 = 1000;

fn answer(rows: Vec<RecipientRow>) -> Recipients {
    let mut recipients = Recipients::default();
    for row in rows {
        match row.kind.as_str() {
            "email" => recipients.emails.push(row.target),
            _ => recipients.webhooks.push(Webhook { url: row.target }),
        }
    }
    recipients
}

/// Whether `host` (as a URL gives it) is this machine, a private or link-local network (cloud
/// metadata services live there), by name or literal address. Names that resolve there are not
/// caught.
fn is_private(host: &str) -> bool {
    let v4 = |ip: std::net::Ipv4Addr| {
        ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
    };
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    match literal.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => v4(ip),
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_unique_local()
                || ip.is_unicast_link_local()
                || ip.to_ipv4_mapped().is_some_and(v4)
        }
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

/// `new` as rows to store, or 400 naming the address or URL that is wrong. Webhooks on private
/// addresses only if `allow_private`.
fn checked(new: NewRecipients, allow_private: bool) -> ApiResult<Vec<RecipientRow>> {
    let count = new.emails.len() + new.webhooks.len();
    if count > MAX_RECIPIENTS {
        return Err(ApiError::bad_request(format!(
            "{count} recipients; at most {MAX_RECIPIENTS} are allowed"
        )));
    }
    let mut rows = Vec::with_capacity(count);
    let mut seen = BTreeSet::new();
    for (i, email) in new.emails.into_iter().enumerate() {
        let email = email.trim().to_string();
        email.parse::<lettre::Address>().map_err(|e| {
            ApiError::bad_request(format!(
                "emails[{i}]: `{email}` is not an e-mail address: {e}"
            ))
        })?;
        if !seen.insert(email.to_lowercase()) {
            return Err(ApiError::bad_request(format!(
                "emails[{i}]: `{email}` is listed twice"
            )));
        }
        rows.push(RecipientRow {
            kind: "email".into(),
            target: email,
            secret: None,
        });
    }
    for (i, hook) in new.webhooks.into_iter().enumerate() {
        let url = reqwest::Url::parse(hook.url.trim()).map_err(|e| {
            ApiError::bad_request(format!(
                "webhooks[{i}].url: `{}` is not a URL: {e}",
                hook.url
            ))
        })?;
        let Some(host) = url
            .host_str()
            .filter(|_| matches!(url.scheme(), "http" | "https"))
        else {
            return Err(ApiError::bad_request(format!(
                "webhooks[{i}].url: `{url}` is not an http:// or https:// URL"
            )));
        };
        if !allow_private && is_private(host) {
            return Err(ApiError::bad_request(format!(
                "webhooks[{i}].url: `{url}` is on this machine or a private network; only an \
                 admin may name such a webhook (or start the control plane with \
                 --allow-private-webhooks)"
            )));
        }
        if hook.secret.is_empty() {
            return Err(ApiError::bad_request(format!(
                "webhooks[{i}].secret: empty; receivers verify the signature with it"
            )));
        }
        if !seen.insert(url.to_string()) {
            return Err(ApiError::bad_request(format!(
                "webhooks[{i}].url: `{url}` is listed twice"
            )));
        }
        rows.push(RecipientRow {
            kind: "webhook".into(),
            target: url.to_string(),
            secret: Some(hook.secret),
        });
    }
    Ok(rows)
}

/// Who gets the deployment's notifications (webhook secrets are not shown).
#[utoipa::path(get, path = "/deployments/{id}/recipients", tag = "notifications",
    security(("token" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Recipients), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn deployment_recipients(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Recipients>> {
    visible(&state, &caller, &id).await?;
    let rows = db::notification_recipients::of(&state.db, Some(&id)).await?;
    Ok(Json(answer(rows)))
}

/// Set who gets the deployment's notifications: e-mail addresses and webhooks (each with the
/// secret its `X-Trellis-Signature` is made with), replacing whoever did before. Its owner or
/// an admin.
#[utoipa::path(put, path = "/deployments/{id}/recipients", tag = "notifications",
    security(("token" = [])), params(("id" = String, Path)), request_body = NewRecipients,
    responses((status = 200, body = Recipients),
        (status = 400, description = "An address or URL is not valid; the message names it", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "Not recipients", body = ErrorBody)))]
pub async fn set_deployment_recipients(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Result<Json<NewRecipients>, JsonRejection>,
) -> ApiResult<Json<Recipients>> {
    visible(&state, &caller, &id).await?;
    let allow_private = state.settings.allow_private_webhooks || caller.is_admin();
    let rows = checked(json_body(body, "recipients")?, allow_private)?;
    db::notification_recipients::replace(&state.db, Some(&id), &rows, now_ms()).await?;
    Ok(Json(answer(rows)))
}

/// Who gets the admins' notifications (a node went down).
#[utoipa::path(get, path = "/admin/recipients", tag = "notifications", security(("token" = [])),
    responses((status = 200, body = Recipients), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn admin_recipients(State(state): State<AppState>) -> ApiResult<Json<Recipients>> {
    let rows = db::notification_recipients::of(&state.db, None).await?;
    Ok(Json(answer(rows)))
}

/// Set who gets the admins' notifications, replacing whoever did before.
#[utoipa::path(put, path = "/admin/recipients", tag = "notifications", security(("token" = [])),
    request_body = NewRecipients,
    responses((status = 200, body = Recipients),
        (status = 400, description = "An address or URL is not valid; the message names it", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Not recipients", body = ErrorBody)))]
pub async fn set_admin_recipients(
    State(state): State<AppState>,
    body: Result<Json<NewRecipients>, JsonRejection>,
) -> ApiResult<Json<Recipients>> {
    let rows = checked(json_body(body, "recipients")?, true)?;
    db::notification_recipients::replace(&state.db, None, &rows, now_ms()).await?;
    Ok(Json(answer(rows)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Listing {
    /// How many of the newest deliveries (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<i64>,
}

fn limit_of(listing: Result<Query<Listing>, QueryRejection>) -> ApiResult<i64> {
    let Query(listing) = listing
        .map_err(|e| ApiError::bad_request(format!("the query is not valid: {}", e.body_text())))?;
    match listing.limit {
        None => Ok(DEFAULT_LISTED),
        Some(n) if (1..=MAX_LISTED).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(format!(
            "limit: {n} is not between 1 and {MAX_LISTED}"
        ))),
    }
}

fn delivery(row: DeliveryRow) -> Delivery {
    Delivery {
        id: row.id,
        deployment: row.deployment_id,
        source: row.source,
        urgency: serde_json::from_value(row.urgency.into()).unwrap_or_default(),
        title: row.title,
        channel: row.channel,
        target: row.target,
        status: row.status,
        error: row.error,
        attempts: row.attempts.max(0) as u32,
        created_at: rfc3339(row.created_at),
        finished_at: rfc3339(row.finished_at),
    }
}

/// The deployment's notifications as delivered to each recipient (or not, and why), newest
/// first.
#[utoipa::path(get, path = "/deployments/{id}/notifications", tag = "notifications",
    security(("token" = [])), params(("id" = String, Path), Listing),
    responses((status = 200, body = Vec<Delivery>),
        (status = 400, description = "`limit` is out of range", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn deployment_deliveries(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    listing: Result<Query<Listing>, QueryRejection>,
) -> ApiResult<Json<Vec<Delivery>>> {
    visible(&state, &caller, &id).await?;
    let rows = db::notification_deliveries::of(&state.db, Some(&id), limit_of(listing)?).await?;
    Ok(Json(rows.into_iter().map(delivery).collect()))
}

/// The admins' notifications as delivered to each recipient, newest first.
#[utoipa::path(get, path = "/admin/notifications", tag = "notifications",
    security(("token" = [])), params(Listing),
    responses((status = 200, body = Vec<Delivery>),
        (status = 400, description = "`limit` is out of range", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn admin_deliveries(
    State(state): State<AppState>,
    listing: Result<Query<Listing>, QueryRejection>,
) -> ApiResult<Json<Vec<Delivery>>> {
    let rows = db::notification_deliveries::of(&state.db, None, limit_of(listing)?).await?;
    Ok(Json(rows.into_iter().map(delivery).collect()))
}

#[cfg(test)]
mod tests {
    use super::is_private;

    #[test]
    fn private_hosts_are_told_from_public_ones() {
        for host in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "[::1]",
            "[fd00::1]",
            "[fe80::1]",
            "[::ffff:10.0.0.1]",
            "localhost",
            "api.localhost",
        ] {
            assert!(is_private(host), "{host}");
        }
        for host in [
            "93.184.216.34",
            "[2001:db8::1]",
            "hooks.school.example",
            "172.32.0.1",
        ] {
            assert!(!is_private(host), "{host}");
        }
    }
}
