//! An app's `state` outlives its instance: the counter app keeps counting across a trap and its
//! restart, and across a restart of the node daemon on the same data directory, counting each
//! reading once; and the store refuses writes past the quota its manifest sets.

mod common;

use std::time::Duration;

use common::{Controller, TestNode, spawn_node, wait_for, workspace_file};
use trellis_protocol::Value;
use trellis_protocol::api::{Accepted, Deployment, NewReading, ValueKind};
use trellis_protocol::node::InstanceState;
use trellis_protocol::record::CommandRecord;

/// What the counter app said after a reading: (its sequence, the count, whether its note was
/// kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Said {
    sequence: u64,
    count: u64,
    noted: bool,
}

/// The counter deployed with `config`, its manifest `manifest`, bound to a new sensor and a
/// new display; returns the deployment, the sensor's token and the display's token.
async fn deploy_counter(
    node: &TestNode,
    manifest: &std::path::Path,
    config: &[(&str, &str)],
) -> (Deployment, String, String) {
    node.add_sensor_type("temperature", ValueKind::Number).await;
    node.add_controller_type(
        "display",
        "count",
        &[
            ("sequence", ValueKind::Number),
            ("count", ValueKind::Number),
            ("noted", ValueKind::Number),
        ],
    )
    .await;
    let sensor = node.add_device("sensors", "t1", "temperature").await;
    let display = node.add_device("controllers", "d1", "display").await;
    node.upload_app(manifest, trellis_guest_artifacts::COUNTER)
        .await;
    let bindings = [("in", sensor.id.as_str()), ("out", display.id.as_str())];
    let deployment = node
        .deploy_version("counter", None, &bindings, config)
        .await;
    running(node, &deployment.id).await;
    (
        deployment,
        sensor.token.expect("the sensor's token"),
        display.token.expect("the display's token"),
    )
}

async fn running(node: &TestNode, id: &str) {
    wait_for(Duration::from_secs(60), "the counter running", async || {
        let now = node.deployment(id).await;
        if now.state == InstanceState::Running {
            Ok(())
        } else {
            Err(format!("{now:?}"))
        }
    })
    .await;
}

/// Sends readings `sequences` through the gateway, each valued its sequence.
async fn send(node: &TestNode, sensor_token: &str, sequences: std::ops::RangeInclusive<u64>) {
    for sequence in sequences {
        let reading = NewReading {
            value: serde_json::json!({ "kind": "number", "value": sequence as f64 }),
            sequence: Some(sequence),
            timestamp_ms: None,
        };
        let accepted: Accepted = node.post("/device/readings", sensor_token, &reading).await;
        assert_eq!(accepted.sequence, sequence);
    }
}

fn number(command: &CommandRecord, param: &str) -> u64 {
    match command.command.params.iter().find(|p| p.name == param) {
        Some(p) => match p.value {
            Value::Number(n) => n as u64,
            ref other => panic!("{param} is {other:?} in {command:?}"),
        },
        None => panic!("no {param} in {command:?}"),
    }
}

/// Collects what the counter says until it has spoken of reading `last`, then a moment longer
/// (anything more would be a repeat).
async fn hear_until(node: &TestNode, display: &mut Controller, last: u64) -> Vec<Said> {
    let mut heard: Vec<Said> = Vec::new();
    let mut poll = async |heard: &mut Vec<Said>, wait_ms: u64| {
        let more = display.poll(node, wait_ms).await;
        heard.extend(more.iter().map(|c| Said {
            sequence: number(c, "sequence"),
            count: number(c, "count"),
            noted: number(c, "noted") == 1,
        }));
    };
    wait_for(
        Duration::from_secs(30),
        &format!("the count after reading {last}"),
        async || {
            poll(&mut heard, 500).await;
            if heard.iter().any(|s| s.sequence == last) {
                Ok(())
            } else {
                Err(format!("{heard:?}"))
            }
        },
    )
    .await;
    poll(&mut heard, 300).await;
    heard
}

/// The count the counter should say after each reading of `sequences`: one more for each
/// reading it kept, none for `trap_on` (its count is not kept).
fn counted(sequences: std::ops::RangeInclusive<u64>, trap_on: Option<u64>) -> Vec<(u64, u64)> {
    let mut count = 0;
    sequences
        .filter(|s| Some(*s) != trap_on)
        .map(|s| {
            count += 1;
            (s, count)
        })
        .collect()
}

fn pairs(heard: &[Said]) -> Vec<(u64, u64)> {
    heard.iter().map(|s| (s.sequence, s.count)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_count_goes_on_after_a_trap_without_the_trapping_reading() {
    const TRAP_ON: u64 = 5;
    let node = spawn_node().await;
    let trap_on = TRAP_ON.to_string();
    let config = [("trap-on", trap_on.as_str())];
    let (deployment, sensor, display) = deploy_counter(
        &node,
        &workspace_file("tests/guests/counter/trellis.toml"),
        &config,
    )
    .await;
    let mut display = Controller::new(&display);
    send(&node, &sensor, 1..=10).await;
    let heard = hear_until(&node, &mut display, 10).await;
    // Reading 5 counted, then trapped: its count was not kept, and it is not handled again.
    assert_eq!(pairs(&heard), counted(1..=10, Some(TRAP_ON)));
    // The restart reaches the control plane with the node's next heartbeat.
    wait_for(
        Duration::from_secs(20),
        "the restart reported",
        async || {
            let after = node.deployment(&deployment.id).await;
            if after.restarts >= 1 {
                Ok(())
            } else {
                Err(format!("{after:?}"))
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_count_goes_on_in_a_new_node_process_on_the_same_data_directory() {
    let mut node = spawn_node().await;
    let (deployment, sensor, display) = deploy_counter(
        &node,
        &workspace_file("tests/guests/counter/trellis.toml"),
        &[],
    )
    .await;
    let mut display = Controller::new(&display);
    send(&node, &sensor, 1..=10).await;
    let before = hear_until(&node, &mut display, 10).await;
    assert_eq!(pairs(&before), counted(1..=10, None));

    node.restart_node().await;
    // Readings sent while the node is away wait on the bus for it.
    send(&node, &sensor, 11..=15).await;
    running(&node, &deployment.id).await;
    send(&node, &sensor, 16..=20).await;
    let after = hear_until(&node, &mut display, 20).await;
    // Each reading counted once, the count going on from where it was.
    assert_eq!(pairs(&after), counted(1..=20, None)[10..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_refuses_writes_past_the_quota_its_manifest_sets() {
    const QUOTA_KB: usize = 1;
    const NOTE_BYTES: usize = 200;
    let node = spawn_node().await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("trellis.toml");
    let text =
        std::fs::read_to_string(workspace_file("tests/guests/counter/trellis.toml")).unwrap();
    std::fs::write(
        &manifest,
        format!("{text}\n[resources]\nstate-kb = {QUOTA_KB}\n"),
    )
    .unwrap();
    let note_bytes = NOTE_BYTES.to_string();
    let config = [("note-bytes", note_bytes.as_str())];
    let (_, sensor, display) = deploy_counter(&node, &manifest, &config).await;
    let mut display = Controller::new(&display);
    send(&node, &sensor, 1..=8).await;
    let heard = hear_until(&node, &mut display, 8).await;

    // The quota counts keys and values: the count, and each note kept so far.
    let mut kept_bytes = 0;
    let expected: Vec<Said> = (1..=8)
        .map(|sequence| {
            let count = format!("count{sequence}").len();
            let note = format!("note-{sequence}").len() + NOTE_BYTES;
            let noted = count + kept_bytes + note <= QUOTA_KB * 1024;
            if noted {
                kept_bytes += note;
            }
            Said {
                sequence,
                count: sequence,
                noted,
            }
        })
        .collect();
    assert!(
        expected.iter().any(|s| s.noted) && expected.iter().any(|s| !s.noted),
        "the test's numbers should reach the quota partway: {expected:?}"
    );
    assert_eq!(heard, expected);
}
