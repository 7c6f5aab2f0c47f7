//! What the platform tells by itself: a deployment started (and where to see it), keeps failing,
//! was rolled back; a node stopped reporting (to the admins). The control plane learns these from
//! its nodes' heartbeats, its reconciler and its lifecycle rules, which call these.

use trellis_protocol::api::Urgency;
use trellis_protocol::node::{InstanceReport, InstanceState};

use super::{Notification, Source};

fn platform(
    deployment: Option<&str>,
    urgency: Urgency,
    title: String,
    body: String,
) -> Notification {
    Notification {
        deployment: deployment.map(str::to_string),
        source: Source::Platform,
        urgency,
        title,
        body,
    }
}

/// What a node's report of an instance tells its recipients, given what was known before
/// (`before`: its state and restarts), if anything: it started (fresh: placed, moved or
/// upgraded, so no restarts counted yet), or it started failing again and again.
pub fn instance_change(
    node: &str,
    version: Option<&str>,
    before: (&str, i64),
    report: &InstanceReport,
    base_url: &str,
) -> Option<Notification> {
    let id = report.deployment.as_str();
    let (was, _) = before;
    let version = version
        .map(|v| format!(" (version {v})"))
        .unwrap_or_default();
    match report.state {
        InstanceState::Running if was != "running" && report.restarts == 0 => Some(platform(
            Some(id),
            Urgency::Low,
            format!("started on node {node}"),
            format!(
                "Deployment {id}{version} is running on node {node}.\n\
                 See it with `trellis deployment show {id}` or at {base_url}/api/v1/deployments/{id}."
            ),
        )),
        InstanceState::Failed if was != "failed" => Some(platform(
            Some(id),
            Urgency::High,
            "failed".to_string(),
            format!(
                "Deployment {id}{version} failed on node {node} after {} restarts in a row; \
                 the node keeps retrying it with backoff.\nLast error: {}\n\
                 Stop it with `trellis deployment stop {id}`, or see \
                 {base_url}/api/v1/deployments/{id}.",
                report.restarts,
                if report.detail.is_empty() {
                    "none given"
                } else {
                    &report.detail
                }
            ),
        )),
        _ => None,
    }
}

/// A deployment the control plane rolled back because its new version kept failing.
pub fn rolled_back(deployment: &str, note: &str) -> Notification {
    platform(
        Some(deployment),
        Urgency::High,
        "rolled back".to_string(),
        format!("Deployment {deployment} was {note}"),
    )
}

/// A node that stopped reporting, for the admins.
pub fn node_down(node: &str, horizon_ms: i64) -> Notification {
    platform(
        None,
        Urgency::High,
        format!("node {node} is down"),
        format!(
            "Node {node} has not reported for more than {:.1} s; its instances are being placed on \
             other nodes. Check the machine and its `trellis node` daemon.",
            horizon_ms as f64 / 1000.0
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(state: InstanceState, restarts: u32) -> InstanceReport {
        InstanceReport {
            deployment: "dep_1".into(),
            state,
            detail: "wasm trap: unreachable".into(),
            restarts,
        }
    }

    #[test]
    fn a_fresh_start_is_told_but_a_restart_is_not() {
        let started = report(InstanceState::Running, 0);
        let told = instance_change("vm-1", Some("1.0.0"), ("placed", 0), &started, "http://cp")
            .expect("a start is told");
        assert_eq!(told.deployment.as_deref(), Some("dep_1"));
        assert!(
            told.body.contains("http://cp/api/v1/deployments/dep_1"),
            "{}",
            told.body
        );
        assert!(told.title.contains("vm-1"));
        let restarted = report(InstanceState::Running, 2);
        assert!(instance_change("vm-1", None, ("restarting", 2), &restarted, "").is_none());
        assert!(instance_change("vm-1", None, ("running", 0), &started, "").is_none());
    }

    #[test]
    fn failing_is_told_once_with_the_last_error() {
        let failed = report(InstanceState::Failed, 3);
        let told = instance_change("vm-1", None, ("restarting", 2), &failed, "").unwrap();
        assert_eq!(told.urgency, Urgency::High);
        assert!(
            told.body.contains("wasm trap: unreachable"),
            "{}",
            told.body
        );
        assert!(instance_change("vm-1", None, ("failed", 3), &failed, "").is_none());
    }
}
