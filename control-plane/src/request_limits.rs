//! What each request may take: how large its body may be, how long it may take to arrive and be
//! answered, and how many may be served at once. Most routes take a small JSON body and answer
//! at once; the few that take uploads or wait on purpose (long-polls) are listed here with
//! larger limits, so a new route is small and quick until someone decides otherwise.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;
use tower::{Layer, ServiceExt};

use crate::error::ApiError;
use crate::state::AppState;

/// The largest body of an ordinary route: a JSON document of a few fields.
pub const MAX_JSON_BYTES: usize = 64 << 10;

/// How long an upload may take to arrive, beside the ordinary timeout: 64 MiB over a slow link.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// How long past the ordinary timeout a long-poll may take (they wait up to 20 s by design).
const LONG_POLL_GRACE: Duration = Duration::from_secs(60);

/// What a route may take, beyond an ordinary one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A body up to the upload limit (`--max-upload-mb`), and time to send it.
    Upload,
    /// A node's batch (logs, notifications, an app's state): up to the upload limit, in the
    /// ordinary time.
    Batch,
    /// Waits for news before answering; does not count against the concurrency limit.
    LongPoll,
}

/// (method, path as routed, kind) for every route that is not ordinary.
const ROUTES: &[(&str, &str, Kind)] = &[
    ("POST", "/api/v1/models", Kind::Upload),
    ("POST", "/api/v1/apps", Kind::Upload),
    (
        "POST",
        "/api/v1/models/{name}/{version}/predict",
        Kind::Upload,
    ),
    ("POST", "/api/v1/models/{name}/{version}/jobs", Kind::Upload),
    ("POST", "/api/v1/node/logs", Kind::Batch),
    ("POST", "/api/v1/device/readings/batch", Kind::Batch),
    ("PUT", "/api/v1/node/deployments/{id}/state", Kind::Batch),
    (
        "POST",
        "/api/v1/node/deployments/{id}/notifications",
        Kind::Batch,
    ),
    ("GET", "/api/v1/node/assignments", Kind::LongPoll),
    ("GET", "/api/v1/device/commands", Kind::LongPoll),
];

/// How many ordinary requests are served at once, the rest refused with 503 until one ends.
#[derive(Clone)]
pub struct InFlight(Arc<Semaphore>);

impl InFlight {
    pub fn new(limit: usize) -> InFlight {
        InFlight(Arc::new(Semaphore::new(limit.max(1))))
    }
}

/// `64 KiB`, `64 MiB`: a limit as people say it.
fn size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Middleware: applies the route's body limit (refusing at once a body that says it is larger)
/// and its timeout, and counts it against the concurrency limit.
pub async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let kind = ROUTES
        .iter()
        .find(|(m, p, _)| *m == request.method().as_str() && *p == path)
        .map(|(_, _, kind)| *kind);
    let settings = &state.settings;
    let limit = match kind {
        Some(Kind::Upload | Kind::Batch) => settings.max_upload_bytes,
        _ => MAX_JSON_BYTES,
    };
    let timeout = match kind {
        Some(Kind::Upload) => settings.request_timeout + UPLOAD_TIMEOUT,
        Some(Kind::LongPoll) => settings.request_timeout + LONG_POLL_GRACE,
        _ => settings.request_timeout,
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        let refusal = too_large(request.method().as_str(), &path, limit);
        // Read what the client is still sending (within bounds) before answering: a client
        // cut off mid-body sees a broken pipe instead of this refusal.
        let _ = tokio::time::timeout(DRAIN_TIME, drain(request.into_body())).await;
        return refusal;
    }
    let _permit = if kind == Some(Kind::LongPoll) {
        None
    } else {
        match state.in_flight.0.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server is serving as many requests as it may; try again in a moment",
                )
                .into_response();
            }
        }
    };
    let method = request.method().to_string();
    // The extractors read the body against this limit (413 for a body sent without a length).
    let served = DefaultBodyLimit::max(limit).layer(next).oneshot(request);
    let response = match tokio::time::timeout(timeout, served).await {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "{method} {path} was not received and answered within {} s",
                    timeout.as_secs()
                ),
            )
            .into_response();
        }
    };
    // A body the handler's extractor refused as too large says so in the API's error shape.
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && !response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"application/json"))
    {
        return too_large(&method, &path, limit);
    }
    response
}

fn too_large(method: &str, path: &str, limit: usize) -> Response {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the body is too large: {method} {path} takes at most {}",
            size(limit)
        ),
    )
    .into_response()
}

/// How much of a refused body is read, and for how long, so its sender gets to read the refusal.
const DRAIN_BYTES: usize = 64 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(10);

async fn drain(body: axum::body::Body) {
    use futures_util::StreamExt;
    let mut chunks = body.into_data_stream();
    let mut read = 0;
    while let Some(Ok(chunk)) = chunks.next().await {
        read += chunk.len();
        if read > DRAIN_BYTES {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_said_in_the_units_people_use() {
        assert_eq!(size(64 << 10), "64 KiB");
        assert_eq!(size(64 << 20), "64 MiB");
        assert_eq!(size(1000), "1000 bytes");
    }
}
