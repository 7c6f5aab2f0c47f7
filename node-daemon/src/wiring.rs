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
    fn send(
        &self,
        role: &str,
        instance_id: Option<&str>,
        command: Command,
        deadline: Option<Instant>,
    ) -> Result<(), Error> {
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
            let topic = controller_topic(&target.id);
            match deadline {
                Some(deadline) => self.bus.publish_until(&topic, payload, deadline),
                None => self.bus.publish(&topic, payload),
            }
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

/// The readings of an instance's bound sensors, from the bus. The group's offsets move only
/// when the caller releases them ([`ReadingFeed::release`]): the instance decides when a reading
/// is safely kept, not the feed.
pub struct ReadingFeed {
    subscriptions: Vec<(BoundDevice, Box<dyn Subscription>)>,
    /// Per subscription, the offset its group was last committed through.
    released: Vec<Option<u64>>,
    next: usize,
}

/// A record of a bound sensor's topic, and where it sits there.
pub struct Arrived {
    /// The reading, or why the record is not one (it is skipped, but counts as handled).
    pub reading: Result<Reading, String>,
    pub topic: String,
    pub offset: u64,
}

impl ReadingFeed {
    pub fn new(
        bus: &dyn Bus,
        deployment: &str,
        sensors: &[BoundDevice],
    ) -> Result<ReadingFeed, BusError> {
        let subscriptions: Vec<_> = sensors
            .iter()
            .map(|d| Ok((d.clone(), bus.subscribe(&sensor_topic(&d.id), deployment)?)))
            .collect::<Result<_, BusError>>()?;
        Ok(ReadingFeed {
            released: vec![None; subscriptions.len()],
            subscriptions,
            next: 0,
        })
    }

    /// The next record of any bound sensor, waiting up to `timeout`.
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
                let reading = serde_json::from_slice::<ReadingRecord>(&delivery.payload)
                    .map(|record| Reading {
                        instance_id: record.sensor,
                        role: device.role.clone(),
                        timestamp: record.timestamp_ms.max(0) as u64,
                        sequence: record.sequence,
                        value: record.value.into(),
                    })
                    .map_err(|e| format!("a malformed reading on {}: {e}", delivery.topic));
                return Some(Arrived {
                    reading,
                    topic: delivery.topic,
                    offset: delivery.offset,
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            std::thread::sleep(left.min(Duration::from_millis(10)));
        }
    }

    /// Readings of the bound sensors the deployment has not read yet, summed over its topics;
    /// `None` when the bus cannot tell for some topic.
    pub fn lag(&self) -> Option<u64> {
        self.subscriptions
            .iter()
            .map(|(_, subscription)| subscription.lag())
            .sum()
    }

    /// Readings of the bound sensors dropped before the deployment read them, summed over its
    /// topics; `None` when the bus cannot tell for some topic.
    pub fn dropped(&self) -> Option<u64> {
        self.subscriptions
            .iter()
            .map(|(_, subscription)| subscription.dropped())
            .sum()
    }

    /// Lets the group forget each topic's records up to and including the offset `through`
    /// gives for it, so a new reader of the deployment resumes after them.
    pub fn release(&mut self, through: &BTreeMap<String, u64>) {
        for ((device, subscription), released) in
            self.subscriptions.iter_mut().zip(&mut self.released)
        {
            let topic = sensor_topic(&device.id);
            let Some(&offset) = through.get(&topic) else {
                continue;
            };
            if released.is_some_and(|r| r >= offset) {
                continue;
            }
            subscription.commit(&Delivery {
                topic,
                offset,
                payload: Vec::new(),
            });
            *released = Some(offset);
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use trellis_bus::EmbeddedBus;

    /// Long enough for a reading already on the bus, short enough that a wait for one that
    /// should not come keeps the tests quick.
    const WAIT: Duration = Duration::from_millis(500);

    fn sensor(id: &str) -> BoundDevice {
        BoundDevice {
            role: "in".into(),
            id: id.into(),
            location: "north/main/room-1".into(),
            labels: Vec::new(),
        }
    }

    /// Puts reading `sequence` of `sensor` on the bus, as the gateway does.
    fn publish(bus: &EmbeddedBus, sensor: &str, sequence: u64) {
        let record = ReadingRecord {
            id: format!("{sensor}-{sequence}"),
            sensor: sensor.into(),
            sequence,
            timestamp_ms: 1_764_400_000_000 + sequence as i64,
            value: trellis_protocol::Value::Number(sequence as f64),
        };
        bus.publish(&sensor_topic(sensor), serde_json::to_vec(&record).unwrap())
            .unwrap();
    }

    /// Releases `arrived` (and what came before it on its topic) to the group.
    fn commit(feed: &mut ReadingFeed, arrived: &Arrived) {
        feed.release(&BTreeMap::from([(arrived.topic.clone(), arrived.offset)]));
    }

    /// The next reading as (sensor, sequence), released.
    fn take(feed: &mut ReadingFeed) -> Option<(String, u64)> {
        let arrived = feed.next(WAIT)?;
        commit(feed, &arrived);
        let reading = arrived.reading.expect("a well-formed reading");
        Some((reading.instance_id, reading.sequence))
    }

    #[test]
    fn readings_of_every_bound_sensor_arrive_in_order_with_their_role() {
        let bus = EmbeddedBus::default();
        let mut feed =
            ReadingFeed::new(&bus, "dep_1", &[sensor("sen_a"), sensor("sen_b")]).unwrap();
        for sequence in 1..=3 {
            publish(&bus, "sen_a", sequence);
            publish(&bus, "sen_b", sequence);
        }
        let mut by_sensor: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        while let Some(arrived) = feed.next(WAIT) {
            commit(&mut feed, &arrived);
            let reading = arrived.reading.unwrap();
            assert_eq!(arrived.topic, sensor_topic(&reading.instance_id));
            assert_eq!(reading.role, "in");
            assert_eq!(
                reading.value,
                trellis_host::types::Value::Number(reading.sequence as f64)
            );
            by_sensor
                .entry(reading.instance_id)
                .or_default()
                .push(reading.sequence);
        }
        assert_eq!(by_sensor["sen_a"], [1, 2, 3]);
        assert_eq!(by_sensor["sen_b"], [1, 2, 3]);
    }

    #[test]
    fn a_busy_sensor_does_not_starve_a_quiet_one() {
        let bus = EmbeddedBus::default();
        let sensors = [sensor("sen_busy"), sensor("sen_quiet")];
        let mut feed = ReadingFeed::new(&bus, "dep_1", &sensors).unwrap();
        const BACKLOG: u64 = 50;
        for sequence in 1..=BACKLOG {
            publish(&bus, "sen_busy", sequence);
        }
        publish(&bus, "sen_quiet", 1);
        // Taking turns, the quiet sensor's one reading comes within one round of both sensors,
        // not behind the busy one's whole backlog.
        let first_round: Vec<(String, u64)> = (0..sensors.len())
            .map(|_| take(&mut feed).expect("a reading"))
            .collect();
        assert!(
            first_round.contains(&("sen_quiet".to_string(), 1)),
            "the first round was {first_round:?}"
        );
        // And the busy sensor's backlog all follows, in order.
        let busy: Vec<u64> = first_round
            .into_iter()
            .chain(std::iter::from_fn(|| take(&mut feed)))
            .filter(|(sensor, _)| sensor == "sen_busy")
            .map(|(_, sequence)| sequence)
            .collect();
        assert_eq!(busy, (1..=BACKLOG).collect::<Vec<_>>());
    }

    #[test]
    fn a_malformed_record_arrives_as_one_and_releasing_it_commits_past_it() {
        let bus = EmbeddedBus::default();
        let mut feed = ReadingFeed::new(&bus, "dep_1", &[sensor("sen_a")]).unwrap();
        bus.publish(&sensor_topic("sen_a"), b"not a reading".to_vec())
            .unwrap();
        bus.publish(&sensor_topic("sen_a"), b"{\"id\":\"half\"}".to_vec())
            .unwrap();
        publish(&bus, "sen_a", 7);
        for _ in 0..2 {
            let malformed = feed.next(WAIT).expect("the malformed record");
            let why = malformed.reading.expect_err("not a reading");
            assert!(why.contains("trellis.sensor.sen_a"), "{why}");
        }
        assert_eq!(take(&mut feed), Some(("sen_a".to_string(), 7)));

        bus.publish(&sensor_topic("sen_a"), b"\xff\xfe".to_vec())
            .unwrap();
        let last = feed.next(WAIT).expect("the malformed record");
        assert!(last.reading.is_err());
        commit(&mut feed, &last);
        // Released, the group has committed past it, so another reader of the deployment's
        // group does not see it again.
        let mut same_group = bus.subscribe(&sensor_topic("sen_a"), "dep_1").unwrap();
        let left = same_group.next(Duration::ZERO).map(|d| d.payload);
        assert_eq!(left, None, "left uncommitted: {left:?}");
    }

    #[test]
    fn what_is_not_released_is_delivered_again_to_the_next_reader() {
        let bus = EmbeddedBus::default();
        let mut first = ReadingFeed::new(&bus, "dep_1", &[sensor("sen_a")]).unwrap();
        for sequence in 1..=3 {
            publish(&bus, "sen_a", sequence);
        }
        let arrived: Vec<Arrived> = std::iter::from_fn(|| first.next(WAIT)).collect();
        assert_eq!(arrived.len(), 3);
        // Only the first is released (say, the last checkpoint includes it).
        commit(&mut first, &arrived[0]);
        drop(first);
        let mut again = ReadingFeed::new(&bus, "dep_1", &[sensor("sen_a")]).unwrap();
        let resumed: Vec<u64> = std::iter::from_fn(|| take(&mut again))
            .map(|(_, sequence)| sequence)
            .collect();
        assert_eq!(resumed, [2, 3]);
    }

    #[test]
    fn a_new_feed_of_the_deployment_resumes_after_its_last_commit() {
        let bus = EmbeddedBus::default();
        let mut first = ReadingFeed::new(&bus, "dep_1", &[sensor("sen_a")]).unwrap();
        for sequence in 1..=3 {
            publish(&bus, "sen_a", sequence);
        }
        let _one = first.next(WAIT).unwrap();
        let two = first.next(WAIT).unwrap();
        let _three = first.next(WAIT).unwrap();
        // Readings 1 and 2 handled; 3 was read but not handled when the instance went away.
        commit(&mut first, &two);
        drop(first);

        publish(&bus, "sen_a", 4);
        let mut again = ReadingFeed::new(&bus, "dep_1", &[sensor("sen_a")]).unwrap();
        let resumed: Vec<u64> = std::iter::from_fn(|| take(&mut again))
            .map(|(_, sequence)| sequence)
            .collect();
        assert_eq!(resumed, [3, 4]);

        // Another deployment bound to the same sensor is a group of its own: it starts from
        // what comes next, not from where this one stopped.
        let mut other = ReadingFeed::new(&bus, "dep_2", &[sensor("sen_a")]).unwrap();
        publish(&bus, "sen_a", 5);
        assert_eq!(take(&mut other), Some(("sen_a".to_string(), 5)));
    }
}
