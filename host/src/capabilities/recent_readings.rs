//! The sensor backend every embedder needs: the instances bound to each role, and the readings
//! the instance has been fed, kept per role for `latest` and `history`. The node feeds it from the
//! bus; `trellis run` from its simulated sensors.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use super::sensors::{SensorSource, unknown};
use crate::types::{Error, InstanceInfo, Reading, Value};

/// Readings kept per role for `history`.
pub const HISTORY: usize = 256;

/// The bytes of readings kept per role unless told otherwise: 4 MiB, so 256 camera frames of a
/// megabyte do not hold a quarter of a gigabyte per role.
pub const DEFAULT_HISTORY_BYTES: usize = 4 << 20;

/// One role's readings, oldest first, and the bytes they take.
#[derive(Default)]
struct History {
    readings: VecDeque<Reading>,
    bytes: usize,
}

/// Bound sensor instances by role, and the most recent readings of each role: at most
/// [`HISTORY`] and at most its byte bound, the newest always kept.
pub struct RecentReadings {
    roles: BTreeMap<String, Vec<InstanceInfo>>,
    seen: Mutex<BTreeMap<String, History>>,
    max_bytes: usize,
}

/// About what a reading takes in memory: its strings, its value's contents and a fixed part.
fn size_of(reading: &Reading) -> usize {
    let value = match &reading.value {
        Value::Number(_) => 8,
        Value::Numbers(numbers) => numbers.len() * 8,
        Value::Text(text) | Value::Json(text) => text.len(),
        Value::Bytes(blob) => blob.media_type.len() + blob.data.len(),
    };
    std::mem::size_of::<Reading>() + reading.instance_id.len() + reading.role.len() + value
}

impl RecentReadings {
    /// A role with no instances is still bound (its history stays empty). Each role keeps at
    /// most [`DEFAULT_HISTORY_BYTES`].
    pub fn new(roles: BTreeMap<String, Vec<InstanceInfo>>) -> RecentReadings {
        RecentReadings {
            roles,
            seen: Mutex::default(),
            max_bytes: DEFAULT_HISTORY_BYTES,
        }
    }

    /// The same, each role keeping at most `max_bytes` of readings (and always its newest).
    pub fn with_max_bytes(mut self, max_bytes: usize) -> RecentReadings {
        self.max_bytes = max_bytes;
        self
    }

    /// Keeps a reading the instance is about to handle, dropping the role's oldest beyond
    /// [`HISTORY`] readings or its byte bound.
    pub fn record(&self, reading: &Reading) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let history = seen.entry(reading.role.clone()).or_default();
        history.readings.push_back(reading.clone());
        history.bytes += size_of(reading);
        while history.readings.len() > 1
            && (history.readings.len() > HISTORY || history.bytes > self.max_bytes)
        {
            if let Some(oldest) = history.readings.pop_front() {
                history.bytes -= size_of(&oldest);
            }
        }
    }

    fn bound(&self, role: &str) -> Result<&Vec<InstanceInfo>, Error> {
        self.roles.get(role).ok_or_else(|| unknown(role))
    }
}

impl SensorSource for RecentReadings {
    fn latest(&self, role: &str) -> Result<Option<Reading>, Error> {
        self.bound(role)?;
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(seen.get(role).and_then(|h| h.readings.back().cloned()))
    }

    fn history(&self, role: &str, max: u32) -> Result<Vec<Reading>, Error> {
        self.bound(role)?;
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(history) = seen.get(role) else {
            return Ok(Vec::new());
        };
        let skip = history.readings.len().saturating_sub(max as usize);
        Ok(history.readings.iter().skip(skip).cloned().collect())
    }

    fn instances(&self, role: &str) -> Result<Vec<InstanceInfo>, Error> {
        self.bound(role).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Blob;

    fn reading(role: &str, sequence: u64) -> Reading {
        Reading {
            instance_id: "sen_1".into(),
            role: role.into(),
            timestamp: sequence,
            sequence,
            value: Value::Number(sequence as f64),
        }
    }

    #[test]
    fn history_keeps_the_newest_per_role_oldest_first() {
        let recent = RecentReadings::new(BTreeMap::from([("t".to_string(), Vec::new())]));
        assert_eq!(recent.latest("t").unwrap(), None);
        for sequence in 0..(HISTORY as u64 + 10) {
            recent.record(&reading("t", sequence));
        }
        let history = recent.history("t", 3).unwrap();
        let sequences: Vec<u64> = history.iter().map(|r| r.sequence).collect();
        let last = HISTORY as u64 + 9;
        assert_eq!(sequences, [last - 2, last - 1, last]);
        assert_eq!(recent.history("t", 10_000).unwrap().len(), HISTORY);
        assert_eq!(recent.latest("t").unwrap().unwrap().sequence, last);
        assert!(matches!(
            recent.latest("humidity"),
            Err(Error::UnknownRole(_))
        ));
    }

    #[test]
    fn history_is_bounded_by_bytes_keeping_the_newest() {
        let frame = |sequence: u64| Reading {
            value: Value::Bytes(Blob {
                media_type: "image/png".into(),
                data: vec![7; 100_000],
            }),
            ..reading("camera", sequence)
        };
        let recent = RecentReadings::new(BTreeMap::from([("camera".to_string(), Vec::new())]))
            .with_max_bytes(1_000_000);
        for sequence in 0..50 {
            recent.record(&frame(sequence));
        }
        let kept = recent.history("camera", 10_000).unwrap();
        let bytes: usize = kept.iter().map(size_of).sum();
        assert!(bytes <= 1_000_000, "{} frames, {bytes} bytes", kept.len());
        // As many of the newest as fit: nine frames of a little over 100 kB.
        assert_eq!(kept.len(), 9);
        assert_eq!(kept.last().unwrap().sequence, 49);
        assert_eq!(kept[0].sequence, 41);

        // One reading larger than the bound is still the latest.
        let tiny = RecentReadings::new(BTreeMap::from([("camera".to_string(), Vec::new())]))
            .with_max_bytes(10);
        tiny.record(&frame(1));
        tiny.record(&frame(2));
        assert_eq!(tiny.latest("camera").unwrap().unwrap().sequence, 2);
        assert_eq!(tiny.history("camera", 10).unwrap().len(), 1);
    }
}
