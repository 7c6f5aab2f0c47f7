//! Apps' notifications on their way to the control plane, which delivers them: an instance's
//! `notify.send` queues the notification (it never waits on the network), and one task forwards
//! what is queued to `POST /api/v1/node/deployments/{id}/notifications`, a batch per deployment.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use trellis_host::capabilities::NotificationSink;
use trellis_host::types::{Error, Urgency};
use trellis_protocol::api::{self, AppNotification, NotificationBatch};

/// How many notifications may wait to be forwarded; past that an app's `notify.send` fails
/// with `limit-exceeded` rather than the node holding an unbounded pile.
pub const QUEUE: usize = 1024;
/// The control plane's largest batch.
const MAX_BATCH: usize = 1000;
/// Tries per batch while the control plane cannot be reached, the first included.
const TRIES: u32 = 5;
const FIRST_RETRY: Duration = Duration::from_millis(500);

/// Where instances put their notifications; cheap to clone.
#[derive(Clone)]
pub struct Outbox(mpsc::Sender<(String, AppNotification)>);

impl Outbox {
    /// An outbox and the queue a [`Forwarder`] empties.
    pub fn new() -> (Outbox, mpsc::Receiver<(String, AppNotification)>) {
        let (sender, receiver) = mpsc::channel(QUEUE);
        (Outbox(sender), receiver)
    }

    /// The `notify` backend of deployment `deployment`'s instances.
    pub fn for_deployment(&self, deployment: &str) -> Arc<dyn NotificationSink> {
        Arc::new(Forwarded {
            deployment: deployment.to_string(),
            outbox: self.clone(),
        })
    }
}

struct Forwarded {
    deployment: String,
    outbox: Outbox,
}

impl NotificationSink for Forwarded {
    fn send(&self, urgency: Urgency, title: &str, body: &str) -> Result<(), Error> {
        let notification = AppNotification {
            urgency: match urgency {
                Urgency::Low => api::Urgency::Low,
                Urgency::Normal => api::Urgency::Normal,
                Urgency::High => api::Urgency::High,
            },
            title: title.to_string(),
            body: body.to_string(),
        };
        match self
            .outbox
            .0
            .try_send((self.deployment.clone(), notification))
        {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => Err(Error::LimitExceeded(format!(
                "{QUEUE} notifications wait to be forwarded to the control plane already"
            ))),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Error::Unavailable(
                "the node is not forwarding notifications (it is stopping)".into(),
            )),
        }
    }
}

/// Forwards queued notifications to the control plane.
pub struct Forwarder {
    pub client: reqwest::Client,
    /// The control plane, e.g. `http://10.0.0.1:7878`.
    pub control_plane: String,
    pub token: String,
    pub queue: mpsc::Receiver<(String, AppNotification)>,
}

impl Forwarder {
    /// Forwards until the task is dropped: whatever piled up meanwhile goes in one batch per
    /// deployment.
    pub async fn run(mut self) {
        while let Some((deployment, first)) = self.queue.recv().await {
            let mut batches: BTreeMap<String, Vec<AppNotification>> = BTreeMap::new();
            batches.entry(deployment).or_default().push(first);
            while let Ok((deployment, more)) = self.queue.try_recv() {
                batches.entry(deployment).or_default().push(more);
            }
            for (deployment, notifications) in batches {
                for chunk in notifications.chunks(MAX_BATCH) {
                    self.forward(&deployment, chunk).await;
                }
            }
        }
    }

    /// Sends one batch, trying again a few times while the control plane cannot be reached;
    /// a refusal (the deployment moved off this node, say) is final.
    async fn forward(&self, deployment: &str, notifications: &[AppNotification]) {
        let url = format!(
            "{}/api/v1/node/deployments/{deployment}/notifications",
            self.control_plane.trim_end_matches('/')
        );
        let batch = NotificationBatch {
            notifications: notifications.to_vec(),
        };
        let mut wait = FIRST_RETRY;
        for attempt in 1..=TRIES {
            let sent = self
                .client
                .post(&url)
                .bearer_auth(&self.token)
                .json(&batch)
                .send()
                .await;
            let why = match sent {
                Ok(response) if response.status().is_success() => return,
                Ok(response) if response.status().is_client_error() => {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    tracing::warn!(
                        "{deployment}: the control plane refused {} notification(s): {status} {text}",
                        notifications.len()
                    );
                    return;
                }
                Ok(response) => format!("{}", response.status()),
                Err(e) => e.to_string(),
            };
            if attempt == TRIES {
                tracing::warn!(
                    "{deployment}: {} notification(s) dropped, the control plane did not take them: {why}",
                    notifications.len()
                );
                return;
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_learns_when_the_queue_is_full_instead_of_the_node_piling_up() {
        let (outbox, mut queue) = Outbox::new();
        let sink = outbox.for_deployment("dep_1");
        for i in 0..QUEUE {
            sink.send(Urgency::High, &format!("alarm {i}"), "CO2 is high")
                .expect("room in the queue");
        }
        match sink.send(Urgency::Low, "one too many", "") {
            Err(Error::LimitExceeded(why)) => assert!(why.contains("1024"), "{why}"),
            other => panic!("{other:?}"),
        }
        let (deployment, first) = queue.try_recv().unwrap();
        assert_eq!(deployment, "dep_1");
        assert_eq!(first.urgency, api::Urgency::High);
        assert_eq!(first.title, "alarm 0");
        // Taken off the queue, there is room again.
        sink.send(Urgency::Low, "room again", "").unwrap();
    }
}
