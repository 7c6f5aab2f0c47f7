//! The node daemon: joins a control plane with its node token, reports a heartbeat (metrics and
//! the state of its instances), long-polls its assignments, fetches their components by hash
//! into a verified on-disk cache, and runs each assigned app instance with `trellis-host`,
//! restarting a trapped one with backoff and stopping what is no longer assigned. When the
//! control plane is unreachable it keeps running what it has for as long as its lease lasts,
//! then stops everything (the control plane may place it elsewhere), and catches up when it
//! returns.
//! Its instances' log lines and lifecycle events are shipped to the control plane's log service,
//! through a buffer on disk that keeps them while the control plane is away.

mod agent;
mod app_state;
mod artifacts;
mod assignment_lease;
mod ca_cert;
mod instance;
mod log_shipping;
mod metrics;
mod metrics_endpoint;
mod notifications;
mod supervisor;
mod telemetry;
mod wiring;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use agent::run;
pub use ca_cert::ca_certificates;
pub use telemetry::NodeMetrics;
pub use wiring::BusControllers;

/// How a node daemon runs.
#[derive(Clone)]
pub struct NodeConfig {
    /// The control plane, e.g. `http://10.0.0.1:7878`.
    pub control_plane: String,
    /// The node's token, from its registration.
    pub token: String,
    /// Where the artifact cache, compiled components and apps' state (`state/`) live.
    pub data_dir: PathBuf,
    /// How often a running instance's `on-tick` is called.
    pub tick: Duration,
    /// Where its instances' readings come from and commands go; `None` runs them without a
    /// data plane (ticks only).
    pub bus: Option<Arc<dyn trellis_bus::Bus>>,
    /// How often each deployment's app state, when it changed, is checkpointed to the control
    /// plane (so it moves with the deployment). The bus keeps a deployment's readings until a
    /// checkpoint holds them.
    pub checkpoint_every: Duration,
    /// What the node tells Prometheus; `trellis up` adds these families to its control
    /// plane's `/metrics`.
    pub metrics: NodeMetrics,
    /// Where to serve `GET /metrics` (Prometheus text format); `None` opens no port.
    pub metrics_listen: Option<SocketAddr>,
    /// The bearer token that `/metrics` asks for, if any.
    pub metrics_token: Option<String>,
    /// A CA certificate (PEM) to trust for the control plane's HTTPS beside the public roots
    /// (`trellis node --ca-cert`, e.g. the CA of `trellis up --tls self-signed`).
    pub ca_cert: Option<PathBuf>,
    /// The most log lines kept on disk (in `logs.sqlite` in the data directory) while the
    /// control plane cannot be reached; beyond it the oldest are dropped and counted.
    pub log_buffer_lines: usize,
    /// The most bytes of readings each instance keeps per sensor role for `sensors.history`
    /// (its newest reading is always kept).
    pub reading_history_bytes: usize,
    /// Where set, ONNX Runtime runs each model its apps use in a worker process of its own, so
    /// a model that crashes it takes down only its worker, not the node and its apps.
    pub model_worker: Option<trellis_models::ModelWorker>,
}

/// The log buffer's bound unless told otherwise: about 25 MiB of typical lines.
pub const DEFAULT_LOG_BUFFER_LINES: usize = 100_000;

/// The reading history's bound per instance and role unless told otherwise: 4 MiB.
pub const DEFAULT_READING_HISTORY_BYTES: usize = trellis_host::capabilities::DEFAULT_HISTORY_BYTES;

/// The checkpoint interval a node uses unless told otherwise.
pub const DEFAULT_CHECKPOINT_EVERY: Duration = Duration::from_secs(5);
