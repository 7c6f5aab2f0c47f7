//! The node tells the control plane it is up, and what it measures of its machine, in its
//! heartbeats.

mod common;

use std::time::Duration;

use common::{spawn_node, wait_for};
use trellis_protocol::node::NodeReport;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_reports_itself_up_with_its_metrics() {
    let node = spawn_node().await;
    let (listed, report) = wait_for(
        Duration::from_secs(30),
        "the node up with a heartbeat report",
        async || {
            let listed = node.node().await;
            match (&listed.report, listed.state.as_str()) {
                (Some(report), "up") => {
                    let report: NodeReport = serde_json::from_value(report.clone())
                        .map_err(|e| format!("{e}: {report}"))?;
                    Ok((listed, report))
                }
                _ => Err(format!("{listed:?}")),
            }
        },
    )
    .await;
    assert!(listed.last_seen.is_some(), "{listed:?}");
    let metrics = &report.metrics;
    assert!(metrics.memory_total_mb > 0.0, "{metrics:?}");
    assert!(
        (0.0..=metrics.memory_total_mb).contains(&metrics.memory_used_mb),
        "{metrics:?}"
    );
    assert!(metrics.performance > 0.0, "{metrics:?}");
    assert!(
        report.instances.is_empty(),
        "nothing was deployed: {report:?}"
    );
}
