//! The device gateway: the way onto the bus for sensors and controllers that speak HTTP rather
//! than Kafka. Readings go onto the bus exactly as Kafka producers would put them; each
//! controller's commands are read as the gateway's consumer group and kept between the device's
//! long-polls, so a command sent while no poll is waiting is not lost.
//!
//! Bus calls may block (Kafka), so each runs on the blocking pool, never on the async workers.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use trellis_bus::{Bus, BusError, Subscription, controller_topic, sensor_topic};
use trellis_protocol::Value;
use trellis_protocol::api::Accepted;
use trellis_protocol::live::LiveEvent;
use trellis_protocol::record::{CommandRecord, ReadingRecord};

use crate::error::ApiError;
use crate::ids::{now_ms, rfc3339};
use crate::live::LiveHub;
use crate::metrics::SensorLabels;
use crate::readings::Recorder;

/// Most commands handed out by one poll, so a backlog arrives in bounded answers.
const MAX_COMMANDS: usize = 100;

/// What the gateway has seen of a sensor since this process started.
#[derive(Clone, Debug, Default)]
struct SensorCounters {
    last_sequence: u64,
}

/// Why the gateway could not pass something on.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The bus could not take it now; the device should try again.
    #[error("{0}; retry later")]
    Unavailable(BusError),
    /// A failure of ours (a bus call that panicked, a record that did not encode).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<GatewayError> for ApiError {
    fn from(error: GatewayError) -> ApiError {
        match error {
            GatewayError::Unavailable(_) => ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                error.to_string(),
            ),
            GatewayError::Internal(message) => ApiError::internal(message),
        }
    }
}

/// Readings in, commands out, for devices on HTTP; shared by every request.
pub struct DeviceGateway {
    bus: Arc<dyn Bus>,
    /// By sensor id. A std mutex: it is held only to count, never across an await.
    sensors: Mutex<HashMap<String, SensorCounters>>,
    /// Each controller's command reader between long-polls, by controller id. A poll takes its
    /// controller's reader out while it waits, so the lock is never held across a wait.
    readers: tokio::sync::Mutex<HashMap<String, Box<dyn Subscription>>>,
    /// Readings put on the bus, by sensor, for `/metrics`.
    passed_on: prometheus_client::metrics::family::Family<
        SensorLabels,
        prometheus_client::metrics::counter::Counter,
    >,
    /// Keeps each reading put on the bus for the sensor's history.
    recorder: Recorder,
    /// Told of each reading passed on and each command handed out, for the live views.
    live: Arc<LiveHub>,
}

impl DeviceGateway {
    /// A gateway onto `bus`, keeping no commands yet (see [`DeviceGateway::watch_controller`]),
    /// counting each reading it puts on the bus in `passed_on`, keeping it with `recorder` and
    /// telling `live` of it.
    pub fn new(
        bus: Arc<dyn Bus>,
        passed_on: prometheus_client::metrics::family::Family<
            SensorLabels,
            prometheus_client::metrics::counter::Counter,
        >,
        recorder: Recorder,
        live: Arc<LiveHub>,
    ) -> DeviceGateway {
        DeviceGateway {
            bus,
            sensors: Mutex::default(),
            readers: tokio::sync::Mutex::default(),
            passed_on,
            recorder,
            live,
        }
    }

    /// Puts a reading of `sensor` on its topic. A reading without the device's own `sequence`
    /// is numbered after the last one seen; one without `timestamp_ms` is stamped now.
    pub async fn accept_reading(
        &self,
        sensor: &str,
        value: Value,
        sequence: Option<u64>,
        timestamp_ms: Option<i64>,
    ) -> Result<Accepted, GatewayError> {
        let sequence = {
            let mut sensors = self.sensors.lock().expect("device counters");
            let seen = sensors.entry(sensor.to_string()).or_default();
            let sequence = sequence.unwrap_or(seen.last_sequence + 1);
            seen.last_sequence = sequence;
            sequence
        };
        let record = ReadingRecord {
            id: format!("{sensor}-{sequence}"),
            sensor: sensor.to_string(),
            sequence,
            timestamp_ms: timestamp_ms.unwrap_or_else(now_ms),
            value,
        };
        let payload = serde_json::to_vec(&record).map_err(internal)?;
        let event = LiveEvent::Reading {
            sensor: sensor.to_string(),
            value: record.value.to_json(),
            at: rfc3339(record.timestamp_ms),
        };
        let bus = self.bus.clone();
        let topic = sensor_topic(sensor);
        tokio::task::spawn_blocking(move || bus.publish(&topic, payload))
            .await
            .map_err(internal)?
            .map_err(GatewayError::Unavailable)?;
        self.recorder
            .record(sensor, record.timestamp_ms, &record.value)
            .await;
        self.passed_on
            .get_or_create(&SensorLabels {
                sensor: sensor.to_string(),
            })
            .inc();
        self.live.publish(event);
        Ok(Accepted {
            id: record.id,
            sequence,
        })
    }

    /// The next commands for `controller`, waiting up to `wait` for the first; once one has
    /// arrived, what else is there is taken without waiting.
    pub async fn commands(
        &self,
        controller: &str,
        wait: Duration,
    ) -> Result<Vec<CommandRecord>, GatewayError> {
        // Not under the lock: subscribing may wait on the bus, and other devices poll meanwhile.
        let kept = self.readers.lock().await.remove(controller);
        let reader = match kept {
            Some(reader) => reader,
            None => self.subscribe(controller).await?,
        };
        let (reader, records) = tokio::task::spawn_blocking(move || {
            let mut reader = reader;
            let mut records = Vec::new();
            let mut timeout = wait;
            while let Some(delivery) = reader.next(timeout) {
                if let Ok(record) = serde_json::from_slice::<CommandRecord>(&delivery.payload) {
                    records.push(record);
                }
                reader.commit(&delivery);
                timeout = Duration::ZERO;
                if records.len() >= MAX_COMMANDS {
                    break;
                }
            }
            (reader, records)
        })
        .await
        .map_err(internal)?;
        self.keep(controller, reader).await;
        for record in &records {
            self.live.publish(LiveEvent::Command {
                controller: controller.to_string(),
                command: serde_json::to_value(&record.command).unwrap_or_default(),
                at: rfc3339(now_ms()),
            });
        }
        Ok(records)
    }

    /// Starts keeping the commands of `controller` for its device, from now on, so a command
    /// sent before the device first polls is not lost. If the bus cannot be reached now, the
    /// device's first poll subscribes instead, and commands sent before that are not kept.
    pub async fn watch_controller(&self, controller: &str) {
        if self.readers.lock().await.contains_key(controller) {
            return;
        }
        match self.subscribe(controller).await {
            Ok(reader) => self.keep(controller, reader).await,
            Err(e) => tracing::warn!("watching controller {controller}: {e}"),
        }
    }

    /// Reads `controller`'s commands as the gateway's consumer group.
    async fn subscribe(&self, controller: &str) -> Result<Box<dyn Subscription>, GatewayError> {
        let bus = self.bus.clone();
        let topic = controller_topic(controller);
        tokio::task::spawn_blocking(move || bus.subscribe(&topic, "gateway"))
            .await
            .map_err(internal)?
            .map_err(GatewayError::Unavailable)
    }

    /// Keeps `reader` as `controller`'s, unless another request kept one first.
    async fn keep(&self, controller: &str, reader: Box<dyn Subscription>) {
        let spare = match self.readers.lock().await.entry(controller.to_string()) {
            Entry::Vacant(slot) => {
                slot.insert(reader);
                None
            }
            Entry::Occupied(_) => Some(reader),
        };
        if let Some(spare) = spare {
            // Closing a reader commits what it handled, which may wait on the bus.
            let _ = tokio::task::spawn_blocking(move || drop(spare)).await;
        }
    }
}

fn internal(error: impl std::fmt::Display) -> GatewayError {
    GatewayError::Internal(error.to_string())
}
