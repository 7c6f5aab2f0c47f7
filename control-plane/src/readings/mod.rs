//! The readings store: every reading the device gateway accepts is also kept in the registry
//! database, for each sensor's count, last value and history. Writes happen off the request
//! path: the gateway hands readings to a bounded channel and one task stores what arrived in
//! the last [`BATCH_WINDOW`] in one transaction. A full channel makes the gateway wait rather
//! than drop a reading, and [`Recorder::flush`] stores everything handed over so far (readers
//! call it first, so they see every reading accepted before them; a clean stop calls it last).

pub mod history;
pub mod retention;

use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};
use trellis_protocol::Value;

use crate::db::readings::{self as store, NewReading};

/// How long readings gather before they are stored together.
pub const BATCH_WINDOW: Duration = Duration::from_millis(100);
/// Readings waiting to be stored before the gateway waits for the writer.
const QUEUE: usize = 16_384;

enum Message {
    Reading(NewReading),
    /// Store what came before now, then answer.
    Flush(oneshot::Sender<()>),
}

/// Hands readings to the writer task; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::Sender<Message>,
}

impl Recorder {
    /// Starts the writer task storing into `db` (needs a Tokio runtime).
    pub fn start(db: AnyPool) -> Recorder {
        let (queue, received) = mpsc::channel(QUEUE);
        tokio::spawn(write(db, received));
        Recorder { queue }
    }

    /// Queues `value` of `sensor`, read at `at` (Unix ms), for storing.
    pub async fn record(&self, sensor: &str, at: i64, value: &Value) {
        let reading = NewReading {
            sensor_id: sensor.to_string(),
            at,
            value: stored_json(value).to_string(),
            number: number(value),
        };
        if self.queue.send(Message::Reading(reading)).await.is_err() {
            tracing::warn!("the readings writer has stopped; a reading of {sensor} is not kept");
        }
    }

    /// Returns once every reading queued before the call is stored (or failed to be).
    pub async fn flush(&self) {
        let (done, stored) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            let _ = stored.await;
        }
    }
}

/// The value as kept: its plain JSON, but bytes (camera frames) only as their media type and
/// size, so the history stays small.
fn stored_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Bytes(blob) => serde_json::json!({
            "media_type": blob.media_type,
            "bytes": blob.data.len(),
        }),
        other => other.to_json(),
    }
}

/// The value as a number, for summaries: a number, or a bool as 0 or 1.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) if n.is_finite() => Some(*n),
        Value::Json(text) => match text.trim() {
            "true" => Some(1.0),
            "false" => Some(0.0),
            _ => None,
        },
        _ => None,
    }
}

/// The writer: gathers readings for a window after the first arrives, stores them in one
/// transaction, and answers flushes once what came before them is stored. Ends when every
/// [`Recorder`] is gone, after storing what is left.
async fn write(db: AnyPool, mut received: mpsc::Receiver<Message>) {
    let mut batch = Vec::new();
    let mut waiting = Vec::new();
    while let Some(first) = received.recv().await {
        let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
        let mut next = Some(first);
        loop {
            match next.take() {
                Some(Message::Reading(reading)) => batch.push(reading),
                Some(Message::Flush(done)) => {
                    waiting.push(done);
                    // A reader waits: store now rather than at the window's end.
                    while let Ok(message) = received.try_recv() {
                        match message {
                            Message::Reading(reading) => batch.push(reading),
                            Message::Flush(done) => waiting.push(done),
                        }
                    }
                    break;
                }
                None => {}
            }
            match tokio::time::timeout_at(deadline, received.recv()).await {
                Ok(Some(message)) => next = Some(message),
                Ok(None) | Err(_) => break,
            }
        }
        if !batch.is_empty() {
            if let Err(e) = store::insert(&db, &batch).await {
                tracing::warn!("storing {} reading(s): {e}", batch.len());
            }
            batch.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_bools_are_numeric_and_nothing_else_is() {
        assert_eq!(number(&Value::Number(21.5)), Some(21.5));
        assert_eq!(number(&Value::Json("true".into())), Some(1.0));
        assert_eq!(number(&Value::Json("false".into())), Some(0.0));
        assert_eq!(number(&Value::Text("21".into())), None);
        assert_eq!(number(&Value::Numbers(vec![1.0])), None);
        assert_eq!(number(&Value::Json("{\"t\":1}".into())), None);
    }
}
