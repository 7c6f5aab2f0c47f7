//! The task that moves queued lines to the disk buffer and sends the buffer, oldest first, to
//! the control plane in batches; when a batch is refused or the control plane is away, it keeps
//! the lines and tries again.

use std::sync::Arc;
use std::time::Duration;

use trellis_protocol::logs::{LogBatch, LogBatchAccepted};

use super::buffer::Pending;
use super::{DiskBuffer, LogQueue};

/// Lines per batch.
pub const BATCH_LINES: usize = 1000;
/// How often queued lines are moved to disk and sent.
const EVERY: Duration = Duration::from_millis(250);
/// The longest wait between attempts while the control plane is away.
const MAX_RETRY: Duration = Duration::from_secs(5);

pub struct Shipper {
    pub client: reqwest::Client,
    /// The control plane, e.g. `http://10.0.0.1:7878`.
    pub control_plane: String,
    pub token: String,
    pub queue: Arc<LogQueue>,
    pub buffer: Arc<DiskBuffer>,
}

impl Shipper {
    /// Ships until the task is dropped.
    pub async fn run(self) {
        let url = format!(
            "{}/api/v1/node/logs",
            self.control_plane.trim_end_matches('/')
        );
        let mut wait = EVERY;
        let mut failing = false;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.queue.wake.notified() => {}
            }
            if let Err(e) = self.to_disk().await {
                tracing::warn!("buffering log lines on disk: {e}");
            }
            match self.send_all(&url).await {
                Ok(()) => {
                    if failing {
                        tracing::info!("shipping log lines again");
                    }
                    failing = false;
                    wait = EVERY;
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!("shipping log lines (kept on disk until they go): {e:#}");
                    }
                    failing = true;
                    wait = (wait * 2).min(MAX_RETRY);
                }
            }
        }
    }

    /// Moves what is queued to the disk buffer.
    async fn to_disk(&self) -> anyhow::Result<()> {
        let (lines, dropped) = self.queue.take();
        if lines.is_empty() && dropped == 0 {
            return Ok(());
        }
        let buffer = self.buffer.clone();
        tokio::task::spawn_blocking(move || buffer.append(&lines, dropped)).await??;
        Ok(())
    }

    /// Sends the buffer, a batch at a time, until it is empty or a batch fails.
    async fn send_all(&self, url: &str) -> anyhow::Result<()> {
        loop {
            let buffer = self.buffer.clone();
            let pending: Option<Pending> =
                tokio::task::spawn_blocking(move || buffer.oldest(BATCH_LINES)).await??;
            let Some(pending) = pending else {
                return Ok(());
            };
            let batch = LogBatch {
                lines: pending.lines.clone(),
                dropped: pending.dropped,
            };
            let _: LogBatchAccepted = self
                .client
                .post(url)
                .bearer_auth(&self.token)
                .json(&batch)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let full = pending.lines.len() >= BATCH_LINES;
            let buffer = self.buffer.clone();
            tokio::task::spawn_blocking(move || buffer.delivered(&pending)).await??;
            if !full {
                return Ok(());
            }
        }
    }
}
