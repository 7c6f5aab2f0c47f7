//! The data plane's bus: readings flow on one topic per sensor instance and commands on one topic
//! per controller instance, as opaque payloads (`trellis_protocol::record` gives them their
//! format, so the bus knows nothing of values or WebAssembly). Each consumer group (one per
//! deployment, or the device gateway) gets every message of a topic and resumes from its last
//! commit, so delivery is at least once and one sensor feeds every deployment bound to it.
//!
//! [`embedded::EmbeddedBus`] is the in-process backend `trellis up` uses by default;
//! [`kafka::KafkaBus`] carries the same records between processes and machines. [`connect`]
//! picks one from a URL, so the backend is configuration.

pub mod embedded;
pub mod kafka;
mod kafka_security;
mod wait_until;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use embedded::{EmbeddedBus, GroupStatus};
pub use kafka::KafkaBus;
pub use kafka_security::KafkaSecurity;

/// The bus a URL names: `embedded` (in this process) or `kafka://HOST:PORT[,HOST:PORT...]`.
pub fn connect(url: &str) -> Result<Arc<dyn Bus>, BusError> {
    connect_with(url, &KafkaSecurity::default())
}

/// The bus a URL names, as [`connect`] gives it, its Kafka clients using `security`.
pub fn connect_with(url: &str, security: &KafkaSecurity) -> Result<Arc<dyn Bus>, BusError> {
    if let Some(bound) = url.strip_prefix("embedded") {
        return match bound {
            "" => Ok(Arc::new(EmbeddedBus::default())),
            _ => bound
                .strip_prefix("?max-messages=")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n > 0)
                .map(|n| Arc::new(EmbeddedBus::new(n)) as Arc<dyn Bus>)
                .ok_or_else(|| BusError::BadUrl(url.to_string())),
        };
    }
    match url.strip_prefix("kafka://") {
        Some(brokers) if !brokers.is_empty() => {
            Ok(Arc::new(KafkaBus::connect_with(brokers, security)?))
        }
        _ => Err(BusError::BadUrl(url.to_string())),
    }
}

/// Whether `url` names the in-process bus, which lives in the control plane's process and no
/// node process can reach.
pub fn is_embedded(url: &str) -> bool {
    url == "embedded" || url.starts_with("embedded?")
}

/// The topic of a sensor instance's readings.
pub fn sensor_topic(sensor_id: &str) -> String {
    format!("trellis.sensor.{sensor_id}")
}

/// The topic of a controller instance's commands.
pub fn controller_topic(controller_id: &str) -> String {
    format!("trellis.controller.{controller_id}")
}

/// Why the bus refused.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The backend could not be reached or refused.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    /// A bus URL that names no backend.
    #[error(
        "bus URL `{0}` names no bus: use `embedded`, `embedded?max-messages=N` (N above 0) or `kafka://HOST:PORT[,HOST:PORT...]`"
    )]
    BadUrl(String),
}

/// One message as a subscriber receives it.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub topic: String,
    pub offset: u64,
    pub payload: Vec<u8>,
}

/// A bus backend.
pub trait Bus: Send + Sync {
    /// Appends `payload` to `topic`. A consumer group too far behind loses its oldest messages
    /// rather than holding the publisher back.
    fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<u64, BusError>;
    /// [`Bus::publish`], waiting on the bus no later than `deadline` (an app's call, which must
    /// end at its own deadline). A publish that reached it is an error, though the message may
    /// still arrive later. The default suits a backend that never waits.
    fn publish_until(
        &self,
        topic: &str,
        payload: Vec<u8>,
        _deadline: Instant,
    ) -> Result<u64, BusError> {
        self.publish(topic, payload)
    }
    /// Appends each of `payloads` to `topic`, in order, sending them together where the
    /// backend can. On an error some may be on the bus already: the caller sends them all
    /// again, and readers drop what they have seen by its sequence number.
    fn publish_all(&self, topic: &str, payloads: Vec<Vec<u8>>) -> Result<(), BusError> {
        for payload in payloads {
            self.publish(topic, payload)?;
        }
        Ok(())
    }
    /// Joins consumer `group` on `topic`. A new group starts at the end of the topic; a known
    /// one resumes after its last commit.
    fn subscribe(&self, topic: &str, group: &str) -> Result<Box<dyn Subscription>, BusError>;
    /// Forgets consumer `group` on `topic`: its deployment no longer runs here, so what it has
    /// not read need not be kept for it. A broker's groups expire on their own; the default
    /// does nothing.
    fn leave(&self, _topic: &str, _group: &str) {}
    /// Whether the bus answers now, for a clear error at start rather than at first use.
    fn check(&self) -> Result<(), BusError> {
        Ok(())
    }
}

/// A group's reader of one topic.
pub trait Subscription: Send {
    /// The next message, waiting up to `timeout`.
    fn next(&mut self, timeout: Duration) -> Option<Delivery>;
    /// Marks everything up to and including `delivery` as handled by the group.
    fn commit(&mut self, delivery: &Delivery);
    /// How many messages of the topic this reader has not read yet, when the backend can tell
    /// without a round trip to a broker; `None` when it cannot.
    fn lag(&self) -> Option<u64> {
        None
    }
    /// How many messages of the topic were dropped before this reader's group read them (a
    /// bounded log let them go), since the group joined; `None` when the backend drops none
    /// it could count.
    fn dropped(&self) -> Option<u64> {
        None
    }
}
