//! The messages between node and control plane (`/api/v1/node/...`), as the node sees them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize)]
pub struct Metrics {
    pub cpu_percent: f64,
    pub memory_used_mb: f64,
    pub memory_total_mb: f64,
    pub load_1m: f64,
    pub temperature_c: Option<f64>,
    pub performance: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstanceReport {
    pub deployment: String,
    pub state: String,
    pub detail: String,
    pub restarts: u32,
}

#[derive(Serialize)]
pub struct NodeReport {
    pub metrics: Metrics,
    pub instances: Vec<InstanceReport>,
}

#[derive(Deserialize)]
pub struct HeartbeatAnswer {
    pub heartbeat_ms: u64,
    #[serde(default)]
    pub bus: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Assignment {
    pub deployment: String,
    pub app: String,
    pub component_sha256: String,
    pub manifest: String,
    pub config: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub sensors: Vec<BoundDevice>,
    #[serde(default)]
    pub controllers: Vec<BoundDevice>,
    #[serde(default)]
    pub models: Vec<AssignedModel>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AssignedModel {
    pub name: String,
    pub version: String,
    pub config: String,
    pub onnx_sha256: String,
    pub contract_sha256: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct BoundDevice {
    pub role: String,
    pub id: String,
    pub location: String,
    pub labels: Vec<String>,
}

#[derive(Deserialize)]
pub struct Assignments {
    pub generation: u64,
    pub instances: Vec<Assignment>,
}
