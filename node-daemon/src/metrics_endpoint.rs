//! The node's own `GET /metrics`, only when the operator asks for it (`--metrics-listen`):
//! otherwise a node opens no port at all. With a metrics token configured it answers only a
//! request that carries it; without one, the address it listens on is the access control.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};

use crate::telemetry::NodeMetrics;

struct Endpoint {
    registry: Registry,
    /// The token's SHA-256, so comparing does not reveal it byte by byte.
    token_sha256: Option<[u8; 32]>,
}

/// Binds `address` (failing if it cannot) and serves `/metrics` there on a task of its own; the
/// bound address is recorded in `metrics` ([`NodeMetrics::served_at`]).
pub async fn start(
    address: SocketAddr,
    metrics: NodeMetrics,
    token: Option<String>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
        anyhow::anyhow!("listening for metrics on {address} (--metrics-listen): {e}")
    })?;
    let bound = listener.local_addr()?;
    metrics.set_served_at(bound);
    tracing::info!("metrics on http://{bound}/metrics");
    let mut registry = Registry::default();
    metrics.register_all(&mut registry);
    let endpoint = Arc::new(Endpoint {
        registry,
        token_sha256: token.map(|t| Sha256::digest(t.as_bytes()).into()),
    });
    let router = Router::new()
        .route("/metrics", get(render))
        .with_state(endpoint);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!("serving metrics on {bound}: {e}");
        }
    }))
}

async fn render(State(endpoint): State<Arc<Endpoint>>, headers: HeaderMap) -> Response {
    if let Some(expected) = endpoint.token_sha256 {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| <[u8; 32]>::from(Sha256::digest(token.trim().as_bytes())));
        if sent != Some(expected) {
            let body = serde_json::json!({
                "error": "send the metrics token (--metrics-token) as `Authorization: Bearer <token>`"
            });
            return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
        }
    }
    let mut text = String::new();
    if let Err(e) = prometheus_text::encode(&mut text, &endpoint.registry) {
        let body = serde_json::json!({ "error": format!("internal error: encoding metrics: {e}") });
        return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response();
    }
    (
        [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
        text,
    )
        .into_response()
}
