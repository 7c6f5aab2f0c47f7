//! Nodes: the machines that run apps and models.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A node to register.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewNode {
    pub name: String,
    /// Labels that placement can match, e.g. `site=north-campus`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A registered node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Node {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `registered` until the node's daemon first reports, then `up` or `down`; once asked to
    /// drain, `draining` while instances remain on it, then `drained`.
    pub state: String,
    pub created_at: String,
    /// When it last reported.
    pub last_seen: Option<String>,
    /// Its last heartbeat: metrics and the instances it runs.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub report: Option<serde_json::Value>,
    /// The node daemon's credential (`trellis node --token`), shown once: at registration and
    /// when it is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// At registration, when the platform's bus is Kafka: the `trellis node --bus` the daemon
    /// needs to read its apps' readings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<String>,
}
