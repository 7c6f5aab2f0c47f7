//! Each node's load over the last minutes, from its heartbeats, kept in memory so a chart of it
//! starts filled; older points fall away as new ones come.

use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};

use trellis_protocol::live::LoadPoint;

/// How far back the history reaches.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// The most points kept per node, whatever its heartbeat interval.
const MAX_POINTS: usize = 2000;

#[derive(Default)]
pub struct LoadHistory {
    /// By node id: (Unix ms, point), oldest first. A std mutex: never held across an await.
    nodes: Mutex<HashMap<String, VecDeque<(i64, LoadPoint)>>>,
}

impl LoadHistory {
    /// Adds `point`, measured at `at_ms`, to node `node`'s history.
    pub fn record(&self, node: &str, at_ms: i64, point: LoadPoint) {
        let mut nodes = self.nodes.lock();
        let points = nodes.entry(node.to_string()).or_default();
        points.push_back((at_ms, point));
        while points.len() > MAX_POINTS
            || points
                .front()
                .is_some_and(|(at, _)| *at < at_ms - WINDOW_MS)
        {
            points.pop_front();
        }
    }

    /// Node `node`'s points within the window before `now_ms`, oldest first.
    pub fn of(&self, node: &str, now_ms: i64) -> Vec<LoadPoint> {
        let nodes = self.nodes.lock();
        nodes
            .get(node)
            .map(|points| {
                points
                    .iter()
                    .filter(|(at, _)| *at >= now_ms - WINDOW_MS)
                    .map(|(_, point)| point.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Forgets a removed node.
    pub fn forget(&self, node: &str) {
        self.nodes.lock().remove(node);
    }
}
