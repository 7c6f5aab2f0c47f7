//! The live event stream (`GET /api/v1/live`): small events about what is happening now, each
//! sent as a server-sent event named by its `type` with the event as JSON data, and the answers
//! of the small APIs the live views start from (a node's recent load, a model's recent stats,
//! a cron expression's next start times).

use serde::{Deserialize, Serialize};

/// One live event. `at` is RFC 3339, UTC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum LiveEvent {
    /// A sensor's reading, as the device gateway passed it on.
    Reading {
        sensor: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        value: serde_json::Value,
        at: String,
    },
    /// The state a controller reported.
    ControllerState {
        controller: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        state: serde_json::Value,
        at: String,
    },
    /// A command the gateway handed to a controller.
    Command {
        controller: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        command: serde_json::Value,
        at: String,
    },
    /// A deployment's instance changed: its state (`deleted` once it is gone), node, restarts
    /// or last error.
    Deployment {
        deployment: String,
        state: String,
        node: Option<String>,
        restarts: i64,
        last_error: String,
        at: String,
    },
    /// A node's heartbeat.
    Node {
        /// The node's id.
        node: String,
        name: String,
        cpu: f64,
        memory: MemoryUse,
        temperature: Option<f64>,
        instances: usize,
        state: String,
        at: String,
    },
    /// A model's requests over the last minutes, sent at most once a second while requests come.
    Model {
        model: String,
        version: String,
        requests: u64,
        mean_latency_ms: f64,
        at: String,
    },
}

impl LiveEvent {
    /// The event's name on the stream (`event: reading`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            LiveEvent::Reading { .. } => "reading",
            LiveEvent::ControllerState { .. } => "controller-state",
            LiveEvent::Command { .. } => "command",
            LiveEvent::Deployment { .. } => "deployment",
            LiveEvent::Node { .. } => "node",
            LiveEvent::Model { .. } => "model",
        }
    }
}

/// Memory in use and in all, in MB.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemoryUse {
    pub used_mb: f64,
    pub total_mb: f64,
}

/// One heartbeat's load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoadPoint {
    pub at: String,
    pub cpu: f64,
    pub memory: MemoryUse,
    pub temperature: Option<f64>,
    pub instances: usize,
}

/// A node's load over the last minutes, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeLoad {
    /// The node's id.
    pub node: String,
    pub name: String,
    /// How far back the history reaches, in seconds.
    pub window_s: u64,
    pub points: Vec<LoadPoint>,
}

/// One model version's predictions over the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionStats {
    pub version: String,
    pub requests: u64,
    /// None without requests in the window.
    pub mean_latency_ms: Option<f64>,
    pub p95_latency_ms: Option<f64>,
}

/// A model's predictions over the last minutes, per version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelStats {
    pub model: String,
    pub window_s: u64,
    pub versions: Vec<VersionStats>,
}

/// A cron expression's next start times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchedulePreview {
    pub cron: String,
    /// RFC 3339, UTC, soonest first.
    pub starts: Vec<String>,
}
