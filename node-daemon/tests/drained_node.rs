//! Draining, with two real nodes: the drained node's instance moves to the other node and runs
//! there, the drained node stops it and reports nothing running, and new work goes to the other
//! node though the drained one is idle.

mod common;

use std::time::Duration;

use common::{NODE_NAME, TestNode, spawn_node, wait_for, workspace_file};
use trellis_protocol::api::{Deployment, Node, ValueKind};
use trellis_protocol::node::InstanceState;

const OTHER_NODE: &str = "other-node";
const LIMIT: Duration = Duration::from_secs(60);

/// The echo app deployed again, bound to the sensor and controller `setup` registered.
async fn deploy_echo(node: &TestNode, sensor: &str, display: &str) -> Deployment {
    node.deploy("echo", &[("in", sensor), ("out", display)])
        .await
}

/// Waits until deployment `id` runs, and says on which node.
async fn running_on(node: &TestNode, id: &str, what: &str) -> String {
    wait_for(LIMIT, what, async || {
        let now = node.deployment(id).await;
        match (&now.state, &now.node) {
            (InstanceState::Running, Some(name)) => Ok(name.clone()),
            _ => Err(format!("{now:?}")),
        }
    })
    .await
}

/// The deployments a node's last heartbeat says it runs.
fn reported(node: &Node) -> Vec<String> {
    node.report
        .as_ref()
        .and_then(|r| r["instances"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|i| i["deployment"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_nodes_instance_moves_to_the_other_node_and_it_gets_nothing_new() {
    let mut node = spawn_node().await;
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
    let first = deploy_echo(&node, &sensor.id, &display.id).await;
    let on = running_on(&node, &first.id, "the echo app running on the first node").await;
    assert_eq!(on, NODE_NAME, "only one node is up yet");

    node.spawn_another_node(OTHER_NODE).await;
    wait_for(LIMIT, "the other node up", async || {
        let other = node.node_named(OTHER_NODE).await;
        (other.state == "up").then_some(()).ok_or(other.state)
    })
    .await;

    let drained: Node = node
        .post(
            &format!("/nodes/{NODE_NAME}/drain"),
            &node.admin,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(drained.state, "draining");
    wait_for(
        LIMIT,
        "the instance running on the other node",
        async || {
            let now = node.deployment(&first.id).await;
            match (&now.state, now.node.as_deref()) {
                (InstanceState::Running, Some(OTHER_NODE)) => Ok(()),
                _ => Err(format!("{now:?}")),
            }
        },
    )
    .await;
    // The drained node stopped it: its own heartbeat says it runs nothing.
    wait_for(LIMIT, "the first node drained and idle", async || {
        let first_node = node.node().await;
        let running = reported(&first_node);
        (first_node.state == "drained" && running.is_empty())
            .then_some(())
            .ok_or(format!("{} running {running:?}", first_node.state))
    })
    .await;
    let other = node.node_named(OTHER_NODE).await;
    assert_eq!(reported(&other), std::slice::from_ref(&first.id));

    // Idle as it is, and first by name, the drained node gets no new work.
    let second = deploy_echo(&node, &sensor.id, &display.id).await;
    let on = running_on(&node, &second.id, "a new deployment running").await;
    assert_eq!(on, OTHER_NODE);
    let first_node = node.node().await;
    assert_eq!(first_node.state, "drained");
    assert!(reported(&first_node).is_empty(), "{first_node:?}");
}
