//! What every handler shares.

use std::sync::Arc;

use sqlx::AnyPool;
use trellis_host::Host;
use trellis_models::ModelCatalog;

use crate::Settings;
use crate::artifacts::ArtifactStore;
use crate::gateway::DeviceGateway;
use crate::logs::LogService;
use crate::notify::Notifier;

/// The server's shared state: one pointer, so the clone each extractor and middleware takes
/// per request is one count (copying the many handles below was 3% of a prediction's time).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> AppState {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Services {
    pub db: AnyPool,
    pub artifacts: ArtifactStore,
    /// Validates uploaded components; the model catalog compiles contracts with it too.
    pub host: Arc<Host>,
    /// Loaded model pipelines by (name, version), each loaded once and shared by concurrent
    /// predictions.
    pub models: Arc<ModelCatalog>,
    pub settings: Arc<Settings>,
    /// The assignments' generation: bumped whenever any node's assignments change, so nodes
    /// waiting on `GET /node/assignments` answer at once.
    pub assignments: Arc<tokio::sync::watch::Sender<u64>>,
    /// When this process started serving (Unix ms).
    pub started_at: i64,
    /// Readings in and commands out for devices that speak HTTP rather than Kafka.
    pub gateway: Arc<DeviceGateway>,
    /// What `/metrics` tells Prometheus.
    pub metrics: crate::metrics::SharedMetrics,
    /// Delivers notifications to deployments' and admins' recipients.
    pub notifier: Notifier,
    /// Told when a prediction job is queued, so the job runner starts it at once.
    pub job_queue: Arc<tokio::sync::Notify>,
    /// Log lines and lifecycle events.
    pub logs: Arc<LogService>,
    /// Stores the readings the gateway accepts, in batches.
    pub readings: crate::readings::Recorder,
    /// Live events for the portal's live views, and the recent figures they start from.
    pub live: Arc<crate::live::LiveHub>,
    /// Where password checks and hashes run, a bounded few at a time.
    pub passwords: crate::auth::PasswordPool,
    /// How many logins each client address and user name may still attempt.
    pub logins: Arc<crate::auth::login_limit::LoginLimiter>,
    /// The requests being served, within `max_concurrent_requests`.
    pub in_flight: crate::request_limits::InFlight,
    /// Live sessions read lately, so most requests check their token from memory.
    pub sessions: Arc<crate::auth::session_cache::SessionCache>,
    /// Which version `latest` names for each model, resolved lately.
    pub latest: Arc<crate::latest_versions::LatestVersions>,
}
