//! The sensor backend every embedder needs: the instances bound to each role, and the readings
//! the instance has been fed, kept per role for `latest` and `history`. The node feeds it from the
//! bus; `trellis run` from its simulated sensors.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use super::sensors::{SensorSource, unknown};
use crate::types::{Error, InstanceInfo, Reading};

/// Readings kept per role for `history`.
pub const HISTORY: usize = 256;

/// Bound sensor instances by role, and the most recent [`HISTORY`] readings of each role.
pub struct RecentReadings {
    roles: BTreeMap<String, Vec<InstanceInfo>>,
    seen: Mutex<BTreeMap<String, VecDeque<Reading>>>,
}

impl RecentReadings {
    /// A role with no instances is still bound (its history stays empty).
    pub fn new(roles: BTreeMap<String, Vec<InstanceInfo>>) -> RecentReadings {
        RecentReadings {
            roles,
            seen: Mutex::default(),
        }
    }

    /// Keeps a reading the instance is about to handle, dropping the role's oldest beyond
    /// [`HISTORY`].
    pub fn record(&self, reading: &Reading) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let history = seen.entry(reading.role.clone()).or_default();
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(reading.clone());
    }

    fn bound(&self, role: &str) -> Result<&Vec<InstanceInfo>, Error> {
        self.roles.get(role).ok_or_else(|| unknown(role))
    }
}

impl SensorSource for RecentReadings {
    fn latest(&self, role: &str) -> Result<Option<Reading>, Error> {
        self.bound(role)?;
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(seen.get(role).and_then(|h| h.back().cloned()))
    }

    fn history(&self, role: &str, max: u32) -> Result<Vec<Reading>, Error> {
        self.bound(role)?;
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(history) = seen.get(role) else {
            return Ok(Vec::new());
        };
        let skip = history.len().saturating_sub(max as usize);
        Ok(history.iter().skip(skip).cloned().collect())
    }

    fn instances(&self, role: &str) -> Result<Vec<InstanceInfo>, Error> {
        self.bound(role).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Value;

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
}
