//! The in-process bus: per topic, an append-only log shared by its consumer groups, each with
//! a committed offset. A message stays until every group has committed it; a publisher waits
//! while any group is `capacity` messages behind, so nothing accepted is dropped.
//!
//! It lives and dies with its process, yet offsets must still only grow across its lives: apps'
//! state records the offset of the last reading it holds and skips what is at or below it. So a
//! topic's first offset is the microsecond it was created at, past every offset an earlier life
//! of the process could have handed out (unless it published more than a million messages a
//! second on one topic, far above what it carries).

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::{Bus, BusError, Delivery, Subscription};

/// How long a publisher waits for a slow group before giving up.
const PUBLISH_PATIENCE: Duration = Duration::from_secs(5);

struct Topic {
    /// Offset of `log[0]`.
    base: u64,
    log: std::collections::VecDeque<Arc<Vec<u8>>>,
    /// Committed offset (next to read) per group.
    groups: HashMap<String, u64>,
}

impl Topic {
    /// An empty topic whose first offset is now, in microseconds since the Unix epoch.
    fn new() -> Topic {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        Topic {
            base: now,
            log: Default::default(),
            groups: HashMap::new(),
        }
    }

    fn end(&self) -> u64 {
        self.base + self.log.len() as u64
    }

    fn behind(&self) -> usize {
        let slowest = self.groups.values().copied().min().unwrap_or(self.end());
        (self.end() - slowest) as usize
    }

    /// Drops what every group has committed.
    fn trim(&mut self) {
        let slowest = self.groups.values().copied().min().unwrap_or(self.end());
        while self.base < slowest && !self.log.is_empty() {
            self.log.pop_front();
            self.base += 1;
        }
    }
}

#[derive(Default)]
struct Shared {
    topics: Mutex<HashMap<String, Topic>>,
    changed: Condvar,
}

/// The in-process bus; clones share it.
#[derive(Clone)]
pub struct EmbeddedBus {
    shared: Arc<Shared>,
    capacity: usize,
}

impl EmbeddedBus {
    /// A bus whose groups may fall `capacity` messages behind before publishers wait.
    pub fn new(capacity: usize) -> EmbeddedBus {
        EmbeddedBus {
            shared: Arc::default(),
            capacity,
        }
    }
}

impl Default for EmbeddedBus {
    fn default() -> Self {
        EmbeddedBus::new(10_000)
    }
}

impl Bus for EmbeddedBus {
    fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<u64, BusError> {
        let deadline = Instant::now() + PUBLISH_PATIENCE;
        let mut topics = self.shared.topics.lock().expect("bus lock");
        loop {
            let entry = topics.entry(topic.to_string()).or_insert_with(Topic::new);
            if entry.behind() < self.capacity {
                let offset = entry.end();
                // With no group yet, nobody is bound to this topic: nothing waits for it.
                if !entry.groups.is_empty() {
                    entry.log.push_back(Arc::new(payload));
                } else {
                    entry.base += 1;
                }
                self.shared.changed.notify_all();
                return Ok(offset);
            }
            let behind = entry.behind();
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(BusError::Full {
                    topic: topic.to_string(),
                    behind,
                });
            }
            topics = self
                .shared
                .changed
                .wait_timeout(topics, left)
                .expect("bus lock")
                .0;
        }
    }

    fn subscribe(&self, topic: &str, group: &str) -> Result<Box<dyn Subscription>, BusError> {
        let mut topics = self.shared.topics.lock().expect("bus lock");
        let entry = topics.entry(topic.to_string()).or_insert_with(Topic::new);
        let end = entry.end();
        let position = *entry.groups.entry(group.to_string()).or_insert(end);
        Ok(Box::new(EmbeddedSubscription {
            shared: self.shared.clone(),
            topic: topic.to_string(),
            group: group.to_string(),
            position,
        }))
    }
}

struct EmbeddedSubscription {
    shared: Arc<Shared>,
    topic: String,
    group: String,
    /// Next offset to read.
    position: u64,
}

impl Subscription for EmbeddedSubscription {
    fn next(&mut self, timeout: Duration) -> Option<Delivery> {
        let deadline = Instant::now() + timeout;
        let mut topics = self.shared.topics.lock().expect("bus lock");
        loop {
            let topic = topics.get(&self.topic)?;
            // A commit by another member of the group may have moved past us.
            let committed = topic.groups.get(&self.group).copied().unwrap_or(topic.base);
            self.position = self.position.max(committed).max(topic.base);
            if self.position < topic.end() {
                let payload = topic.log[(self.position - topic.base) as usize]
                    .as_ref()
                    .clone();
                let delivery = Delivery {
                    topic: self.topic.clone(),
                    offset: self.position,
                    payload,
                };
                self.position += 1;
                return Some(delivery);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            topics = self
                .shared
                .changed
                .wait_timeout(topics, left)
                .expect("bus lock")
                .0;
        }
    }

    fn commit(&mut self, delivery: &Delivery) {
        let mut topics = self.shared.topics.lock().expect("bus lock");
        if let Some(topic) = topics.get_mut(&self.topic) {
            let committed = topic.groups.entry(self.group.clone()).or_insert(0);
            *committed = (*committed).max(delivery.offset + 1);
            topic.trim();
            self.shared.changed.notify_all();
        }
    }

    fn lag(&self) -> Option<u64> {
        let topics = self.shared.topics.lock().expect("bus lock");
        let topic = topics.get(&self.topic)?;
        let committed = topic.groups.get(&self.group).copied().unwrap_or(topic.base);
        let next = self.position.max(committed).max(topic.base);
        Some(topic.end().saturating_sub(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_millis(200);

    #[test]
    fn a_new_life_of_the_bus_hands_out_higher_offsets_than_the_last() {
        let before = EmbeddedBus::default();
        let mut reader = before.subscribe("t", "g").unwrap();
        for n in 0..100u8 {
            before.publish("t", vec![n]).unwrap();
        }
        let last = std::iter::from_fn(|| reader.next(Duration::ZERO))
            .last()
            .unwrap()
            .offset;
        drop((reader, before));
        std::thread::sleep(Duration::from_millis(2));
        let after = EmbeddedBus::default();
        let mut reader = after.subscribe("t", "g").unwrap();
        after.publish("t", vec![0]).unwrap();
        let first = reader.next(WAIT).unwrap().offset;
        assert!(first > last, "offset {first} after {last}");
    }

    #[test]
    fn a_slow_group_holds_publishers_back_instead_of_losing_messages() {
        let bus = EmbeddedBus::new(2);
        let mut slow = bus.subscribe("t", "slow").unwrap();
        bus.publish("t", vec![1]).unwrap();
        bus.publish("t", vec![2]).unwrap();
        let publisher = {
            let bus = bus.clone();
            std::thread::spawn(move || bus.publish("t", vec![3]))
        };
        std::thread::sleep(Duration::from_millis(100));
        assert!(!publisher.is_finished(), "published past a full group");
        let d = slow.next(WAIT).unwrap();
        slow.commit(&d);
        publisher.join().unwrap().unwrap();
        let rest: Vec<u8> = (0..2)
            .map(|_| slow.next(WAIT).unwrap().payload[0])
            .collect();
        assert_eq!(rest, [2, 3]);
    }
}
