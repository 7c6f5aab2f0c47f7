//! The in-process bus: per topic, an append-only log shared by its consumer groups, each with
//! a committed offset. A message stays until every group has committed it, within a bound on the
//! topic's messages and bytes: beyond it the oldest message goes, and each group that had not
//! read it is told so (its `dropped` count grows and a warning names it). So a group that is far
//! behind, or whose instance stopped, never makes publishers wait or fail for the others; a group
//! whose deployment no longer runs here leaves ([`Bus::leave`]) and holds nothing at all.
//!
//! It lives and dies with its process, yet offsets must still only grow across its lives: apps'
//! state records the offset of the last reading it holds and skips what is at or below it. So a
//! topic's first offset is the microsecond it was created at, past every offset an earlier life
//! of the process could have handed out (unless it published more than a million messages a
//! second on one topic, far above what it carries).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::{Bus, BusError, Delivery, Subscription};

/// The most messages a topic keeps for its slowest group unless told otherwise.
pub const DEFAULT_MAX_MESSAGES: usize = 10_000;
/// The most bytes a topic keeps for its slowest group unless told otherwise: 64 MiB.
pub const DEFAULT_MAX_BYTES: usize = 64 << 20;

/// One consumer group of a topic.
#[derive(Default)]
struct Group {
    /// Next offset to read.
    committed: u64,
    /// Messages dropped before this group read them.
    dropped: u64,
    /// `dropped` when a warning last said it, so warnings come at each tenfold, not each drop.
    told: u64,
    /// Live subscriptions of the group.
    members: usize,
    /// Asked to leave while a member still reads: it goes when the last member does, unless
    /// someone joins it again first (its deployment moved to another node of this process).
    leaving: bool,
}

/// A consumer group of a topic as [`EmbeddedBus::groups`] shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupStatus {
    pub group: String,
    /// Messages published that the group has not committed yet.
    pub lag: u64,
    /// Messages dropped before the group read them, since it joined.
    pub dropped: u64,
}

/// A topic and its own lock: readers of one topic never wait on another's publishers.
#[derive(Default)]
struct TopicCell {
    topic: Mutex<Topic>,
    /// Woken by a publish, for readers waiting on this topic alone.
    published: Condvar,
}

struct Topic {
    /// Readers waiting in `next`, so a publish with none skips the wake-up.
    waiting: usize,
    /// Offset of `log[0]`.
    base: u64,
    log: VecDeque<Arc<Vec<u8>>>,
    /// The payload bytes in `log`.
    bytes: usize,
    groups: HashMap<String, Group>,
}

impl Default for Topic {
    fn default() -> Topic {
        Topic::new()
    }
}

impl Topic {
    /// An empty topic whose first offset is now, in microseconds since the Unix epoch.
    fn new() -> Topic {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        Topic {
            waiting: 0,
            base: now,
            log: VecDeque::new(),
            bytes: 0,
            groups: HashMap::new(),
        }
    }

    fn end(&self) -> u64 {
        self.base + self.log.len() as u64
    }

    fn pop(&mut self) {
        if let Some(payload) = self.log.pop_front() {
            self.bytes -= payload.len();
            self.base += 1;
        }
    }

    /// Removes `group` if it was asked to leave and nobody reads it any more, and what only it
    /// held.
    fn forget_if_left(&mut self, group: &str) {
        if self
            .groups
            .get(group)
            .is_some_and(|g| g.leaving && g.members == 0)
        {
            self.groups.remove(group);
            self.trim();
        }
    }

    /// Drops what every group has committed.
    fn trim(&mut self) {
        let slowest = self
            .groups
            .values()
            .map(|g| g.committed)
            .min()
            .unwrap_or(self.end());
        while self.base < slowest && !self.log.is_empty() {
            self.pop();
        }
    }

    /// Drops the oldest messages until the log is within `max_messages` and `max_bytes` (the
    /// newest message always stays), and counts them for each group that had not read them.
    fn bound(&mut self, name: &str, max_messages: usize, max_bytes: usize) {
        while self.log.len() > 1 && (self.log.len() > max_messages || self.bytes > max_bytes) {
            self.pop();
        }
        let base = self.base;
        for (group_name, group) in &mut self.groups {
            if group.committed >= base {
                continue;
            }
            group.dropped += base - group.committed;
            group.committed = base;
            if group.told == 0 || group.dropped >= group.told.saturating_mul(10) {
                tracing::warn!(
                    "bus: consumer group `{group_name}` fell too far behind on {name}: \
                     {} message(s) dropped for it so far",
                    group.dropped
                );
                group.told = group.dropped;
            }
        }
    }
}

/// The topics by name; each is locked on its own once found.
#[derive(Default)]
struct Shared {
    topics: Mutex<HashMap<String, Arc<TopicCell>>>,
}

impl Shared {
    /// The topic named `name`, created empty if it does not exist yet.
    fn topic(&self, name: &str) -> Arc<TopicCell> {
        let mut topics = self.topics.lock().expect("bus lock");
        match topics.get(name) {
            Some(cell) => cell.clone(),
            None => topics.entry(name.to_string()).or_default().clone(),
        }
    }

    /// The topic named `name`, if it exists.
    fn existing(&self, name: &str) -> Option<Arc<TopicCell>> {
        self.topics.lock().expect("bus lock").get(name).cloned()
    }
}

/// The in-process bus; clones share it.
#[derive(Clone)]
pub struct EmbeddedBus {
    shared: Arc<Shared>,
    max_messages: usize,
    max_bytes: usize,
}

impl EmbeddedBus {
    /// A bus whose topics keep at most `max_messages` for their slowest group (and
    /// [`DEFAULT_MAX_BYTES`]).
    pub fn new(max_messages: usize) -> EmbeddedBus {
        EmbeddedBus::with_limits(max_messages, DEFAULT_MAX_BYTES)
    }

    /// A bus whose topics keep at most `max_messages` and `max_bytes` of payload for their
    /// slowest group.
    pub fn with_limits(max_messages: usize, max_bytes: usize) -> EmbeddedBus {
        EmbeddedBus {
            shared: Arc::default(),
            max_messages: max_messages.max(1),
            max_bytes,
        }
    }

    /// The consumer groups of `topic`, by name, with how far behind each is and how many
    /// messages were dropped before it read them.
    pub fn groups(&self, topic: &str) -> Vec<GroupStatus> {
        let Some(cell) = self.shared.existing(topic) else {
            return Vec::new();
        };
        let entry = cell.topic.lock().expect("bus lock");
        let mut groups: Vec<GroupStatus> = entry
            .groups
            .iter()
            .map(|(name, group)| GroupStatus {
                group: name.clone(),
                lag: entry.end().saturating_sub(group.committed),
                dropped: group.dropped,
            })
            .collect();
        groups.sort_by(|a, b| a.group.cmp(&b.group));
        groups
    }
}

impl EmbeddedBus {
    /// Appends `payload` to `entry` (the topic `name`), within the bounds; its offset.
    fn append(&self, entry: &mut Topic, name: &str, payload: Vec<u8>) -> u64 {
        let offset = entry.end();
        // With no group yet, nobody is bound to this topic: nothing waits for it.
        if entry.groups.is_empty() {
            entry.base += 1;
        } else {
            entry.bytes += payload.len();
            entry.log.push_back(Arc::new(payload));
            entry.bound(name, self.max_messages, self.max_bytes);
        }
        offset
    }
}

impl Default for EmbeddedBus {
    fn default() -> Self {
        EmbeddedBus::with_limits(DEFAULT_MAX_MESSAGES, DEFAULT_MAX_BYTES)
    }
}

impl Bus for EmbeddedBus {
    fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<u64, BusError> {
        let cell = self.shared.topic(topic);
        let mut entry = cell.topic.lock().expect("bus lock");
        let offset = self.append(&mut entry, topic, payload);
        if entry.waiting > 0 {
            cell.published.notify_all();
        }
        Ok(offset)
    }

    fn publish_all(&self, topic: &str, payloads: Vec<Vec<u8>>) -> Result<(), BusError> {
        let cell = self.shared.topic(topic);
        let mut entry = cell.topic.lock().expect("bus lock");
        for payload in payloads {
            self.append(&mut entry, topic, payload);
        }
        if entry.waiting > 0 {
            cell.published.notify_all();
        }
        Ok(())
    }

    fn subscribe(&self, topic: &str, group: &str) -> Result<Box<dyn Subscription>, BusError> {
        let cell = self.shared.topic(topic);
        let mut entry = cell.topic.lock().expect("bus lock");
        let end = entry.end();
        let joined = entry
            .groups
            .entry(group.to_string())
            .or_insert_with(|| Group {
                committed: end,
                ..Group::default()
            });
        joined.members += 1;
        joined.leaving = false;
        let position = joined.committed;
        drop(entry);
        Ok(Box::new(EmbeddedSubscription {
            cell,
            topic: topic.to_string(),
            group: group.to_string(),
            position,
        }))
    }

    fn leave(&self, topic: &str, group: &str) {
        let Some(cell) = self.shared.existing(topic) else {
            return;
        };
        let mut entry = cell.topic.lock().expect("bus lock");
        if let Some(leaving) = entry.groups.get_mut(group) {
            leaving.leaving = true;
            entry.forget_if_left(group);
        }
    }
}

struct EmbeddedSubscription {
    cell: Arc<TopicCell>,
    topic: String,
    group: String,
    /// Next offset to read.
    position: u64,
}

impl Drop for EmbeddedSubscription {
    fn drop(&mut self) {
        let mut topic = self.cell.topic.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(group) = topic.groups.get_mut(&self.group) {
            group.members = group.members.saturating_sub(1);
        }
        topic.forget_if_left(&self.group);
    }
}

impl Subscription for EmbeddedSubscription {
    fn next(&mut self, timeout: Duration) -> Option<Delivery> {
        let deadline = Instant::now() + timeout;
        let mut topic = self.cell.topic.lock().expect("bus lock");
        loop {
            // A commit by another member of the group may have moved past us.
            let committed = topic
                .groups
                .get(&self.group)
                .map_or(topic.base, |g| g.committed);
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
            topic.waiting += 1;
            topic = self
                .cell
                .published
                .wait_timeout(topic, left)
                .expect("bus lock")
                .0;
            topic.waiting -= 1;
        }
    }

    fn commit(&mut self, delivery: &Delivery) {
        let mut topic = self.cell.topic.lock().expect("bus lock");
        let group = topic.groups.entry(self.group.clone()).or_default();
        group.committed = group.committed.max(delivery.offset + 1);
        topic.trim();
    }

    fn lag(&self) -> Option<u64> {
        let topic = self.cell.topic.lock().expect("bus lock");
        let committed = topic
            .groups
            .get(&self.group)
            .map_or(topic.base, |g| g.committed);
        let next = self.position.max(committed).max(topic.base);
        Some(topic.end().saturating_sub(next))
    }

    fn dropped(&self) -> Option<u64> {
        let topic = self.cell.topic.lock().expect("bus lock");
        Some(topic.groups.get(&self.group).map_or(0, |g| g.dropped))
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
}
