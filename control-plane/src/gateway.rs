//! The device gateway: the way onto the bus for sensors and controllers that speak HTTP rather
//! than Kafka. Readings go onto the bus exactly as Kafka producers would put them; each
//! controller's commands are read as the gateway's consumer group and kept between the device's
//! long-polls, so a command sent while no poll is waiting is not lost, and until the device
//! acknowledges it, so a command whose answer was lost comes again (`commands`).
//!
//! Bus calls may block (Kafka): publishing and subscribing run on the blocking pool for the
//! moment they take, and waiting for commands takes no thread at all.

mod commands;
mod value_kinds;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use trellis_bus::{Bus, BusError, Subscription, controller_topic, sensor_topic};
use trellis_protocol::Value;
use trellis_protocol::api::Accepted;
use trellis_protocol::live::LiveEvent;
use trellis_protocol::record::ReadingRecord;

use crate::error::ApiError;
use crate::ids::{now_ms, rfc3339};
use crate::live::LiveHub;
use crate::metrics::SensorLabels;
use crate::readings::Recorder;
use commands::CommandDelivery;
pub use commands::Polled;
pub use value_kinds::{Declared, DeclaredKinds};

/// A reading as a device sent it, its value read.
pub struct Incoming {
    pub value: Value,
    pub sequence: Option<u64>,
    pub timestamp_ms: Option<i64>,
}

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
    /// A reading the gateway does not take as it is; the message says why.
    #[error("{0}")]
    Refused(String),
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
            GatewayError::Refused(message) => {
                ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, message)
            }
            GatewayError::Internal(message) => ApiError::internal(message),
        }
    }
}

/// Readings in, commands out, for devices on HTTP; shared by every request.
pub struct DeviceGateway {
    bus: Arc<dyn Bus>,
    /// By sensor id. Held only to count, never across an await; a panic cannot poison it.
    sensors: Mutex<HashMap<String, SensorCounters>>,
    /// What each sensor's readings must be.
    declared: DeclaredKinds,
    /// Each controller's commands, kept until its device acknowledges them.
    commands: Arc<CommandDelivery>,
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
            declared: DeclaredKinds::default(),
            commands: CommandDelivery::start(),
            passed_on,
            recorder,
            live,
        }
    }

    /// What each sensor's readings must be, as far as the gateway has looked it up.
    pub fn declared(&self) -> &DeclaredKinds {
        &self.declared
    }

    /// Puts readings of `sensor` on its topic, in order and in one publish, if each is of the
    /// kind `declared`; otherwise none, and the error names the first that is not (by its place,
    /// when there is more than one). A reading without the device's own `sequence` is numbered
    /// after the one before it; one without `timestamp_ms` is stamped now.
    pub async fn accept_readings(
        &self,
        sensor: &str,
        declared: &Declared,
        readings: Vec<Incoming>,
    ) -> Result<Vec<Accepted>, GatewayError> {
        let count = readings.len();
        let place = |i: usize, why: String| match count {
            1 => GatewayError::Refused(why),
            _ => GatewayError::Refused(format!("reading {} of {count}: {why}", i + 1)),
        };
        for (i, reading) in readings.iter().enumerate() {
            declared
                .check(sensor, &reading.value)
                .map_err(|why| place(i, why))?;
        }
        let sequences = {
            let mut sensors = self.sensors.lock();
            let seen = sensors.entry(sensor.to_string()).or_default();
            let mut last = seen.last_sequence;
            let mut sequences = Vec::with_capacity(count);
            for (i, reading) in readings.iter().enumerate() {
                last = match reading.sequence {
                    Some(sequence) => sequence,
                    None => last.checked_add(1).ok_or_else(|| {
                        place(
                            i,
                            format!(
                                "sequence: the last reading of sensor {sensor} was numbered \
                                 {last}, the largest there is; send a `sequence` of your own to \
                                 start again"
                            ),
                        )
                    })?,
                };
                sequences.push(last);
            }
            seen.last_sequence = last;
            sequences
        };
        let now = now_ms();
        let records: Vec<ReadingRecord> = readings
            .into_iter()
            .zip(sequences)
            .map(|(reading, sequence)| ReadingRecord {
                id: format!("{sensor}-{sequence}"),
                sensor: sensor.to_string(),
                sequence,
                timestamp_ms: reading.timestamp_ms.unwrap_or(now),
                value: reading.value,
            })
            .collect();
        let payloads = records
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal)?;
        let bus = self.bus.clone();
        let topic = sensor_topic(sensor);
        tokio::task::spawn_blocking(move || bus.publish_all(&topic, payloads))
            .await
            .map_err(internal)?
            .map_err(GatewayError::Unavailable)?;
        let mut accepted = Vec::with_capacity(records.len());
        for record in records {
            self.recorder
                .record(sensor, record.timestamp_ms, &record.value)
                .await;
            self.live.publish(LiveEvent::Reading {
                sensor: sensor.to_string(),
                value: record.value.to_json(),
                at: rfc3339(record.timestamp_ms),
            });
            accepted.push(Accepted {
                id: record.id,
                sequence: record.sequence,
            });
        }
        self.passed_on
            .get_or_create(&SensorLabels {
                sensor: sensor.to_string(),
            })
            .inc_by(accepted.len() as u64);
        Ok(accepted)
    }

    /// The commands of `controller` its device has not acknowledged, after dropping those up
    /// to `ack`, waiting up to `wait` for one if there are none; each is told to the live views
    /// the first time it is handed out. A newer poll of the same controller replaces this one.
    pub async fn commands(
        &self,
        controller: &str,
        ack: Option<u64>,
        wait: Duration,
    ) -> Result<Polled, GatewayError> {
        if !self.commands.has_reader(controller) {
            let reader = self.subscribe(controller).await?;
            self.keep(controller, reader).await;
        }
        let polled = self.commands.poll(controller, ack, wait).await;
        if let Polled::Commands(handed) = &polled {
            for (command, _) in handed.iter().filter(|(_, first)| *first) {
                self.live.publish(LiveEvent::Command {
                    controller: controller.to_string(),
                    command: serde_json::to_value(&command.record.command).unwrap_or_default(),
                    at: rfc3339(now_ms()),
                });
            }
        }
        Ok(polled)
    }

    /// Starts keeping the commands of `controller` for its device, from now on, so a command
    /// sent before the device first polls is not lost. If the bus cannot be reached now, the
    /// device's first poll subscribes instead, and commands sent before that are not kept.
    pub async fn watch_controller(&self, controller: &str) {
        if self.commands.has_reader(controller) {
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
        if let Some(spare) = self.commands.keep(controller, reader) {
            // Closing a reader commits what it handled, which may wait on the bus.
            let _ = tokio::task::spawn_blocking(move || drop(spare)).await;
        }
    }
}

fn internal(error: impl std::fmt::Display) -> GatewayError {
    GatewayError::Internal(error.to_string())
}
