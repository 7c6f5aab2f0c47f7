//! The log service: every instance's log lines (shipped by nodes in batches) and every lifecycle
//! event (shipped by nodes, or written here by the control plane itself), stored in the registry
//! database with a text-search index, kept within an age and a size, read by page, by download
//! or live.
//!
//! One writer gives every line its id under a lock, so ids follow the order lines were stored
//! in: a page read with `before` and the live tail read with `after` never skip a line.

pub mod filter;
pub mod retention;

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::AnyPool;
use tokio::sync::{Mutex, broadcast};
use trellis_protocol::logs::{LogBatch, LogLevel, LogLine, LogSource};

use crate::db::logs::{self as store, Dialect, NewLine};
use crate::ids::now_ms;

/// The longest text kept of one line; a node cuts lines to its instances' limit (4 KiB) first,
/// so this only guards against a node that does not.
pub const MAX_TEXT_BYTES: usize = 16 << 10;

/// A line as the live tail receives it: what readers see, and whose it is.
#[derive(Clone, Debug)]
pub struct Stored {
    pub line: LogLine,
    pub owner: Option<String>,
}

/// Batches of stored lines, for live tails; a tail that falls this far behind is told how many
/// it missed.
const TAIL_BATCHES: usize = 1024;

pub struct LogService {
    db: AnyPool,
    dialect: Dialect,
    /// The next line's id, read from the table on the first write.
    next_id: Mutex<Option<i64>>,
    tail: broadcast::Sender<Arc<Vec<Stored>>>,
}

impl LogService {
    pub fn new(db: AnyPool, dialect: Dialect) -> LogService {
        LogService {
            db,
            dialect,
            next_id: Mutex::new(None),
            tail: broadcast::channel(TAIL_BATCHES).0,
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Live lines, as they are stored.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Vec<Stored>>> {
        self.tail.subscribe()
    }

    /// Stores `lines` and hands them to live tails; returns how many were stored.
    pub async fn store(&self, mut lines: Vec<NewLine>) -> sqlx::Result<u64> {
        if lines.is_empty() {
            return Ok(0);
        }
        for line in &mut lines {
            cut(&mut line.text);
        }
        let mut next_id = self.next_id.lock().await;
        let first = match *next_id {
            Some(id) => id,
            None => store::last_id(&self.db).await? + 1,
        };
        store::insert(&self.db, first, &lines).await?;
        *next_id = Some(first + lines.len() as i64);
        let count = lines.len() as u64;
        let stored: Vec<Stored> = lines
            .into_iter()
            .enumerate()
            .map(|(i, line)| Stored {
                owner: line.owner.clone(),
                line: line.into_api(first + i as i64),
            })
            .collect();
        // Sent under the lock, so tails receive batches in id order; no tail is no error.
        let _ = self.tail.send(Arc::new(stored));
        Ok(count)
    }

    /// Records a lifecycle event of the control plane's own. A failure to record it is logged,
    /// never the failure of what it tells of.
    pub async fn event(&self, event: Event<'_>) {
        let mut line = NewLine {
            at: now_ms(),
            level: event.level,
            source: LogSource::Platform,
            event: Some(event.kind.into()),
            node: event.node.map(str::to_string),
            deployment_id: event.deployment.map(str::to_string),
            instance: None,
            app: event.app.map(str::to_string),
            app_version: None,
            owner: None,
            text: event.text,
        };
        if let Some(deployment) = event.deployment {
            match store::deployment_origin(&self.db, deployment).await {
                Ok(Some((app, version, owner))) => {
                    line.app = Some(app);
                    line.app_version = Some(version);
                    line.owner = Some(owner);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("looking up deployment {deployment} for its log: {e}"),
            }
        }
        if let Err(e) = self.store(vec![line]).await {
            tracing::warn!("recording a {} event: {e}", event.kind);
        }
    }

    /// Stores a batch from node `node`, each line with its deployment's app and owner, and an
    /// event for the lines the node had to drop.
    pub async fn from_node(&self, node: &str, batch: LogBatch) -> sqlx::Result<u64> {
        let mut origins: HashMap<String, Option<(String, String)>> = HashMap::new();
        // The version a line ran is the node's word (the deployment may have moved on since).
        let mut lines = Vec::with_capacity(batch.lines.len() + 1);
        for shipped in batch.lines {
            let origin = match &shipped.deployment {
                Some(id) => match origins.get(id) {
                    Some(origin) => origin.clone(),
                    None => {
                        let origin = store::deployment_origin(&self.db, id)
                            .await?
                            .map(|(app, _, owner)| (app, owner));
                        origins.insert(id.clone(), origin.clone());
                        origin
                    }
                },
                None => None,
            };
            let (app, owner) = origin.unzip();
            lines.push(NewLine {
                at: shipped.at_ms,
                level: shipped.level,
                source: shipped.source,
                event: shipped.event,
                node: Some(node.to_string()),
                deployment_id: shipped.deployment,
                instance: shipped.instance,
                app,
                app_version: shipped.app_version,
                owner,
                text: shipped.text,
            });
        }
        if batch.dropped > 0 {
            lines.push(NewLine {
                at: now_ms(),
                level: LogLevel::Warn,
                source: LogSource::Platform,
                event: Some("dropped".into()),
                node: Some(node.to_string()),
                deployment_id: None,
                instance: None,
                app: None,
                app_version: None,
                owner: None,
                text: format!(
                    "node {node} dropped {} log line(s): its buffer was full while the control \
                     plane was unreachable",
                    batch.dropped
                ),
            });
        }
        self.store(lines).await
    }
}

/// A lifecycle event the control plane records.
pub struct Event<'a> {
    pub kind: &'static str,
    pub level: LogLevel,
    pub node: Option<&'a str>,
    pub deployment: Option<&'a str>,
    /// For an event of an app rather than a deployment (an upload).
    pub app: Option<&'a str>,
    pub text: String,
}

/// Cuts `text` to [`MAX_TEXT_BYTES`] on a character boundary, saying so.
fn cut(text: &mut String) {
    if text.len() <= MAX_TEXT_BYTES {
        return;
    }
    let cut = trellis_host::capabilities::log::cut_line(text, MAX_TEXT_BYTES).into_owned();
    *text = cut;
}
