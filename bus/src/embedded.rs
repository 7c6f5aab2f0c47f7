//! The in-process bus: per topic, an append-only log shared by its consumer groups, each with
//! a committed offset. A message stays until every group has committed it; a publisher waits
//! while any group is `capacity` messages behind, so nothing accepted is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::{Bus, BusError, Delivery, Subscription};

/// How long a publisher waits for a slow group before giving up.
const PUBLISH_PATIENCE: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Topic {
    /// Offset of `log[0]`.
    base: u64,
    log: std::collections::VecDeque<Arc<Vec<u8>>>,
    /// Committed offset (next to read) per group.
    groups: HashMap<String, u64>,
}

impl Topic {
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
            let entry = topics.entry(topic.to_string()).or_default();
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
        let entry = topics.entry(topic.to_string()).or_default();
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
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_millis(200);

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
