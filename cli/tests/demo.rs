//! `trellis up --demo`: the README's "run it" command, on a fresh registry. Readings from its
//! simulated classrooms reach the smart-classroom app, which asks the comfort model and commands
//! the simulated fans and air conditioners; frames from its simulated camera reach the
//! digit-display app, which asks the digits model and shows the digit on a display. Once with
//! everything in one process (the embedded bus and node), once through a real Kafka broker to a
//! node in a process of its own.

mod common;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use common::*;

#[test]
fn the_demo_runs_in_one_process() {
    let _serial = one_at_a_time();
    run_demo(None);
}

#[test]
fn the_demo_runs_through_kafka_on_a_node_of_its_own() {
    let Some(brokers) = kafka_broker() else {
        return;
    };
    let _serial = one_at_a_time();
    run_demo(Some(&format!("kafka://{brokers}")));
}

/// Runs the demo: on the embedded node and bus, or with `bus` and only a separate node process.
fn run_demo(bus: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let components = Path::new(trellis_guest_artifacts::SMART_CLASSROOM)
        .parent()
        .unwrap();
    let examples = workspace("examples");
    let mut args = vec![
        "--demo",
        "--metrics-token",
        METRICS_TOKEN,
        "--listen",
        "127.0.0.1:0",
        "--examples",
        examples.to_str().unwrap(),
        "--components",
        components.to_str().unwrap(),
    ];
    if let Some(bus) = bus {
        args.extend(["--bus", bus, "--nodes", "0"]);
    }
    let (plane, url) = up(&args, &dir.path().join("plane"));
    let admin = wait_for(Duration::from_secs(30), "the control plane", || {
        std::panic::catch_unwind(|| Api::login(&url, "admin", ADMIN_PASSWORD)).ok()
    });
    // A node process, started as its registration says: with the platform's Kafka.
    let node = bus.map(|bus| {
        let registered = admin.post("/nodes", json!({ "name": "vm-1" }));
        assert_eq!(registered["bus"], bus, "{registered}");
        let token = registered["token"].as_str().unwrap();
        node_on_bus(&url, token, &dir.path().join("vm-1"), bus)
    });

    // Each classroom controller hears from its classroom's app, which could only decide by
    // asking the comfort model (an app without its model fails every reading instead).
    let controllers = wait_for(
        Duration::from_secs(180),
        "every controller commanded",
        || {
            let list = admin.get("/controllers").as_array()?.clone();
            (list.len() == 5
                && list
                    .iter()
                    .all(|c| c["state"]["commands"].as_u64() >= Some(1)))
            .then_some(list)
        },
    );
    for controller in &controllers {
        let expected: &[&str] = match controller["type"].as_str().unwrap() {
            "fan" => &["set-speed"],
            "air-conditioner" => &["set-mode"],
            "display" => &["show"],
            other => panic!("the demo made a {other} controller"),
        };
        assert!(
            expected.contains(&controller["state"]["last-command"].as_str().unwrap()),
            "{controller}"
        );
    }

    // The display shows the digit of the frame it answers: the camera sends the fixture
    // images in name order, so frame n is the ((n - 1) mod 10)th.
    let display = controllers.iter().find(|c| c["type"] == "display").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let truths = fixture_truths();
    let state = wait_for(Duration::from_secs(60), "ten frames shown", || {
        let state = admin.get(&format!("/controllers/{display}"))["state"].clone();
        (state["commands"].as_u64() >= Some(10)).then_some(state)
    });
    let frame = state["frame"].as_f64().unwrap() as usize;
    let truth = &truths[(frame - 1) % truths.len()];
    assert_eq!(state["text"], truth.to_string(), "{state}");

    // The node says `running` at its next heartbeat, which may come after the first commands.
    let deployments = wait_for(Duration::from_secs(30), "every deployment running", || {
        let deployments = admin.deployments();
        deployments
            .iter()
            .all(|d| d["state"] == "running")
            .then_some(deployments)
    });
    assert_eq!(deployments.len(), 3);
    for deployment in deployments {
        assert!(
            !deployment["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("failed"),
            "{deployment}"
        );
        if bus.is_some() {
            assert_eq!(deployment["node"], "vm-1", "{deployment}");
        }
    }

    // Where ONNX Runtime runs the models (wherever its library is configured, as the test
    // script does), each model the apps ask runs in a worker process of its own, started by the
    // process that runs the apps.
    if std::env::var_os("ORT_DYLIB_PATH").is_some() {
        let workers = node.as_ref().unwrap_or(&plane).model_workers();
        assert!(
            workers.len() >= 2,
            "comfort and digits each in a worker process: {workers:?}"
        );
    }

    // Prometheus, with the metrics token, sees the readings come in; the node inside the
    // `trellis up` process counts its deployments' readings and predictions there too.
    let families = scrape(&format!("{url}/metrics"));
    let total = |family: &str, label: &str, value: &str| -> f64 {
        families.get(family).map_or(0.0, |samples| {
            samples
                .iter()
                .filter(|(labels, _)| labels.iter().any(|(k, v)| k == label && v == value))
                .map(|(_, v)| v)
                .sum()
        })
    };
    let gateway: f64 = families["trellis_gateway_readings_total"]
        .iter()
        .map(|(_, v)| v)
        .sum();
    assert!(gateway > 0.0, "no gateway readings counted");
    if bus.is_none() {
        for deployment in admin.deployments() {
            let id = deployment["id"].as_str().unwrap();
            let handled = total("trellis_readings_handled_total", "deployment", id);
            assert!(handled > 0.0, "{id} handled no reading: {families:?}");
        }
        for model in ["comfort", "digits"] {
            let asked = total("trellis_inference_requests_total", "model", model);
            assert!(asked > 0.0, "{model} was never asked: {families:?}");
        }
    }
}

/// A sample's labels and value.
type Sample = (Vec<(String, String)>, f64);
/// A scrape's samples by family.
type Families = std::collections::HashMap<String, Vec<Sample>>;

/// The bearer token the demo's `/metrics` asks for.
const METRICS_TOKEN: &str = "demo-metrics-token";

/// Each family of a scrape of `url` (with [`METRICS_TOKEN`]), read with a Prometheus text-format
/// parser: its samples as (labels, value), for counters and gauges.
fn scrape(url: &str) -> Families {
    use openmetrics_parser::PrometheusValue;
    let text = reqwest::blocking::Client::new()
        .get(url)
        .bearer_auth(METRICS_TOKEN)
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.text())
        .expect("scraping /metrics");
    let parsed = openmetrics_parser::prometheus::parse_prometheus(&text)
        .unwrap_or_else(|e| panic!("not Prometheus text format: {e:?}"));
    parsed
        .families
        .into_iter()
        .map(|(name, family)| {
            let samples = family
                .iter_samples()
                .filter_map(|sample| {
                    let value = match &sample.value {
                        PrometheusValue::Counter(c) => c.value.as_f64(),
                        PrometheusValue::Gauge(n) | PrometheusValue::Unknown(n) => n.as_f64(),
                        _ => return None,
                    };
                    let labels = sample.get_labelset().ok()?;
                    let labels = labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    Some((labels, value))
                })
                .collect();
            (name, samples)
        })
        .collect()
}

/// The digit in each fixture image, in the order of the images' names.
fn fixture_truths() -> Vec<u64> {
    let path = workspace("examples/models/digits/fixtures/images.json");
    let images: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut images: Vec<(String, u64)> = images
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["file"].as_str().unwrap().to_string(),
                i["truth"].as_u64().unwrap(),
            )
        })
        .collect();
    images.sort();
    images.into_iter().map(|(_, truth)| truth).collect()
}
