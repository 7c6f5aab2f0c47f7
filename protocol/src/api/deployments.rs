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
    /// Whether its owner wants it to run (`running`, within its schedule) or stopped it.
    #[serde(default)]
    pub run_state: RunState,
    /// The version of each model its app calls, resolved from the manifest's requirements when
    /// it was made: it runs exactly these until its versions are resolved again.
    #[serde(default)]
    pub models: BTreeMap<String, String>,
    /// `pending` (no node can take it yet), `placed`, `running`, `restarting`, `failed` or
    /// `stopped` (outside its schedule, or stopped by its owner).
    pub state: InstanceState,
    /// The node it is placed on.
    pub node: Option<String>,
    /// Why it is in its state: the app's last error, what placement found, or the last thing
    /// that happened to it (such as an automatic rollback).
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

/// Whether a deployment's owner wants it to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// Run it whenever its schedule is active.
    #[default]
    Running,
    /// Do not run it until it is started again.
    Stopped,
}

impl RunState {
    /// The run state's name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Stopped => "stopped",
        }
    }
}

/// What `PATCH /deployments/{id}` changes; a field left out keeps its value. Each given field is
/// checked as at creation, and nothing is written unless all of them pass.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeploymentChanges {
    /// Parameter values as text: each named parameter takes the value, the others keep theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Each named role is bound to these instances instead; the other roles keep theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bindings: Option<BTreeMap<String, Vec<String>>>,
    /// The labels a node must carry, replacing the old ones (`{}` for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_labels: Option<BTreeMap<String, String>>,
}

/// `POST /deployments/{id}/upgrade`: the app version to run instead.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Upgrade {
    pub version: String,
}

/// `POST /deployments/{id}/rollback`: why, for its history.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    #[serde(default)]
    pub reason: Option<String>,
}

/// What happened to a deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Created,
    Stopped,
    Started,
    /// Parameters, schedule, bindings or node labels changed (see `changes`).
    Changed,
    Upgraded,
    RolledBack,
    Deleted,
}

impl EventKind {
    /// Every kind, for parsing.
    pub const ALL: [EventKind; 7] = [
        EventKind::Created,
        EventKind::Stopped,
        EventKind::Started,
        EventKind::Changed,
        EventKind::Upgraded,
        EventKind::RolledBack,
        EventKind::Deleted,
    ];

    /// The kind's name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Stopped => "stopped",
            EventKind::Started => "started",
            EventKind::Changed => "changed",
            EventKind::Upgraded => "upgraded",
            EventKind::RolledBack => "rolled-back",
            EventKind::Deleted => "deleted",
        }
    }
}

impl std::str::FromStr for EventKind {
    type Err = String;

    fn from_str(text: &str) -> Result<EventKind, String> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not a deployment event"))
    }
}

/// One field a `changed` event set: `config.fan-above`, `schedule`, `bindings.fan` or `node_labels`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    pub field: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub from: serde_json::Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub to: serde_json::Value,
}

/// One entry of a deployment's history, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentEvent {
    pub at: String,
    /// Who did it: a user's name, or `control-plane` for what it did by itself.
    pub actor: String,
    pub kind: EventKind,
    /// The app version it runs after this.
    pub version: String,
    /// For `upgraded` and `rolled-back`: the version it ran before.
    #[serde(default)]
    pub from_version: Option<String>,
    /// For `changed`: each field, from what to what.
    #[serde(default)]
    pub changes: Vec<FieldChange>,
    /// Why, where it was given (a rollback's reason).
    #[serde(default)]
    pub reason: String,
}
