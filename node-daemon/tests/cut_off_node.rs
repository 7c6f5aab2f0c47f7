//! Fencing, with two real nodes: the one whose link to the control plane is cut (a TCP proxy in
//! the test stops forwarding) stops its instance once its lease runs out, and only after that
//! does the control plane start it on the other node, so the deployment never runs on both.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::dark_link::proxy;
use common::{NODE_NAME, TestNode, spawn_node_with, wait_for, workspace_file};
use tokio::sync::watch;
use trellis_protocol::api::{Deployment, Node, ValueKind};
use trellis_protocol::logs::LogPage;
use trellis_protocol::node::InstanceState;

const CUT_NODE: &str = "cut-node";
const LIMIT: Duration = Duration::from_secs(60);
/// With the test's 250 ms heartbeats, a lease of three seconds: short, so the test is quick,
/// but long enough that the node that keeps its link is not fenced for a busy moment.
const MISSED_HEARTBEATS: u32 = 12;

async fn deploy_echo(node: &TestNode, sensor: &str, display: &str) -> Deployment {
    node.deploy("echo", &[("in", sensor), ("out", display)])
        .await
}

async fn running_on(node: &TestNode, id: &str, on: &str) {
    wait_for(LIMIT, &format!("{id} running on {on}"), async || {
        let now = node.deployment(id).await;
        match (&now.state, now.node.as_deref()) {
            (InstanceState::Running, Some(name)) if name == on => Ok(()),
            _ => Err(format!("{now:?}")),
        }
    })
    .await
}

/// The times (RFC 3339, UTC, to the millisecond) of deployment `id`'s `event` lines from `node`.
async fn events(test: &TestNode, id: &str, node: &str, event: &str) -> Vec<String> {
    let page: LogPage = test
        .get(
            &format!("/logs?limit=1000&deployment={id}&node={node}&source=platform"),
            &test.admin,
        )
        .await;
    let mut times: Vec<String> = page
        .lines
        .into_iter()
        .filter(|line| line.event.as_deref() == Some(event))
        .map(|line| line.time)
        .collect();
    times.sort();
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_node_stops_its_instance_before_it_runs_elsewhere() {
    let mut node = spawn_node_with(|settings| settings.missed_heartbeats = MISSED_HEARTBEATS).await;
    // The first node takes nothing yet, so the deployment lands on the node behind the proxy.
    let _: Node = node
        .post(
            &format!("/nodes/{NODE_NAME}/drain"),
            &node.admin,
            &serde_json::json!({}),
        )
        .await;
    let (open, link) = watch::channel(true);
    let open = Arc::new(open);
    let through = proxy(node.address.trim_start_matches("http://").to_string(), link).await;
    node.spawn_another_node_at(CUT_NODE, &through).await;

    node.add_sensor_type("temperature", ValueKind::Number).await;
    node.add_controller_type(
        "display",
        "echo",
        &[
            ("sequence", ValueKind::Number),
            ("value", ValueKind::Number),
        ],
    )
    .await;
    let sensor = node.add_device("sensors", "t1", "temperature").await;
    let display = node.add_device("controllers", "d1", "display").await;
    node.upload_app(
        &workspace_file("tests/guests/echo/trellis.toml"),
        trellis_guest_artifacts::ECHO,
    )
    .await;
    let deployment = deploy_echo(&node, &sensor.id, &display.id).await;
    running_on(&node, &deployment.id, CUT_NODE).await;
    let _: Node = node
        .post(
            &format!("/nodes/{NODE_NAME}/undrain"),
            &node.admin,
            &serde_json::json!({}),
        )
        .await;

    // The link goes dark: the deployment must end up on the first node.
    open.send_replace(false);
    running_on(&node, &deployment.id, NODE_NAME).await;

    // The link comes back, so the cut-off node ships the lines it kept meanwhile.
    open.send_replace(true);
    let stopped = wait_for(LIMIT, "the cut-off node's `stopped` event", async || {
        let stopped = events(&node, &deployment.id, CUT_NODE, "stopped").await;
        stopped.first().cloned().ok_or("none yet".to_string())
    })
    .await;
    // Its lines reach the control plane shortly after its heartbeat said it runs.
    let started = wait_for(LIMIT, "the first node's `started` event", async || {
        let started = events(&node, &deployment.id, NODE_NAME, "started").await;
        (!started.is_empty())
            .then_some(started)
            .ok_or("none yet".to_string())
    })
    .await;
    assert_eq!(started.len(), 1, "{started:?}");
    assert!(
        stopped < started[0],
        "the cut-off node stopped it at {stopped}, the other started it at {}",
        started[0]
    );
    // Back in touch, the cut-off node does not take it up again: it is assigned elsewhere.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let on_cut = events(&node, &deployment.id, CUT_NODE, "started").await;
    assert_eq!(on_cut.len(), 1, "{on_cut:?}");
    let cut = node.node_named(CUT_NODE).await;
    assert_eq!(cut.state, "up", "{cut:?}");
    running_on(&node, &deployment.id, NODE_NAME).await;
}
