//! An app assigned to the node runs there and is wired to the data plane: readings a sensor
//! posts through the device gateway reach it over the bus, and the commands it sends reach its
//! controller, each reading's once and in order.

mod common;

use std::time::Duration;

use common::{Controller, TestNode, spawn_node, wait_for, workspace_file};
use trellis_protocol::Value;
use trellis_protocol::api::{Accepted, Deployment, Device, NewReading, ValueKind};
use trellis_protocol::node::InstanceState;
use trellis_protocol::record::CommandRecord;

/// Readings sent; enough that a reordering or a loss would show.
const READINGS: u64 = 20;

/// The echo app deployed with its `in` role bound to a new sensor and `out` to a new controller;
/// returns the deployment, the sensor and the controller (with their gateway tokens).
async fn deploy_echo(node: &TestNode) -> (Deployment, Device, Device) {
    node.add_sensor_type("temperature", ValueKind::Number).await;
    // The echo app sends each reading's sequence and value.
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
    let deployment = node
        .deploy("echo", &[("in", &sensor.id), ("out", &display.id)])
        .await;
    (deployment, sensor, display)
}

/// The number a command parameter carries.
fn number(command: &CommandRecord, param: &str) -> f64 {
    match command.command.params.iter().find(|p| p.name == param) {
        Some(p) => match p.value {
            Value::Number(n) => n,
            ref other => panic!("{param} is {other:?} in {command:?}"),
        },
        None => panic!("no {param} in {command:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assigned_app_gets_its_readings_and_its_commands_reach_the_controller() {
    let node = spawn_node().await;
    let (deployment, sensor, display) = deploy_echo(&node).await;
    let sensor_token = sensor.token.expect("the sensor's gateway token");
    let display_token = display.token.clone().expect("the display's gateway token");
    let running = wait_for(
        Duration::from_secs(30),
        "the echo app running on the node",
        async || {
            let now = node.deployment(&deployment.id).await;
            match (&now.state, &now.node) {
                (InstanceState::Running, Some(name)) => Ok(name.clone()),
                _ => Err(format!("{now:?}")),
            }
        },
    )
    .await;
    assert_eq!(running, common::NODE_NAME);

    // Each reading valued ten times its sequence, so a value travelling with the wrong
    // sequence would show.
    for sequence in 1..=READINGS {
        let reading = NewReading {
            value: serde_json::json!({ "kind": "number", "value": sequence as f64 * 10.0 }),
            sequence: Some(sequence),
            timestamp_ms: None,
        };
        let accepted: Accepted = node.post("/device/readings", &sensor_token, &reading).await;
        assert_eq!(accepted.sequence, sequence);
    }

    // The test is the display: it polls the gateway for its commands, as a device would.
    let mut received: Vec<CommandRecord> = Vec::new();
    let mut device = Controller::new(&display_token);
    wait_for(
        Duration::from_secs(30),
        "an echo of every reading",
        async || {
            let more = device.poll(&node, 500).await;
            received.extend(more);
            if received.len() as u64 >= READINGS {
                Ok(())
            } else {
                Err(format!("{} commands", received.len()))
            }
        },
    )
    .await;
    // Anything still on its way would be a duplicate.
    let late = device.poll(&node, 300).await;
    received.extend(late);

    let sequences: Vec<u64> = received
        .iter()
        .map(|c| number(c, "sequence") as u64)
        .collect();
    assert_eq!(
        sequences,
        (1..=READINGS).collect::<Vec<_>>(),
        "each reading echoed once, in order"
    );
    for command in &received {
        assert_eq!(command.command.name, "echo");
        assert_eq!(command.deployment, deployment.id);
        assert_eq!(command.controller, display.id);
        assert_eq!(
            number(command, "value"),
            number(command, "sequence") * 10.0,
            "{command:?}"
        );
    }
}
