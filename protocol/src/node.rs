//! The node protocol (`/api/v1/node/...`): a node daemon reports heartbeats with its metrics and
//! the state of each instance, and long-polls its whole assignment set.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a deployment's instance is in its life, as nodes report it and the control plane shows
/// it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    /// No live node can take it yet.
    Pending,
    /// Assigned to a node that has not reported it yet.
    Placed,
    /// Its node is instantiating it.
    Starting,
    Running,
    /// It failed and waits out its backoff (or its bus is away).
    Restarting,
    /// It failed several times in a row; its node still retries it.
    Failed,
    /// Outside its schedule.
    Stopped,
}

impl InstanceState {
    /// Every state, for parsing and documentation.
    pub const ALL: [InstanceState; 7] = [
        InstanceState::Pending,
        InstanceState::Placed,
        InstanceState::Starting,
        InstanceState::Running,
        InstanceState::Restarting,
        InstanceState::Failed,
        InstanceState::Stopped,
    ];

    /// The state's name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Placed => "placed",
            InstanceState::Starting => "starting",
            InstanceState::Running => "running",
            InstanceState::Restarting => "restarting",
            InstanceState::Failed => "failed",
            InstanceState::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for InstanceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for InstanceState {
    type Err = String;

    fn from_str(text: &str) -> Result<InstanceState, String> {
        InstanceState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not an instance state"))
    }
}

/// A node's measurements.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Metrics {
    pub cpu_percent: f64,
    pub memory_used_mb: f64,
    pub memory_total_mb: f64,
    pub load_1m: f64,
    pub temperature_c: Option<f64>,
    /// The start-up benchmark's figure (higher is faster).
    pub performance: f64,
}

/// What a node says of one instance it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceReport {
    pub deployment: String,
    pub state: InstanceState,
    /// The last error, for `restarting` and `failed`.
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub restarts: u32,
}

/// A heartbeat.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeReport {
    pub metrics: Metrics,
    pub instances: Vec<InstanceReport>,
    /// The app version each reported instance runs, by deployment, so the control plane can
    /// tell what a replaced version said last from what its successor says.
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
}

/// The control plane's answer to a heartbeat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatAnswer {
    /// How often the control plane expects a heartbeat.
    pub heartbeat_ms: u64,
    /// The bus readings and commands flow on (`embedded` or `kafka://...`), so a node started
    /// without one can say what it is missing.
    #[serde(default)]
    pub bus: String,
    /// The node's lease on its assignments, renewed by each accepted heartbeat: a node whose
    /// last accepted heartbeat was sent longer ago stops its instances, and only a while after
    /// that may the control plane place them elsewhere. 0: no lease (the node keeps running).
    #[serde(default)]
    pub lease_ms: u64,
}

/// One instance a node should run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignment {
    pub deployment: String,
    pub app: String,
    pub version: String,
    pub component_sha256: String,
    /// The app's manifest (`trellis.toml`).
    pub manifest: String,
    /// Parameter values, defaults filled in.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: BTreeMap<String, serde_json::Value>,
    /// The sensor instances bound to its roles: their readings are on `trellis.sensor.<id>`.
    #[serde(default)]
    pub sensors: Vec<BoundDevice>,
    /// The controller instances bound to its roles: commands go to `trellis.controller.<id>`.
    #[serde(default)]
    pub controllers: Vec<BoundDevice>,
    /// The version of each model its app calls, as its deployment recorded them.
    #[serde(default)]
    pub models: Vec<AssignedModel>,
}

/// A model package an assigned app calls, by its artifacts' hashes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignedModel {
    pub name: String,
    pub version: String,
    /// The package's `model.toml`.
    pub config: String,
    pub onnx_sha256: String,
    pub contract_sha256: String,
}

/// An instance bound to a role of a deployment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoundDevice {
    pub role: String,
    pub id: String,
    /// `site/building/room`.
    pub location: String,
    /// `key=value`.
    pub labels: Vec<String>,
}

/// Everything a node should run now. Always the whole set, so applying it twice changes nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignments {
    pub generation: u64,
    pub instances: Vec<Assignment>,
}

/// A deployment's app state as its node last saved it with the control plane, so a deployment
/// moved to another node resumes with it: the entries, and per sensor topic the offset of the
/// last reading they include (readings at or below it are not applied again).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateCheckpoint {
    /// Counts the checkpoints the control plane accepted for the deployment. In a request: the
    /// generation the node's state continues from (0 when it has none); the control plane refuses
    /// a checkpoint that would overwrite another node's newer one.
    pub generation: u64,
    /// Every entry of the store.
    pub entries: Vec<StateEntry>,
    /// Topic → the offset of the last reading applied to `entries`.
    pub offsets: BTreeMap<String, u64>,
}

/// One key and value of an app's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateEntry {
    pub key: String,
    /// The value's bytes, in base64.
    #[serde(with = "crate::value::base64_bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Byte))]
    pub value: Vec<u8>,
}

/// The control plane's answer to an accepted checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckpointAccepted {
    /// The checkpoint's generation: the node's state continues from it.
    pub generation: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_carries_its_values_in_base64() {
        let checkpoint = StateCheckpoint {
            generation: 3,
            entries: vec![StateEntry {
                key: "count".into(),
                value: vec![0, 255, 7],
            }],
            offsets: BTreeMap::from([("trellis.sensor.s1".into(), 41)]),
        };
        let json = serde_json::to_value(&checkpoint).unwrap();
        assert_eq!(json["entries"][0]["value"], "AP8H");
        let back: StateCheckpoint = serde_json::from_value(json).unwrap();
        assert_eq!(back, checkpoint);
    }

    #[test]
    fn states_read_back_from_their_names() {
        for state in InstanceState::ALL {
            assert_eq!(state.as_str().parse::<InstanceState>(), Ok(state));
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::String(state.as_str().into())
            );
        }
        assert!("sleeping".parse::<InstanceState>().is_err());
    }
}
