//! The data plane of one instance on this node: readings of its bound sensors from the bus
//! (consumer group = its deployment, so a moved or restarted instance resumes after the last
//! reading it handled), what `sensors.latest` and `history` answer, and its commands onto each
//! bound controller's topic.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use trellis_bus::{Bus, BusError, Delivery, Subscription, controller_topic, sensor_topic};
use trellis_host::capabilities::{ControllerSink, RecentReadings};
use trellis_host::types::{Command, Error, InstanceInfo, Reading};

use trellis_protocol::node::BoundDevice;
use trellis_protocol::record::{CommandRecord, ReadingRecord};

fn info(device: &BoundDevice) -> InstanceInfo {
    InstanceInfo {
        id: device.id.clone(),
        location: device.location.clone(),
        labels: device.labels.clone(),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What `sensors.latest`, `history` and `instances` answer for an instance bound to `sensors`.
pub fn recent_readings(sensors: &[BoundDevice]) -> RecentReadings {
    let mut roles: BTreeMap<String, Vec<InstanceInfo>> = BTreeMap::new();
    for device in sensors {
        roles
            .entry(device.role.clone())
            .or_default()
            .push(info(device));
    }
    RecentReadings::new(roles)
}

/// Commands of an instance, onto its controllers' topics.
pub struct BusControllers {
    bus: Arc<dyn Bus>,
    deployment: String,
    bound: Vec<BoundDevice>,
    sequence: AtomicU64,
}

impl BusControllers {
    pub fn new(bus: Arc<dyn Bus>, deployment: String, bound: Vec<BoundDevice>) -> BusControllers {
        BusControllers {
            bus,
            deployment,
            bound,
            sequence: AtomicU64::new(0),
        }
    }
}

impl ControllerSink for BusControllers {
    fn send(&self, role: &str, instance_id: Option<&str>, command: Command) -> Result<(), Error> {
        let targets: Vec<&BoundDevice> = self
            .bound
            .iter()
            .filter(|d| d.role == role && instance_id.is_none_or(|id| id == d.id))
            .collect();
        if targets.is_empty() {
            return Err(trellis_host::capabilities::controllers::unknown(role));
        }
        let command = trellis_protocol::Command::from(command);
        for target in targets {
            let sequence = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
            let record = CommandRecord {
                id: format!("{}-{sequence}", self.deployment),
                controller: target.id.clone(),
                deployment: self.deployment.clone(),
                sequence,
                timestamp_ms: now_ms() as i64,
                command: command.clone(),
            };
            let payload = serde_json::to_vec(&record).expect("a command record serialises");
            self.bus
                .publish(&controller_topic(&target.id), payload)
                .map_err(|e| Error::Unavailable(e.to_string()))?;
        }
        Ok(())
    }

    fn instances(&self, role: &str) -> Result<Vec<InstanceInfo>, Error> {
        let found: Vec<InstanceInfo> = self
            .bound
            .iter()
            .filter(|d| d.role == role)
            .map(info)
            .collect();
        if found.is_empty() {
            return Err(trellis_host::capabilities::controllers::unknown(role));
        }
        Ok(found)
    }
}

/// The readings of an instance's bound sensors, from the bus.
pub struct ReadingFeed {
    subscriptions: Vec<(BoundDevice, Box<dyn Subscription>)>,
    next: usize,
}

/// A reading and what commits it once handled.
pub struct Arrived {
    pub reading: Reading,
    index: usize,
    delivery: Delivery,
}

impl ReadingFeed {
    pub fn new(
        bus: &dyn Bus,
        deployment: &str,
        sensors: &[BoundDevice],
    ) -> Result<ReadingFeed, BusError> {
        let subscriptions = sensors
            .iter()
            .map(|d| Ok((d.clone(), bus.subscribe(&sensor_topic(&d.id), deployment)?)))
            .collect::<Result<_, BusError>>()?;
        Ok(ReadingFeed {
            subscriptions,
            next: 0,
        })
    }

    /// The next reading of any bound sensor, waiting up to `timeout`. Records that do not parse
    /// are skipped (and committed), with a warning.
    pub fn next(&mut self, timeout: Duration) -> Option<Arrived> {
        if self.subscriptions.is_empty() {
            std::thread::sleep(timeout);
            return None;
        }
        let deadline = Instant::now() + timeout;
        loop {
            // Round-robin, so one busy sensor does not starve the others.
            for _ in 0..self.subscriptions.len() {
                let index = self.next;
                self.next = (self.next + 1) % self.subscriptions.len();
                let wait = if self.subscriptions.len() == 1 {
                    deadline.saturating_duration_since(Instant::now())
                } else {
                    Duration::ZERO
                };
                let (device, subscription) = &mut self.subscriptions[index];
                let Some(delivery) = subscription.next(wait) else {
                    continue;
                };
                match serde_json::from_slice::<ReadingRecord>(&delivery.payload) {
                    Ok(record) => {
                        let reading = Reading {
                            instance_id: record.sensor,
                            role: device.role.clone(),
                            timestamp: record.timestamp_ms.max(0) as u64,
                            sequence: record.sequence,
                            value: record.value.into(),
                        };
                        return Some(Arrived {
                            reading,
                            index,
                            delivery,
                        });
                    }
                    Err(e) => {
                        tracing::warn!("skipping a malformed reading on {}: {e}", delivery.topic);
                        subscription.commit(&delivery);
                    }
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            std::thread::sleep(left.min(Duration::from_millis(10)));
        }
    }

    /// Marks a reading handled, so the group resumes after it.
    pub fn commit(&mut self, arrived: &Arrived) {
        self.subscriptions[arrived.index]
            .1
            .commit(&arrived.delivery);
    }
}
