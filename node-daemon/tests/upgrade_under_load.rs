//! A deployment upgraded and rolled back while its sensor sends numbered readings at a steady
//! rate, on the embedded bus and on Kafka: every reading is handled (none lost), and by one
//! version at a time (the echoes' labels run v1, then v2, then v1, never interleaved). The
//! duplicates and the hand-over pause (the longest gap between handled readings across each
//! switch) are printed: `cargo test -p trellis-node --test upgrade_under_load -- --nocapture`.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    Controller, TestNode, deploy_echo, echo_manifest, kafka_broker, spawn_node_with, wait_for,
    wait_running,
};
use reqwest::Method;
use serde_json::json;
use trellis_protocol::Value;
use trellis_protocol::api::{Accepted, Deployment, NewReading};
use trellis_protocol::record::CommandRecord;

/// The sensor's pace: steady, and quick enough that a pause in handling shows.
const EVERY: Duration = Duration::from_millis(20);

/// A handled reading: its sequence, the version's label, and when the app sent its echo (ms).
#[derive(Clone, Debug)]
struct Echo {
    sequence: u64,
    label: String,
    at_ms: i64,
}

fn echo_of(command: &CommandRecord) -> Echo {
    let param = |name: &str| {
        command
            .command
            .params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.clone())
    };
    let sequence = match param("sequence") {
        Some(Value::Number(n)) => n as u64,
        other => panic!("sequence is {other:?} in {command:?}"),
    };
    let label = match param("label") {
        Some(Value::Text(t)) => t,
        other => panic!("label is {other:?} in {command:?}"),
    };
    Echo {
        sequence,
        label,
        at_ms: command.timestamp_ms,
    }
}

/// Waits until the echoes show `label` handling readings.
async fn wait_label(echoes: &Mutex<Vec<Echo>>, label: &str, after: usize) -> usize {
    wait_for(
        Duration::from_secs(60),
        &format!("echoes from {label}"),
        async || {
            let seen = echoes.lock().unwrap();
            match seen[after..].iter().position(|e| e.label == label) {
                Some(at) => Ok(after + at),
                None => Err(format!("{} echoes", seen.len())),
            }
        },
    )
    .await
}

async fn upgrade_and_roll_back_under_load(node: TestNode, bus: &str) {
    let versions = [
        (echo_manifest("1.0.0", "v1"), trellis_guest_artifacts::ECHO),
        (echo_manifest("2.0.0", "v2"), trellis_guest_artifacts::ECHO),
    ];
    let (deployment, sensor, display) = deploy_echo(&node, &versions).await;
    let id = deployment.id.clone();
    wait_running(&node, &id, "1.0.0").await;
    let node = Arc::new(node);

    // The sensor: numbered readings at a steady pace until told to stop.
    let sending = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sender = {
        let (node, sending) = (node.clone(), sending.clone());
        let token = sensor.token.clone().expect("the sensor's token");
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EVERY);
            let mut sequence = 0;
            while sending.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                sequence += 1;
                let reading = NewReading {
                    value: json!({ "kind": "number", "value": sequence as f64 }),
                    sequence: Some(sequence),
                    timestamp_ms: None,
                };
                let _: Accepted = node.post("/device/readings", &token, &reading).await;
            }
            sequence
        })
    };
    // The display: every echo, in the order the controller's topic holds them.
    let echoes = Arc::new(Mutex::new(Vec::new()));
    let collecting = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let collector = {
        let (node, echoes, collecting) = (node.clone(), echoes.clone(), collecting.clone());
        let mut display = Controller::new(display.token.as_deref().expect("the display's token"));
        tokio::spawn(async move {
            while collecting.load(std::sync::atomic::Ordering::Relaxed) {
                let more = display.poll(&node, 300).await;
                echoes.lock().unwrap().extend(more.iter().map(echo_of));
            }
        })
    };

    let path = |action: &str| format!("/deployments/{id}/{action}");
    wait_label(&echoes, "v1", 0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _: Deployment = node
        .send(
            Method::POST,
            &path("upgrade"),
            &node.admin,
            Some(&json!({ "version": "2.0.0" })),
        )
        .await;
    let first_v2 = wait_label(&echoes, "v2", 0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _: Deployment = node
        .send(
            Method::POST,
            &path("rollback"),
            &node.admin,
            Some(&json!({ "reason": "testing the hand-over" })),
        )
        .await;
    wait_label(&echoes, "v1", first_v2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    sending.store(false, std::sync::atomic::Ordering::Relaxed);
    let sent = sender.await.expect("the sensor");

    wait_for(
        Duration::from_secs(60),
        "an echo of every reading sent",
        async || {
            let handled: BTreeSet<u64> =
                echoes.lock().unwrap().iter().map(|e| e.sequence).collect();
            let missing: Vec<u64> = (1..=sent).filter(|s| !handled.contains(s)).collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{} of {sent} missing, first {:?}",
                    missing.len(),
                    &missing[..missing.len().min(10)]
                ))
            }
        },
    )
    .await;
    // Anything still on its way would be a duplicate.
    tokio::time::sleep(Duration::from_millis(500)).await;
    collecting.store(false, std::sync::atomic::Ordering::Relaxed);
    collector.await.expect("the display");
    let echoes = echoes.lock().unwrap().clone();

    // One version at a time: the labels form exactly three runs, v1, v2, v1.
    let mut runs: Vec<(&str, usize, usize)> = Vec::new();
    for (i, echo) in echoes.iter().enumerate() {
        match runs.last_mut() {
            Some((label, _, end)) if *label == echo.label => *end = i,
            _ => runs.push((&echo.label, i, i)),
        }
    }
    let labels: Vec<&str> = runs.iter().map(|(label, _, _)| *label).collect();
    assert_eq!(labels, ["v1", "v2", "v1"], "versions interleaved");

    let distinct: BTreeSet<u64> = echoes.iter().map(|e| e.sequence).collect();
    let duplicates = echoes.len() - distinct.len();
    // The hand-over pause: from the old version's last echo to the new one's first.
    let pauses: Vec<i64> = runs
        .windows(2)
        .map(|pair| echoes[pair[1].1].at_ms - echoes[pair[0].2].at_ms)
        .collect();
    eprintln!(
        "upgrade under load on {bus}: {sent} readings sent every {EVERY:?}, 0 lost, {duplicates} duplicate(s), hand-over pause {} ms (upgrade) and {} ms (rollback)",
        pauses[0], pauses[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_and_a_rollback_under_load_lose_nothing_on_the_embedded_bus() {
    let node = spawn_node_with(|_| {}).await;
    upgrade_and_roll_back_under_load(node, "the embedded bus").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_and_a_rollback_under_load_lose_nothing_on_kafka() {
    let Some(brokers) = kafka_broker() else {
        return;
    };
    let node = spawn_node_with(|settings| settings.bus = format!("kafka://{brokers}")).await;
    upgrade_and_roll_back_under_load(node, "Kafka").await;
}
