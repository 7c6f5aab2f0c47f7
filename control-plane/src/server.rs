//! Serves the router on a listener, as `axum::serve` does, with the two bounds it leaves out:
//! a client must send a request's headers within a deadline (one that trickles them a byte at a
//! time, as slowloris does, is cut off rather than holding its connection for ever), and at most
//! so many connections are open at once (beyond that new ones wait in the kernel's backlog
//! until one closes, so file descriptors and memory stay bounded).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::peer::Peer;

/// How a listener's connections are bounded.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// How long a client may take to send a request's headers, from the connection's start or
    /// the end of its previous request.
    pub header_read_timeout: Duration,
    /// The most connections open at once.
    pub max_connections: usize,
}

/// Accepts connections on `listener` for ever, serving each with `router` within `limits`.
/// Each request carries `ConnectInfo<Peer>`: the address it came from.
pub async fn serve<L>(mut listener: L, router: Router, limits: ConnectionLimits)
where
    L: Listener<Addr = SocketAddr>,
{
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let Ok(room) = open.clone().acquire_owned().await else {
            return;
        };
        // axum's accept retries on errors (too many open files...) with a pause.
        let (io, peer) = listener.accept().await;
        let service =
            router
                .clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(Peer(peer)));
                    request.map(axum::body::Body::new)
                });
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
                .with_upgrades()
                .await;
            if let Err(e) = served {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            drop(room);
        });
    }
}
