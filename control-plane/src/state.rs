//! What every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::AnyPool;
use trellis_host::Host;
use trellis_models::ModelCatalog;

use crate::Settings;
use crate::artifacts::ArtifactStore;

/// The server's shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
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
    /// Where readings and commands flow.
    pub bus: Arc<dyn trellis_bus::Bus>,
    /// What the device gateway has seen of each sensor.
    pub devices: Arc<Mutex<crate::routes::gateway::DeviceCounters>>,
    /// The gateway's subscription to each controller's commands, between long-polls.
    pub gateways: Arc<tokio::sync::Mutex<HashMap<String, Box<dyn trellis_bus::Subscription>>>>,
}
