//! The HTTP middleware that counts and times every request by its route's template (the
//! matched path, never the raw URI, so ids in paths do not make new series) and its status.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::{RequestLabels, RouteLabels, SharedMetrics};

/// What requests that matched no route are counted under.
pub const UNMATCHED: &str = "unmatched";

/// Counts and times the request once it is answered.
pub async fn track(State(metrics): State<SharedMetrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_string();
    let response = next.run(request).await;
    metrics
        .http_latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .http_requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}
