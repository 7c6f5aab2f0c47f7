//! Readings from devices to apps, the whole way: `DEVICES` (8) sensors POST batches of readings
//! to the gateway (`/api/v1/device/readings/batch`), the control plane puts them on the bus, and
//! a node's classroom thermostats, one bound to each sensor, handle them. The bus is Kafka when
//! `TRELLIS_TEST_KAFKA` names a broker (`scripts/with-kafka cargo bench -p trellis-node --bench
//! device_readings`), the embedded bus otherwise. It prints:
//!
//! - readings handled per second while every device sends batches of `BATCH` (100) as fast as
//!   the gateway takes them, `EACH` (20,000) readings each;
//! - device → `on-reading` p50 and p99 while the devices together send 1,000 and then 10,000
//!   readings a second for `PACED_SECONDS` (10) each, every reading stamped by its device as it
//!   is sent. The node's `trellis_reading_age_seconds` histogram measures each one when its
//!   `on-reading` begins; quantiles are interpolated in its buckets, as Prometheus's
//!   `histogram_quantile` does, and the stamps are whole milliseconds.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::scrape::{Scrape, handled_per_deployment, histogram, scrape};
use common::{NODE_METRICS_TOKEN, TestNode, setting, spawn_node_with, wait_for};
use trellis_protocol::api::{NewReading, NewReadings};

/// A sensor as its device sees it: its gateway token, the number of its next reading and how
/// long the gateway took to answer each request.
struct Device {
    token: String,
    next: u64,
    answered_in: Vec<Duration>,
}

#[tokio::main]
async fn main() {
    let devices = setting("DEVICES", 8);
    let batch = setting("BATCH", 100);
    let each = setting("EACH", 20_000);
    let paced_seconds = setting("PACED_SECONDS", 10);
    let broker = std::env::var("TRELLIS_TEST_KAFKA").ok();
    let bus_kind = if broker.is_some() {
        "Kafka"
    } else {
        "embedded bus"
    };
    let bus_name = match &broker {
        Some(brokers) => format!("Kafka at {brokers}"),
        None => "the embedded bus".to_string(),
    };
    let node = Arc::new(
        spawn_node_with(|settings| {
            if let Some(brokers) = &broker {
                settings.bus = format!("kafka://{brokers}");
            }
        })
        .await,
    );
    let mut sensors: Vec<Device> = node
        .deploy_thermostats(devices)
        .await
        .into_iter()
        .map(|sensor| Device {
            token: sensor.token.expect("a sensor's gateway token"),
            next: 1,
            answered_in: Vec::new(),
        })
        .collect();
    let metrics = node.node_metrics_url().await;

    // A group starts at the end of its topic, so each device sends a reading at a time until
    // every thermostat has handled one, and then until the count stands still.
    let mut last_total = -1.0;
    let mut handled_so_far = wait_for(
        Duration::from_secs(300),
        "every thermostat to handle its first readings",
        async || {
            let per_deployment = handled_per_deployment(&node.client, &metrics).await;
            let ready = per_deployment.iter().filter(|&&n| n >= 1.0).count() as u64;
            let total = per_deployment.iter().sum::<f64>();
            if ready == devices && total == last_total {
                return Ok(total);
            }
            if ready < devices {
                for device in &mut sensors {
                    send(&node, device, 1).await;
                }
            }
            last_total = total;
            tokio::time::sleep(Duration::from_millis(200)).await;
            Err(format!("{ready} of {devices} running, {total} handled"))
        },
    )
    .await;

    println!(
        "device → gateway → {bus_name} → node → thermostat, {devices} devices, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    println!(
        "{:<26} {:>8} {:>8} {:>9}  {:>17}  {:>17}",
        "load", "readings", "sent/s", "handled/s", "answer p50 / p99", "age p50 / p99"
    );

    // As fast as the gateway takes them.
    let started = Instant::now();
    let (mut sensors, sent, sent_in) = run_devices(&node, sensors, move |_, sent| {
        (sent < each).then(|| batch.min(each - sent))
    })
    .await;
    handled_so_far += sent as f64;
    wait_handled(&node, &metrics, handled_so_far).await;
    let elapsed = started.elapsed();
    let (answer_p50, answer_p99) = answers(&mut sensors);
    println!(
        "{:<26} {:>8} {:>8.0} {:>9.0}  {:>7.1} / {:>5.1} ms  {:>17}",
        format!("batches of {batch}, unpaced"),
        sent,
        sent as f64 / sent_in.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64(),
        answer_p50,
        answer_p99,
        "-"
    );
    // For scripts/bench's table of every goal's figures.
    println!(
        "figure: 4. readings | device → gateway → {bus_kind} → app, {devices} devices, batches of {batch}: handled/s | {:.0}",
        sent as f64 / elapsed.as_secs_f64()
    );

    // Paced: each device sends what is due every 10 ms, as one batch.
    for rate in [1_000u64, 10_000] {
        let before = scrape(&node.client, &metrics, Some(NODE_METRICS_TOKEN)).await;
        let per_device = rate as f64 / devices as f64;
        let seconds = paced_seconds as f64;
        let (back, sent, sent_in) = run_devices(&node, sensors, move |elapsed, sent| {
            if elapsed.as_secs_f64() >= seconds {
                return None;
            }
            let due = (elapsed.as_secs_f64() * per_device) as u64;
            Some(due.saturating_sub(sent))
        })
        .await;
        sensors = back;
        handled_so_far += sent as f64;
        wait_handled(&node, &metrics, handled_so_far).await;
        let after = scrape(&node.client, &metrics, Some(NODE_METRICS_TOKEN)).await;
        let ages = ages_between(&before, &after);
        let (answer_p50, answer_p99) = answers(&mut sensors);
        println!(
            "{:<26} {:>8} {:>8.0} {:>9}  {:>7.1} / {:>5.1} ms  {:>7.1} / {:>5.1} ms",
            format!("{rate} readings/s, paced"),
            sent,
            sent as f64 / sent_in.as_secs_f64(),
            "-",
            answer_p50,
            answer_p99,
            quantile(&ages, 0.50) * 1000.0,
            quantile(&ages, 0.99) * 1000.0,
        );
        println!(
            "figure: 4. readings | device → gateway → {bus_kind} → app at {rate} readings/s: device → on-reading p50 / p99 | {:.1} / {:.1} ms",
            quantile(&ages, 0.50) * 1000.0,
            quantile(&ages, 0.99) * 1000.0,
        );
    }
}

/// The p50 and p99 of the gateway's answers to every device since the last call, in ms.
fn answers(sensors: &mut [Device]) -> (f64, f64) {
    let mut all: Vec<Duration> = sensors
        .iter_mut()
        .flat_map(|device| std::mem::take(&mut device.answered_in))
        .collect();
    all.sort();
    let at = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    (at(0.50), at(0.99))
}

/// Runs every device at once until `due` says it is done: given how long the devices have run
/// and how many readings one has sent, it answers how many to send now (0 to wait 10 ms) or
/// `None` to stop. Returns the devices, the readings they sent and how long the slowest took.
async fn run_devices(
    node: &Arc<TestNode>,
    sensors: Vec<Device>,
    due: impl Fn(Duration, u64) -> Option<u64> + Clone + Send + 'static,
) -> (Vec<Device>, u64, Duration) {
    let started = Instant::now();
    let tasks: Vec<_> = sensors
        .into_iter()
        .map(|mut device| {
            let node = node.clone();
            let due = due.clone();
            tokio::spawn(async move {
                let first = device.next;
                while let Some(now) = due(started.elapsed(), device.next - first) {
                    if now == 0 {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    } else {
                        send(&node, &mut device, now).await;
                    }
                }
                let sent = device.next - first;
                (device, sent)
            })
        })
        .collect();
    let mut back = Vec::new();
    let mut sent = 0;
    for task in tasks {
        let (device, its) = task.await.expect("a device's task");
        back.push(device);
        sent += its;
    }
    (back, sent, started.elapsed())
}

/// Sends the device's next `count` readings in one request, each stamped now: a comfortable
/// classroom, so the thermostat decides and commands nothing.
async fn send(node: &TestNode, device: &mut Device, count: u64) {
    let now = Instant::now();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let readings = (device.next..device.next + count)
        .map(|sequence| NewReading {
            value: serde_json::json!({"kind": "number", "value": 20.0 + (sequence % 10) as f64 / 10.0}),
            sequence: Some(sequence),
            timestamp_ms: Some(now_ms),
        })
        .collect();
    let response = node
        .client
        .post(node.url("/device/readings/batch"))
        .bearer_auth(&device.token)
        .json(&NewReadings { readings })
        .send()
        .await
        .expect("sending readings");
    let status = response.status();
    assert!(
        status.is_success(),
        "the gateway answered {status}: {}",
        response.text().await.unwrap_or_default()
    );
    device.next += count;
    device.answered_in.push(now.elapsed());
}

/// Waits until the node has handled `target` readings in all, for at most 10 minutes.
async fn wait_handled(node: &TestNode, metrics: &str, target: f64) {
    wait_for(
        Duration::from_secs(600),
        "the node to handle every reading sent",
        async || {
            let total: f64 = handled_per_deployment(&node.client, metrics)
                .await
                .iter()
                .sum();
            if total >= target {
                Ok(())
            } else {
                Err(format!("{total} of {target}"))
            }
        },
    )
    .await;
}

/// The readings' ages between two scrapes, summed over the deployments: (upper bound, readings
/// at or under it), cumulative.
fn ages_between(before: &Scrape, after: &Scrape) -> Vec<(f64, f64)> {
    let summed = |scrape: &Scrape| {
        let mut buckets: Vec<(f64, f64)> = Vec::new();
        let Some(family) = scrape.families.get("trellis_reading_age_seconds") else {
            return buckets;
        };
        for sample in family.iter_samples() {
            let labels = sample.get_labelset().expect("labels");
            let deployment = labels.get_label_value("deployment").expect("a deployment");
            let one = histogram(
                scrape,
                "trellis_reading_age_seconds",
                &[("deployment", deployment)],
            )
            .expect("the deployment's histogram");
            if buckets.is_empty() {
                buckets = one.buckets.iter().map(|&(le, _)| (le, 0.0)).collect();
            }
            for (sum, (_, count)) in buckets.iter_mut().zip(one.buckets) {
                sum.1 += count;
            }
        }
        buckets
    };
    let (old, new) = (summed(before), summed(after));
    new.into_iter()
        .enumerate()
        .map(|(i, (le, count))| (le, count - old.get(i).map_or(0.0, |b| b.1)))
        .collect()
}

/// The `q` quantile of cumulative `buckets`, interpolated linearly within the bucket it falls in.
fn quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let total = buckets.last().map_or(0.0, |b| b.1);
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank && count > lower.1 {
            if le.is_infinite() {
                return lower.0;
            }
            return lower.0 + (le - lower.0) * (rank - lower.1) / (count - lower.1);
        }
        lower = (le, count);
    }
    f64::NAN
}
