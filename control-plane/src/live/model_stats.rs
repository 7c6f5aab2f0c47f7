//! Each model version's predictions over the last minutes (when, and how long each took), kept
//! in memory for `GET /models/{name}/stats` and the live stream's `model` events.

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap, VecDeque};

use trellis_protocol::live::VersionStats;

/// How far back the figures reach.
pub const WINDOW_MS: i64 = 5 * 60 * 1000;
/// The most predictions kept per version; beyond it the oldest fall away early.
const MAX_SAMPLES: usize = 100_000;
/// A version's figures go to the live streams at most this often.
const PUBLISH_EVERY_MS: i64 = 1000;

#[derive(Default)]
struct Version {
    /// (Unix ms, latency in ms), oldest first.
    samples: VecDeque<(i64, f64)>,
    /// When its figures last went to the live streams.
    published_ms: Option<i64>,
}

impl Version {
    fn prune(&mut self, now_ms: i64) {
        while self.samples.len() > MAX_SAMPLES
            || self
                .samples
                .front()
                .is_some_and(|(at, _)| *at < now_ms - WINDOW_MS)
        {
            self.samples.pop_front();
        }
    }

    fn mean(&self) -> Option<f64> {
        (!self.samples.is_empty())
            .then(|| self.samples.iter().map(|(_, ms)| ms).sum::<f64>() / self.samples.len() as f64)
    }
}

#[derive(Default)]
pub struct ModelStatsWindow {
    /// By model, then version. A std mutex: never held across an await.
    models: Mutex<HashMap<String, BTreeMap<String, Version>>>,
}

impl ModelStatsWindow {
    /// Records one prediction; returns the version's request count and mean latency in the
    /// window when they are due to go to the live streams.
    pub fn record(
        &self,
        model: &str,
        version: &str,
        latency_ms: f64,
        now_ms: i64,
    ) -> Option<(u64, f64)> {
        let mut models = self.models.lock();
        let entry = models
            .entry(model.to_string())
            .or_default()
            .entry(version.to_string())
            .or_default();
        entry.samples.push_back((now_ms, latency_ms));
        entry.prune(now_ms);
        let due = entry
            .published_ms
            .is_none_or(|last| now_ms - last >= PUBLISH_EVERY_MS);
        if !due {
            return None;
        }
        entry.published_ms = Some(now_ms);
        Some((entry.samples.len() as u64, entry.mean().unwrap_or_default()))
    }

    /// Each version's figures over the window before `now_ms`, by version.
    pub fn of(&self, model: &str, now_ms: i64) -> Vec<VersionStats> {
        let mut models = self.models.lock();
        let Some(versions) = models.get_mut(model) else {
            return Vec::new();
        };
        versions
            .iter_mut()
            .map(|(name, version)| {
                version.prune(now_ms);
                let mut latencies: Vec<f64> = version.samples.iter().map(|(_, ms)| *ms).collect();
                latencies.sort_by(f64::total_cmp);
                // The nearest-rank 95th percentile.
                let p95 = (!latencies.is_empty()).then(|| {
                    let rank = (latencies.len() as f64 * 0.95).ceil() as usize;
                    latencies[rank.clamp(1, latencies.len()) - 1]
                });
                VersionStats {
                    version: name.clone(),
                    requests: latencies.len() as u64,
                    mean_latency_ms: version.mean(),
                    p95_latency_ms: p95,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_cover_the_window_and_go_out_at_most_once_a_second() {
        let stats = ModelStatsWindow::default();
        let start = 1_000_000;
        assert!(stats.record("digits", "1.0.0", 10.0, start).is_some());
        assert!(stats.record("digits", "1.0.0", 30.0, start + 10).is_none());
        let (requests, mean) = stats.record("digits", "1.0.0", 20.0, start + 1000).unwrap();
        assert_eq!((requests, mean), (3, 20.0));
        for i in 0..97 {
            stats.record("digits", "1.0.0", 1.0 + f64::from(i), start + 1001);
        }
        let now = start + 2000;
        let versions = stats.of("digits", now);
        assert_eq!(versions.len(), 1);
        assert_eq!(versions[0].requests, 100);
        // 100 latencies: 1..=97, 10, 20, 30; the 95th of them in order is 92.
        assert_eq!(versions[0].p95_latency_ms, Some(92.0));
        // Past the window, nothing is left.
        let later = stats.of("digits", start + 1001 + WINDOW_MS + 1);
        assert_eq!(later[0].requests, 0);
        assert_eq!(later[0].mean_latency_ms, None);
    }
}
