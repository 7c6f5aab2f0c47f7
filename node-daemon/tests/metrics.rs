//! A node's own `/metrics` (opened with a token, as `--metrics-listen` and `--metrics-token`
//! do) and the control plane's count what the node does: readings handled and timed per
//! deployment, traps and restarts, the bus lag and the readings the bus dropped, its instances
//! and machine; the control plane sees the gateway's readings and the node's heartbeats.

mod common;

use std::time::{Duration, Instant};

use common::scrape::{Scrape, histogram, scrape, value};
use common::{
    NODE_METRICS_TOKEN, NODE_NAME, TestNode, deploy_echo, echo_manifest, spawn_node,
    spawn_node_with, wait_for, wait_running, workspace_file,
};
use trellis_protocol::api::{Accepted, NewReading, ValueKind};

/// Readings sent through the gateway.
const READINGS: u64 = 12;

async fn node_scrape(node: &TestNode, url: &str) -> Scrape {
    scrape(&node.client, url, Some(NODE_METRICS_TOKEN)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_the_node_does() {
    let node = spawn_node().await;
    let url = node.node_metrics_url().await;

    // The node's `/metrics` asks for its token.
    let refused = node.client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
    let answer: serde_json::Value = refused.json().await.unwrap();
    assert!(
        answer["error"].as_str().unwrap().contains("metrics token"),
        "{answer}"
    );
    let wrong = node
        .client
        .get(&url)
        .bearer_auth("not-it")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), reqwest::StatusCode::UNAUTHORIZED);

    let (deployment, sensor, _) = deploy_echo(
        &node,
        &[(echo_manifest("0.1.0", "m"), trellis_guest_artifacts::ECHO)],
    )
    .await;
    wait_running(&node, &deployment.id, "0.1.0").await;
    let id = deployment.id.as_str();
    let mine = [("deployment", id)];
    let before = node_scrape(&node, &url).await;
    let handled_before = value(&before, "trellis_readings_handled_total", &mine).unwrap_or(0.0);

    let token = sensor.token.expect("the sensor's token");
    let sent = Instant::now();
    for sequence in 1..=READINGS {
        let reading = NewReading {
            value: serde_json::json!({ "kind": "number", "value": sequence as f64 }),
            sequence: Some(sequence),
            timestamp_ms: None,
        };
        let _: Accepted = node.post("/device/readings", &token, &reading).await;
    }

    // Every reading handled, each call timed, none trapped, nothing left unread on the bus.
    let after = wait_for(
        Duration::from_secs(30),
        "every reading handled",
        async || {
            let now = node_scrape(&node, &url).await;
            let handled = value(&now, "trellis_readings_handled_total", &mine).unwrap_or(0.0);
            let lag = value(&now, "trellis_bus_lag_readings", &[("group", id)]);
            let dropped = value(&now, "trellis_bus_dropped_readings", &[("group", id)]);
            if handled - handled_before == READINGS as f64
                && lag == Some(0.0)
                && dropped == Some(0.0)
            {
                Ok(now)
            } else {
                Err(format!("{handled} handled, lag {lag:?}"))
            }
        },
    )
    .await;
    let timed = value(&after, "trellis_on_reading_duration_seconds", &mine).unwrap();
    let timed_before = value(&before, "trellis_on_reading_duration_seconds", &mine).unwrap_or(0.0);
    assert_eq!(timed - timed_before, READINGS as f64);
    // The gateway stamped each reading as it came, so none can be older than the time since the
    // first was sent (plus the millisecond the stamp rounds off).
    let age = |scrape: &Scrape| {
        histogram(scrape, "trellis_reading_age_seconds", &mine)
            .map_or((0.0, 0.0), |h| (h.count, h.sum))
    };
    let ((aged, age_sum), (aged_before, age_sum_before)) = (age(&after), age(&before));
    assert_eq!(aged - aged_before, READINGS as f64);
    let oldest = sent.elapsed().as_secs_f64() + 0.001;
    assert!(
        age_sum - age_sum_before <= READINGS as f64 * oldest,
        "{READINGS} readings {} s old in all, sent within {oldest} s",
        age_sum - age_sum_before
    );
    assert_eq!(
        value(&after, "trellis_instance_traps_total", &mine).unwrap_or(0.0),
        0.0
    );
    assert_eq!(
        value(&after, "trellis_build_info", &[("process", "node")]),
        Some(1.0)
    );
    assert!(value(&after, "trellis_node_memory_total_bytes", &[]).unwrap() > 0.0);
    assert!(value(&after, "trellis_node_memory_used_bytes", &[]).unwrap() > 0.0);

    // The control plane saw the readings come in, and hears the node.
    let plane_url = format!("{}/metrics", node.address);
    let plane = scrape(&node.client, &plane_url, Some(&node.admin)).await;
    assert_eq!(
        value(
            &plane,
            "trellis_gateway_readings_total",
            &[("sensor", &sensor.id)]
        ),
        Some(READINGS as f64)
    );
    let age = value(
        &plane,
        "trellis_node_heartbeat_age_seconds",
        &[("node", NODE_NAME)],
    )
    .unwrap();
    assert!((0.0..30.0).contains(&age), "heartbeat age {age}");
    assert_eq!(
        value(&plane, "trellis_instances", &[("state", "running")]),
        Some(1.0)
    );

    // An app that traps on every tick: counted as traps and restarts of its deployment.
    node.upload_app(
        &workspace_file("tests/guests/crashy/trellis.toml"),
        trellis_guest_artifacts::CRASHY,
    )
    .await;
    let crashy = node.deploy("crashy", &[]).await;
    let crashing = [("deployment", crashy.id.as_str())];
    wait_for(
        Duration::from_secs(30),
        "traps and restarts counted",
        async || {
            let now = node_scrape(&node, &url).await;
            let traps = value(&now, "trellis_instance_traps_total", &crashing).unwrap_or(0.0);
            let restarts = value(&now, "trellis_instance_restarts_total", &crashing).unwrap_or(0.0);
            let instances = value(&now, "trellis_node_instances", &[("state", "running")]);
            if traps >= 2.0 && restarts >= 2.0 && instances >= Some(1.0) {
                Ok(())
            } else {
                Err(format!(
                    "{traps} traps, {restarts} restarts, {instances:?} running"
                ))
            }
        },
    )
    .await;
    // The echo app is unharmed.
    let now = node_scrape(&node, &url).await;
    assert_eq!(
        value(&now, "trellis_instance_traps_total", &mine).unwrap_or(0.0),
        0.0
    );
}

/// An app slower than its readings, on an embedded bus that keeps three readings a topic: the
/// readings it could not take in time are dropped for it and counted, so each reading sent is
/// either handled or counted as dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_the_bus_drops_for_a_slow_app_are_counted() {
    const SENT: u64 = 12;
    let node = spawn_node_with(|settings| settings.bus = "embedded?max-messages=3".into()).await;
    let url = node.node_metrics_url().await;
    node.add_sensor_type("temperature", ValueKind::Number).await;
    let sensor = node.add_device("sensors", "t1", "temperature").await;
    node.upload_app(
        &workspace_file("tests/guests/sleepy/trellis.toml"),
        trellis_guest_artifacts::SLEEPY,
    )
    .await;
    let deployment = node.deploy("sleepy", &[("in", &sensor.id)]).await;
    let version = deployment.version.clone();
    wait_running(&node, &deployment.id, &version).await;
    let token = sensor.token.expect("the sensor's token");
    // Each reading keeps the app busy for half a second (below its one-second deadline), and
    // they come far faster than that.
    for sequence in 1..=SENT {
        let reading = NewReading {
            value: serde_json::json!({ "kind": "number", "value": 0.5 }),
            sequence: Some(sequence),
            timestamp_ms: None,
        };
        let _: Accepted = node.post("/device/readings", &token, &reading).await;
    }
    let group = [("group", deployment.id.as_str())];
    let mine = [("deployment", deployment.id.as_str())];
    wait_for(
        Duration::from_secs(30),
        "every reading handled or counted as dropped",
        async || {
            let now = node_scrape(&node, &url).await;
            let handled = value(&now, "trellis_readings_handled_total", &mine).unwrap_or(0.0);
            let dropped = value(&now, "trellis_bus_dropped_readings", &group).unwrap_or(0.0);
            let lag = value(&now, "trellis_bus_lag_readings", &group);
            // A reading the app was handling when it was dropped is counted in both.
            if dropped >= 1.0 && handled + dropped >= SENT as f64 && lag == Some(0.0) {
                Ok(())
            } else {
                Err(format!("{handled} handled, {dropped} dropped, lag {lag:?}"))
            }
        },
    )
    .await;
}
