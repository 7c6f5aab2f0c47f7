//! The authorization table: every endpoint, and who may call it. A request to an endpoint that is
//! not in the table is refused, so a new route is closed until someone decides who may use it.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use trellis_web::session::{CSRF_HEADER, csrf_token, session_cookie};

use super::Role::{self, *};
use super::session::{find_caller, token_hash};
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without logging in.
    Public,
    /// Any logged-in user.
    Authenticated,
    /// Admins and these roles.
    Roles(&'static [Role]),
    /// Node daemons, with the token their node was registered with.
    Node,
    /// Sensor and controller devices, with the token their instance was registered with.
    Device,
    /// Prometheus, with the metrics token the operator configured (`--metrics-token`); admins
    /// with their session too.
    Metrics,
}

impl Access {
    /// Whether a logged-in user with `role` may call the endpoint.
    pub fn allows(self, role: Role) -> bool {
        match self {
            Access::Public | Access::Authenticated => true,
            Access::Roles(roles) => role == Admin || roles.contains(&role),
            Access::Metrics => role == Admin,
            Access::Node | Access::Device => false,
        }
    }
}

const CONFIGURERS: Access = Access::Roles(&[PlatformConfigurer]);
const ANYONE: Access = Access::Authenticated;
const JOB_USERS: Access = Access::Roles(&[EndUser, DataScientist]);

/// Whether `method` only reads, so it needs no cross-site-request token.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a cookie-signed request carries the cross-site-request token of its session.
fn csrf_matches(request: &Request, session_token: &str) -> bool {
    request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|sent| sent == csrf_token(session_token))
}

/// (method, path as routed, access) for every endpoint of the API.
pub const POLICY: &[(&str, &str, Access)] = &[
    ("POST", "/api/v1/auth/login", Access::Public),
    ("POST", "/api/v1/auth/logout", ANYONE),
    ("GET", "/api/v1/auth/me", ANYONE),
    // Anyone's own; the handlers let only admins reach other users' sessions.
    ("GET", "/api/v1/auth/sessions", ANYONE),
    ("DELETE", "/api/v1/auth/sessions/{id}", ANYONE),
    ("GET", "/api/v1/users", Access::Roles(&[])),
    ("POST", "/api/v1/users", Access::Roles(&[])),
    ("PATCH", "/api/v1/users/{name}", Access::Roles(&[])),
    // Anyone's own; the handler lets only admins set another user's.
    ("PUT", "/api/v1/users/{name}/password", ANYONE),
    ("GET", "/api/v1/sensor-types", ANYONE),
    ("POST", "/api/v1/sensor-types", CONFIGURERS),
    ("GET", "/api/v1/sensor-types/{name}", ANYONE),
    ("GET", "/api/v1/controller-types", ANYONE),
    ("POST", "/api/v1/controller-types", CONFIGURERS),
    ("GET", "/api/v1/controller-types/{name}", ANYONE),
    ("GET", "/api/v1/sensors", ANYONE),
    ("POST", "/api/v1/sensors", CONFIGURERS),
    ("GET", "/api/v1/sensors/{id}", ANYONE),
    ("POST", "/api/v1/sensors/{id}/token", CONFIGURERS),
    ("PUT", "/api/v1/sensors/{id}/users", CONFIGURERS),
    ("GET", "/api/v1/controllers", ANYONE),
    ("POST", "/api/v1/controllers", CONFIGURERS),
    ("GET", "/api/v1/controllers/{id}", ANYONE),
    ("POST", "/api/v1/controllers/{id}/token", CONFIGURERS),
    ("PUT", "/api/v1/controllers/{id}/users", CONFIGURERS),
    ("GET", "/api/v1/nodes", CONFIGURERS),
    ("POST", "/api/v1/nodes", CONFIGURERS),
    ("DELETE", "/api/v1/nodes/{id}", CONFIGURERS),
    ("POST", "/api/v1/nodes/{id}/token", CONFIGURERS),
    ("POST", "/api/v1/nodes/{id}/drain", CONFIGURERS),
    ("POST", "/api/v1/nodes/{id}/undrain", CONFIGURERS),
    ("GET", "/api/v1/models", ANYONE),
    ("POST", "/api/v1/models", Access::Roles(&[DataScientist])),
    ("GET", "/api/v1/models/{name}", ANYONE),
    ("POST", "/api/v1/models/{name}/{version}/predict", ANYONE),
    // Owners only (and admins): the handler checks who owns the name.
    (
        "DELETE",
        "/api/v1/models/{name}/{version}",
        Access::Roles(&[DataScientist]),
    ),
    ("GET", "/api/v1/apps", ANYONE),
    ("POST", "/api/v1/apps", Access::Roles(&[AppDeveloper])),
    ("GET", "/api/v1/apps/{name}", ANYONE),
    (
        "DELETE",
        "/api/v1/apps/{name}/{version}",
        Access::Roles(&[AppDeveloper]),
    ),
    ("GET", "/api/v1/deployments", ANYONE),
    ("POST", "/api/v1/deployments", Access::Roles(&[EndUser])),
    ("GET", "/api/v1/deployments/{id}", ANYONE),
    // Owners change their own deployments (the handlers answer 404 for another's); admins all.
    (
        "PATCH",
        "/api/v1/deployments/{id}",
        Access::Roles(&[EndUser]),
    ),
    (
        "DELETE",
        "/api/v1/deployments/{id}",
        Access::Roles(&[EndUser]),
    ),
    (
        "POST",
        "/api/v1/deployments/{id}/stop",
        Access::Roles(&[EndUser]),
    ),
    (
        "POST",
        "/api/v1/deployments/{id}/start",
        Access::Roles(&[EndUser]),
    ),
    (
        "POST",
        "/api/v1/deployments/{id}/upgrade",
        Access::Roles(&[EndUser]),
    ),
    (
        "POST",
        "/api/v1/deployments/{id}/rollback",
        Access::Roles(&[EndUser]),
    ),
    ("GET", "/api/v1/deployments/{id}/history", ANYONE),
    // End users: what they may bind into a deployment (the answer depends on who asks).
    ("GET", "/api/v1/bindable/sensors", Access::Roles(&[EndUser])),
    (
        "GET",
        "/api/v1/bindable/controllers",
        Access::Roles(&[EndUser]),
    ),
    ("GET", "/api/v1/bindable/places", Access::Roles(&[EndUser])),
    (
        "GET",
        "/api/v1/artifacts/{sha256}",
        Access::Roles(&[PlatformConfigurer, DataScientist, AppDeveloper]),
    ),
    ("POST", "/api/v1/admin/collect", Access::Roles(&[])),
    ("POST", "/api/v1/node/heartbeat", Access::Node),
    ("GET", "/api/v1/node/assignments", Access::Node),
    ("GET", "/api/v1/node/artifacts/{sha256}", Access::Node),
    ("GET", "/api/v1/node/deployments/{id}/state", Access::Node),
    ("PUT", "/api/v1/node/deployments/{id}/state", Access::Node),
    ("POST", "/api/v1/device/readings", Access::Device),
    ("POST", "/api/v1/device/readings/batch", Access::Device),
    ("GET", "/api/v1/device/commands", Access::Device),
    ("POST", "/api/v1/device/state", Access::Device),
    // Notifications: admins set the SMTP server and their own recipients; owners (and admins)
    // set a deployment's; whoever sees a deployment sees its deliveries.
    ("GET", "/api/v1/admin/smtp", Access::Roles(&[])),
    ("PUT", "/api/v1/admin/smtp", Access::Roles(&[])),
    ("DELETE", "/api/v1/admin/smtp", Access::Roles(&[])),
    ("GET", "/api/v1/admin/recipients", Access::Roles(&[])),
    ("PUT", "/api/v1/admin/recipients", Access::Roles(&[])),
    ("GET", "/api/v1/admin/notifications", Access::Roles(&[])),
    ("GET", "/api/v1/deployments/{id}/recipients", ANYONE),
    (
        "PUT",
        "/api/v1/deployments/{id}/recipients",
        Access::Roles(&[EndUser]),
    ),
    ("GET", "/api/v1/deployments/{id}/notifications", ANYONE),
    (
        "POST",
        "/api/v1/node/deployments/{id}/notifications",
        Access::Node,
    ),
    // Prediction jobs: each user's own (the handlers answer 404 for another's); admins all.
    ("POST", "/api/v1/models/{name}/{version}/jobs", JOB_USERS),
    ("GET", "/api/v1/jobs", JOB_USERS),
    ("GET", "/api/v1/jobs/{id}", JOB_USERS),
    ("POST", "/api/v1/jobs/{id}/cancel", JOB_USERS),
    ("GET", "/api/v1/jobs/{id}/results", JOB_USERS),
    // The log service: nodes ship lines; the handlers show each reader only their share (end
    // users their deployments', app developers their apps'; configurers and admins all).
    ("POST", "/api/v1/node/logs", Access::Node),
    (
        "GET",
        "/api/v1/logs",
        Access::Roles(&[PlatformConfigurer, AppDeveloper, EndUser]),
    ),
    (
        "GET",
        "/api/v1/logs/tail",
        Access::Roles(&[PlatformConfigurer, AppDeveloper, EndUser]),
    ),
    // Readings history and fleet-size lists: whoever may read a sensor reads its history (the
    // handler keeps a sensor reserved for some end users to them, configurers and admins).
    ("GET", "/api/v1/sensors/{id}/readings", ANYONE),
    ("GET", "/api/v1/locations", ANYONE),
    // Live views: the stream shows each caller only what they may see (end users their own
    // deployments and the devices they may use; nodes for configurers), checked per id.
    ("GET", "/api/v1/live", ANYONE),
    ("GET", "/api/v1/nodes/{id}/load", CONFIGURERS),
    ("GET", "/api/v1/models/{name}/stats", ANYONE),
    ("GET", "/api/v1/schedules/preview", ANYONE),
    ("GET", "/api/v1/openapi.json", Access::Public),
    ("GET", "/api/v1/docs", Access::Public),
    // Prometheus metrics.
    ("GET", "/metrics", Access::Metrics),
];

/// The access rule for an endpoint; `None` (refused) for one the table does not list.
pub fn access(method: &str, path: &str) -> Option<Access> {
    POLICY
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, access)| *access)
}

/// The node daemon a request comes from.
#[derive(Clone, Debug)]
pub struct NodeCaller {
    pub id: String,
    pub name: String,
}

/// The sensor or controller device a request comes from.
#[derive(Clone, Debug)]
pub struct DeviceCaller {
    pub id: String,
    /// `sensor` or `controller`.
    pub kind: String,
}

/// The bearer token a request carried, kept for handlers such as logout.
#[derive(Clone, Debug)]
pub struct BearerToken(pub String);

/// Middleware: looks the endpoint up in [`POLICY`], checks the caller's token and role, and
/// hands the [`super::Caller`] to the handler. 401 without a valid token, 403 for a role the
/// endpoint does not admit.
pub async fn authorize(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let Some(access) = access(request.method().as_str(), &path) else {
        return ApiError::forbidden(format!("{} {path} is not open to anyone", request.method()))
            .into_response();
    };
    if access == Access::Public {
        return next.run(request).await;
    }
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_string());
    // The portal's browsers sign in with the session cookie instead; a change they ask for must
    // carry the page's cross-site-request token, which another site's page cannot know.
    let token = match bearer {
        Some(token) => Some(token),
        None => match session_cookie(request.headers()) {
            Some(token) if !is_safe(request.method()) && !csrf_matches(&request, &token) => {
                return ApiError::forbidden(format!(
                    "cross-site request refused: a signed-in page sends `{CSRF_HEADER}` with \
                     every change (reload the page and try again)"
                ))
                .into_response();
            }
            cookie => cookie,
        },
    };
    let Some(token) = token else {
        if access == Access::Metrics {
            return ApiError::unauthorized(
                "send the metrics token (--metrics-token) or an admin's session as \
                 `Authorization: Bearer <token>`",
            )
            .into_response();
        }
        return ApiError::unauthorized(
            "log in first: send `Authorization: Bearer <token>` (or sign in to the portal)",
        )
        .into_response();
    };
    if access == Access::Metrics
        && let Some(expected) = &state.settings.metrics_token
        && token_hash(&token) == token_hash(expected)
    {
        return next.run(request).await;
    }
    if access == Access::Node {
        match db::nodes::find_by_token(&state.db, &token_hash(&token)).await {
            Ok(Some(node)) => {
                let caller = NodeCaller {
                    id: node.id,
                    name: node.name,
                };
                request.extensions_mut().insert(caller);
                return next.run(request).await;
            }
            Ok(None) => {}
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    if access == Access::Device {
        match db::devices::find_by_token(&state.db, &token_hash(&token)).await {
            Ok(Some(device)) => {
                let caller = DeviceCaller {
                    id: device.id,
                    kind: device.kind,
                };
                request.extensions_mut().insert(caller);
                return next.run(request).await;
            }
            Ok(None) => {}
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    let caller = match find_caller(&state.db, &state.sessions, &token).await {
        Ok(Some(caller)) => caller,
        Ok(None) if access == Access::Metrics => {
            return ApiError::unauthorized(
                "that is neither the metrics token (--metrics-token) nor a live session",
            )
            .into_response();
        }
        Ok(None) => {
            return ApiError::unauthorized(
                "the session token is unknown, expired or revoked; log in again",
            )
            .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !access.allows(caller.role) {
        return ApiError::forbidden(format!(
            "a {} may not call {} {path}",
            caller.role.as_str(),
            request.method()
        ))
        .into_response();
    }
    request.extensions_mut().insert(caller);
    request.extensions_mut().insert(BearerToken(token));
    next.run(request).await
}
