//! Sending each deployment's state to the control plane (`PUT /api/v1/node/deployments/{id}/
//! state`) every interval while it changes, and at once when an instance stops. (The agent
//! fetches the control plane's checkpoint for an instance about to start.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use trellis_protocol::node::{CheckpointAccepted, StateCheckpoint};

use super::AppStates;

/// The node's side of the checkpoint routes.
pub struct Checkpoints {
    pub client: reqwest::Client,
    /// The control plane, e.g. `http://10.0.0.1:7878`.
    pub control_plane: String,
    pub token: String,
    pub states: Arc<AppStates>,
    /// Wakes [`Checkpoints::run`] before its interval is up.
    pub wake: Arc<tokio::sync::Notify>,
    pub interval: Duration,
}

impl Checkpoints {
    fn url(&self, deployment: &str) -> String {
        format!(
            "{}/api/v1/node/deployments/{deployment}/state",
            self.control_plane.trim_end_matches('/')
        )
    }

    /// Sends what changed, every interval or when woken, until the task is dropped.
    pub async fn run(self) {
        /// Tells the stores' holders when this task ends, so none waits for it in vain.
        struct Stopped(Arc<AppStates>);
        impl Drop for Stopped {
            fn drop(&mut self) {
                self.0.checkpointer_stopped();
            }
        }
        let _stopped = Stopped(self.states.clone());
        // The last failure per deployment, so a lasting one is logged once, not every interval.
        let mut failing: HashMap<String, String> = HashMap::new();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = self.wake.notified() => {}
            }
            for (deployment, store) in self.states.live() {
                let Some(snapshot) = store.snapshot_if_changed() else {
                    continue;
                };
                let sent = self.put(&deployment, &snapshot.checkpoint).await;
                let outcome = sent.and_then(|generation| {
                    store
                        .accepted(&snapshot, generation)
                        .map_err(anyhow::Error::msg)
                });
                match outcome {
                    Ok(()) => {
                        if failing.remove(&deployment).is_some() {
                            tracing::info!("{deployment}: state checkpoints accepted again");
                        }
                    }
                    Err(e) => {
                        let why = format!("{e:#}");
                        if failing.get(&deployment) != Some(&why) {
                            tracing::warn!(
                                "{deployment}: state checkpoint not accepted (the bus keeps its readings until one is): {why}"
                            );
                            failing.insert(deployment, why);
                        }
                    }
                }
            }
        }
    }

    /// Sends one checkpoint; the generation it was accepted as.
    async fn put(&self, deployment: &str, checkpoint: &StateCheckpoint) -> anyhow::Result<u64> {
        let response = self
            .client
            .put(self.url(deployment))
            .bearer_auth(&self.token)
            .json(checkpoint)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            anyhow::bail!("{status}: {body}");
        }
        let accepted: CheckpointAccepted = response.json().await?;
        Ok(accepted.generation)
    }
}
