//! Deployments: an end user's app version bound to sensor and controller instances, with
//! parameter values and a schedule.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::node::InstanceState;

/// What an end user asks to run.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDeployment {
    pub app: String,
    /// The app version; the newest when left out.
    #[serde(default)]
    pub version: Option<String>,
    /// Each role of the app → the ids of the instances it uses.
    pub bindings: BTreeMap<String, Vec<String>>,
    /// Parameter values as text, on top of the manifest's defaults.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    #[serde(default)]
    pub schedule: Schedule,
    /// Labels a node must carry to run it, e.g. `{"site": "north"}` to run near its sensors.
    #[serde(default)]
    pub node_labels: BTreeMap<String, String>,
}

/// A deployment as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deployment {
    pub id: String,
    pub app: String,
    pub version: String,
    pub owner: String,
    pub bindings: BTreeMap<String, Vec<String>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Map<String, serde_json::Value>,
    pub schedule: Schedule,
    pub node_labels: BTreeMap<String, String>,
    /// The version of each model its app calls, resolved from the manifest's requirements when
    /// it was made: it runs exactly these until its versions are resolved again.
    #[serde(default)]
    pub models: BTreeMap<String, String>,
    /// `pending` (no node can take it yet), `placed`, `running`, `restarting`, `failed` or
    /// `stopped` (outside its schedule).
    pub state: InstanceState,
    /// The node it is placed on.
    pub node: Option<String>,
    /// Why it is in its state: the app's last error, or what placement found.
    pub detail: String,
    /// Restarts since it was placed.
    pub restarts: i64,
    pub created_at: String,
}

/// When a deployment should run: now (until stopped), in one window, or on a cron recurrence
/// with a duration and an optional number of occurrences. The control plane's `schedule`
/// module says when each is active.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Schedule {
    /// From now until the deployment is stopped.
    #[default]
    Now,
    /// From `start` to `end`.
    Window {
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        start: DateTime<Utc>,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        end: DateTime<Utc>,
    },
    /// At every time the cron expression names (five fields, UTC), for `duration-minutes`;
    /// `count` occurrences at most.
    #[serde(rename_all = "kebab-case")]
    Cron {
        expression: String,
        duration_minutes: u32,
        #[serde(default)]
        count: Option<u32>,
    },
}
