//! What every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::AnyPool;
use trellis_host::Host;
use trellis_host::models::ModelPipeline;

use crate::Settings;
use crate::artifacts::ArtifactStore;
use crate::gateway::DeviceGateway;

/// Loaded model pipelines by (name, version).
pub type PipelineCache = HashMap<(String, String), Arc<ModelPipeline>>;

/// The server's shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: AnyPool,
    pub artifacts: ArtifactStore,
    /// Validates uploaded components and runs model pipelines for the inference endpoints.
    pub host: Arc<Host>,
    /// Loaded model pipelines by (name, version), shared by concurrent predictions.
    pub pipelines: Arc<Mutex<PipelineCache>>,
    pub settings: Arc<Settings>,
    /// The assignments' generation: bumped whenever any node's assignments change, so nodes
    /// waiting on `GET /node/assignments` answer at once.
    pub assignments: Arc<tokio::sync::watch::Sender<u64>>,
    /// When this process started serving (Unix ms).
    pub started_at: i64,
    /// Readings in and commands out for devices that speak HTTP rather than Kafka.
    pub gateway: Arc<DeviceGateway>,
}
