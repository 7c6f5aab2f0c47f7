//! Log shipping: every instance's log lines (its log calls, stdout and stderr) and lifecycle
//! events (started, trapped, restarted, stopped) are queued in memory, moved every moment to an
//! append-only buffer on disk in the node's data directory, and sent from there to the control
//! plane's log service in batches (`POST /api/v1/node/logs`). While the control plane cannot be
//! reached the buffer keeps them, up to its bound; the oldest lines beyond it are dropped and
//! counted, and the count goes with the next batch, so no loss goes unreported.

mod buffer;
mod shipper;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use trellis_host::capabilities::LogSink;
use trellis_host::types::Level;
use trellis_protocol::logs::{LogLevel, LogSource, ShippedLine};

pub use buffer::DiskBuffer;
pub use shipper::Shipper;

/// Lines held in memory between moves to disk; beyond it the oldest are dropped and counted
/// (only a node whose disk cannot keep up gets there).
const MEMORY_LINES: usize = 50_000;

/// The node's lines on their way to the disk buffer.
#[derive(Default)]
pub struct LogQueue {
    lines: Mutex<VecDeque<ShippedLine>>,
    dropped: AtomicU64,
    wake: tokio::sync::Notify,
}

impl LogQueue {
    pub fn push(&self, line: ShippedLine) {
        let mut lines = self.lines.lock().expect("log queue lock");
        if lines.len() >= MEMORY_LINES {
            lines.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        lines.push_back(line);
        if lines.len() >= shipper::BATCH_LINES {
            self.wake.notify_one();
        }
    }

    /// Everything queued, and how many lines were dropped since the last take.
    pub(crate) fn take(&self) -> (Vec<ShippedLine>, u64) {
        let lines: Vec<ShippedLine> = self
            .lines
            .lock()
            .expect("log queue lock")
            .drain(..)
            .collect();
        (lines, self.dropped.swap(0, Ordering::Relaxed))
    }
}

/// Gives each instance an id of its own: the moment the node started it and a count.
fn instance_id(deployment: &str) -> String {
    static STARTED: AtomicU64 = AtomicU64::new(0);
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    format!("{deployment}.{:x}{n}", now_ms())
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// One instance's log: its lines and its lifecycle events, labelled with where they came from.
pub struct InstanceLog {
    queue: Arc<LogQueue>,
    deployment: String,
    instance: String,
    app_version: String,
}

impl InstanceLog {
    pub fn new(queue: Arc<LogQueue>, deployment: &str, app_version: &str) -> InstanceLog {
        InstanceLog {
            queue,
            deployment: deployment.into(),
            instance: instance_id(deployment),
            app_version: app_version.into(),
        }
    }

    fn line(&self, level: LogLevel, source: LogSource, event: Option<&str>, text: &str) {
        self.queue.push(ShippedLine {
            at_ms: now_ms(),
            level,
            source,
            event: event.map(str::to_string),
            deployment: Some(self.deployment.clone()),
            instance: Some(self.instance.clone()),
            app_version: Some(self.app_version.clone()),
            text: text.into(),
        });
    }

    /// A lifecycle event of this instance (`started`, `trapped`, `restarted`, `stopped`).
    pub fn event(&self, kind: &str, level: LogLevel, text: &str) {
        self.line(level, LogSource::Platform, Some(kind), text);
    }
}

impl LogSink for InstanceLog {
    fn write(&self, level: Level, line: &str) {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        self.line(level, LogSource::Guest, None, line);
    }
}
