//! An app that sleeps far past its deadline in `on-reading` cannot hold its node: the call is
//! stopped at its deadline and the instance restarted, and while it sleeps again the node still
//! stops it and takes new assignments.

mod common;

use std::time::{Duration, Instant};

use common::{TestNode, spawn_node, wait_for, workspace_file};
use trellis_protocol::api::{Accepted, Deployment, NewReading, ValueKind};
use trellis_protocol::node::InstanceState;

/// What the sleepy app is asked to sleep: far longer than an app's deadline (1 s) and than any
/// wait below, so a sleep that ran its course would fail the test.
const SLEEP_SECONDS: f64 = 30.0;
/// How long the node may take to act on the control plane's word on a loaded machine: a third
/// of the sleep.
const PROMPTLY: Duration = Duration::from_secs(10);

async fn wait_state(
    node: &TestNode,
    id: &str,
    what: &str,
    within: Duration,
    wanted: impl Fn(&Deployment) -> bool,
) -> Deployment {
    wait_for(within, what, async || {
        let now = node.deployment(id).await;
        if wanted(&now) {
            Ok(now)
        } else {
            Err(format!("{now:?}"))
        }
    })
    .await
}

async fn send_sleep(node: &TestNode, sensor_token: &str, sequence: u64) {
    let reading = NewReading {
        value: serde_json::json!({ "kind": "number", "value": SLEEP_SECONDS }),
        sequence: Some(sequence),
        timestamp_ms: None,
    };
    let accepted: Accepted = node.post("/device/readings", sensor_token, &reading).await;
    assert_eq!(accepted.sequence, sequence);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_running_a_sleeping_app_misses_its_deadlines_and_keeps_taking_assignments() {
    let node = spawn_node().await;
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
    let sensor_token = sensor.token.clone().expect("the sensor's gateway token");
    node.upload_app(
        &workspace_file("tests/guests/sleepy/trellis.toml"),
        trellis_guest_artifacts::SLEEPY,
    )
    .await;
    node.upload_app(
        &workspace_file("tests/guests/echo/trellis.toml"),
        trellis_guest_artifacts::ECHO,
    )
    .await;
    let sleepy = node.deploy("sleepy", &[("in", &sensor.id)]).await;
    let running = |d: &Deployment| d.state == InstanceState::Running;
    wait_state(
        &node,
        &sleepy.id,
        "sleepy running",
        Duration::from_secs(30),
        running,
    )
    .await;

    // The reading's call is stopped at its deadline, and the instance restarted.
    let sent = Instant::now();
    send_sleep(&node, &sensor_token, 1).await;
    let missed = wait_state(
        &node,
        &sleepy.id,
        "sleepy's deadline miss reported",
        PROMPTLY,
        |d| d.restarts >= 1 && d.detail.contains("ran past its deadline"),
    )
    .await;
    eprintln!(
        "deadline miss reported {:?} after the reading: {}",
        sent.elapsed(),
        missed.detail
    );
    assert!(missed.detail.contains("on-reading"), "{missed:?}");
    wait_state(
        &node,
        &sleepy.id,
        "sleepy running again",
        Duration::from_secs(30),
        running,
    )
    .await;

    // Asleep again, it is stopped, and the node goes on to start what it is assigned next.
    send_sleep(&node, &sensor_token, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asked = Instant::now();
    let _: serde_json::Value = node
        .send(
            reqwest::Method::POST,
            &format!("/deployments/{}/stop", sleepy.id),
            &node.admin,
            None,
        )
        .await;
    let echo = node
        .deploy("echo", &[("in", &sensor.id), ("out", &display.id)])
        .await;
    wait_state(&node, &echo.id, "echo running", PROMPTLY, running).await;
    eprintln!(
        "echo running {:?} after sleepy was stopped",
        asked.elapsed()
    );
    let stopped = wait_state(&node, &sleepy.id, "sleepy stopped", PROMPTLY, |d| {
        d.state == InstanceState::Stopped
    })
    .await;
    assert_eq!(stopped.run_state.as_str(), "stopped", "{stopped:?}");
}
