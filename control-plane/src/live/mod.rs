//! The live hub: small events about what is happening now (a reading, a controller's state, a
//! command, a deployment's change, a node's heartbeat, a model's recent requests), broadcast to
//! every open `GET /api/v1/live` stream, which passes on only those for the ids it asked for.
//! It also keeps, in memory, what the live views start from: each node's recent load and each
//! model's recent predictions.

pub mod model_stats;
pub mod node_load;

use std::sync::Arc;

use tokio::sync::broadcast;
use trellis_protocol::live::LiveEvent;

use crate::db;
use crate::ids::{now_ms, rfc3339};
use crate::state::AppState;

/// Events a stream may fall behind by before it is told how many it missed.
const BACKLOG: usize = 4096;

pub struct LiveHub {
    events: broadcast::Sender<Arc<LiveEvent>>,
    pub loads: node_load::LoadHistory,
    pub models: model_stats::ModelStatsWindow,
}

impl Default for LiveHub {
    fn default() -> LiveHub {
        LiveHub {
            events: broadcast::channel(BACKLOG).0,
            loads: Default::default(),
            models: Default::default(),
        }
    }
}

impl LiveHub {
    /// Hands `event` to every open stream; with none open, it is dropped.
    pub fn publish(&self, event: LiveEvent) {
        let _ = self.events.send(Arc::new(event));
    }

    /// Whether any stream is open, so work done only to tell one can be skipped.
    pub fn has_listeners(&self) -> bool {
        self.events.receiver_count() > 0
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.events.subscribe()
    }

    /// Records one prediction of `model` `version` that took `latency_ms`, and tells the
    /// streams the version's recent figures if it has not in the last second.
    pub fn prediction(&self, model: &str, version: &str, latency_ms: f64) {
        let now = now_ms();
        if let Some((requests, mean)) = self.models.record(model, version, latency_ms, now) {
            self.publish(LiveEvent::Model {
                model: model.to_string(),
                version: version.to_string(),
                requests,
                mean_latency_ms: mean,
                at: rfc3339(now),
            });
        }
    }
}

/// Tells the streams how deployment `id` stands now (`deleted` once it has no instance). A
/// failure to read it is logged, not raised: the change it follows has been made.
pub async fn deployment_changed(state: &AppState, id: &str) {
    if !state.live.has_listeners() {
        return;
    }
    let status = match db::instances::status_of(&state.db, id).await {
        Ok(status) => status,
        Err(e) => {
            tracing::warn!("reading deployment {id} for the live stream: {e}");
            return;
        }
    };
    let event = match status {
        Some(status) => LiveEvent::Deployment {
            deployment: id.to_string(),
            state: status.state,
            node: status.node,
            restarts: status.restarts,
            last_error: status.detail,
            at: rfc3339(now_ms()),
        },
        None => LiveEvent::Deployment {
            deployment: id.to_string(),
            state: "deleted".into(),
            node: None,
            restarts: 0,
            last_error: String::new(),
            at: rfc3339(now_ms()),
        },
    };
    state.live.publish(event);
}
