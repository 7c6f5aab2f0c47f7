//! Readings per second handled by apps on one node, in process: a control plane and a node
//! daemon share the embedded bus, as `trellis up` runs them; `READINGS_DEPLOYMENTS` (8)
//! classroom thermostats run, each bound to its own sensor, and `READINGS_EACH` (150,000)
//! readings of each sensor are put on the bus as the gateway puts them (records encoded
//! beforehand, so the gateway's own work is not counted). A reading counts once its app's
//! `on-reading` returned and its offset was committed with the app's state: what the node's
//! `trellis_readings_handled` shows. `cargo bench -p trellis-node --bench readings`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::scrape::handled_per_deployment;
use common::{setting, spawn_node_with, wait_for};
use trellis_bus::sensor_topic;
use trellis_protocol::Value;
use trellis_protocol::record::ReadingRecord;

#[tokio::main]
async fn main() {
    let deployments = setting("READINGS_DEPLOYMENTS", 8);
    let each = setting("READINGS_EACH", 150_000);
    // Room for every reading at once, so the bench measures handling, not the bus's bound.
    let bound = deployments * each;
    let node =
        spawn_node_with(|settings| settings.bus = format!("embedded?max-messages={bound}")).await;
    let sensors: Vec<String> = node
        .deploy_thermostats(deployments)
        .await
        .into_iter()
        .map(|sensor| sensor.id)
        .collect();
    let metrics = node.node_metrics_url().await;
    // Each instance handles readings before the timed run, so it starts warm. A group starts
    // at the end of its topic, so readings go out until every instance has subscribed and
    // handled one, and then until the count stands still.
    let bus = node.bus();
    let mut sequence = 0;
    let mut last_total = -1.0;
    let started_up = wait_for(
        Duration::from_secs(120),
        "every thermostat to handle its first readings",
        async || {
            let per_deployment = handled_per_deployment(&node.client, &metrics).await;
            let ready = per_deployment.iter().filter(|&&n| n >= 1.0).count() as u64;
            let total = per_deployment.iter().sum::<f64>();
            if ready == deployments && total == last_total {
                return Ok(total);
            }
            if ready < deployments {
                sequence += 1;
                for sensor in &sensors {
                    bus.publish(&sensor_topic(sensor), record(sensor, sequence))
                        .unwrap();
                }
            }
            last_total = total;
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err(format!("{ready} of {deployments} running, {total} handled"))
        },
    )
    .await;
    let first = sequence + 1;

    let payloads: Vec<(String, Vec<Vec<u8>>)> = sensors
        .iter()
        .map(|sensor| {
            let readings = (first..first + each)
                .map(|sequence| record(sensor, sequence))
                .collect();
            (sensor_topic(sensor), readings)
        })
        .collect();
    let started = Instant::now();
    let publisher = std::thread::spawn(move || {
        // Interleaved, as devices' readings arrive.
        let mut payloads: Vec<_> = payloads
            .into_iter()
            .map(|(topic, readings)| (topic, readings.into_iter()))
            .collect();
        for _ in 0..each {
            for (topic, readings) in &mut payloads {
                bus.publish(topic, readings.next().unwrap()).unwrap();
            }
        }
    });
    let target = started_up + (deployments * each) as f64;
    let mut published_in = None;
    loop {
        if published_in.is_none() && publisher.is_finished() {
            published_in = Some(started.elapsed());
        }
        let total: f64 = handled_per_deployment(&node.client, &metrics)
            .await
            .iter()
            .sum();
        if total >= target {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "handled {} of {} readings in 10 minutes",
            total - started_up,
            deployments * each
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let published_in = published_in.unwrap_or(elapsed);
    let readings = deployments * each;
    println!(
        "deployments  readings  published/s  handled/s (publish → on-reading → commit, {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{deployments:>11}  {readings:>8}  {:>11.0}  {:>9.0}",
        readings as f64 / published_in.as_secs_f64(),
        readings as f64 / elapsed.as_secs_f64()
    );
    // For scripts/bench's table of every goal's figures.
    println!(
        "figure: 4. readings | in process, {deployments} thermostats on one node: handled/s | {:.0}",
        readings as f64 / elapsed.as_secs_f64()
    );
}

/// Reading `sequence` of `sensor`, as the gateway encodes it: a classroom at a comfortable
/// temperature, so the thermostat decides on each reading and commands nothing.
fn record(sensor: &str, sequence: u64) -> Vec<u8> {
    serde_json::to_vec(&ReadingRecord {
        id: format!("{sensor}-{sequence}"),
        sensor: sensor.to_string(),
        sequence,
        timestamp_ms: 1_700_000_000_000 + sequence as i64,
        value: Value::Number(20.0 + (sequence % 10) as f64 / 10.0),
    })
    .unwrap()
}
