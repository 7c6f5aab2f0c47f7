//! `GET /metrics`: the Prometheus text format, read with a real parser, whose counters move
//! with the work the API does, behind the metrics token (or an admin's session), or on an
//! address of its own.

use openmetrics_parser::prometheus::parse_prometheus;
use openmetrics_parser::{MetricsExposition, PrometheusType, PrometheusValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use trellis_guest_artifacts as guests;

use crate::fixtures::{classroom, device};
use crate::helpers::{Db, TestApp, message, on_both_databases, workspace_file};
use crate::uploads::model_parts;

const METRICS_TOKEN: &str = "a-metrics-token";

on_both_databases!(
    metrics_need_the_token_and_count_the_work,
    metrics_listen_serves_them_on_an_address_of_its_own,
);

type Scrape = MetricsExposition<PrometheusType, PrometheusValue>;

/// Parses a scrape with a Prometheus text-format parser; anything it does not accept fails.
fn parse(text: &str) -> Scrape {
    parse_prometheus(text).unwrap_or_else(|e| panic!("not Prometheus text format: {e:?}\n{text}"))
}

/// The samples of family `name` whose labels include `labels`, as (labels, value).
fn samples<'a>(
    scrape: &'a Scrape,
    name: &str,
    labels: &[(&str, &str)],
) -> Vec<(Vec<(String, String)>, &'a PrometheusValue)> {
    let Some(family) = scrape.families.get(name) else {
        return Vec::new();
    };
    family
        .iter_samples()
        .filter_map(|sample| {
            let set = sample.get_labelset().ok()?;
            labels
                .iter()
                .all(|(k, v)| set.get_label_value(k) == Some(*v))
                .then(|| {
                    let all = set.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    (all, &sample.value)
                })
        })
        .collect()
}

/// The value of the one sample of `name` with `labels` (for a histogram, its count); 0 when
/// there is none yet (a counter that has not moved has no series).
pub(crate) fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = samples(scrape, name, labels);
    assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
    found.first().map_or(0.0, |(_, value)| match value {
        PrometheusValue::Counter(c) => c.value.as_f64(),
        PrometheusValue::Gauge(n) | PrometheusValue::Unknown(n) => n.as_f64(),
        PrometheusValue::Histogram(h) => h.count.unwrap_or_default() as f64,
        other => panic!("{name} is {other:?}"),
    })
}

/// Every value label `label` takes in any family.
fn label_values(scrape: &Scrape, label: &str) -> Vec<String> {
    scrape
        .families
        .values()
        .flat_map(|family| family.iter_samples())
        .filter_map(|sample| {
            let set = sample.get_labelset().ok()?;
            set.get_label_value(label).map(str::to_string)
        })
        .collect()
}

pub(crate) async fn scrape_with(app: &TestApp, token: &str) -> Scrape {
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    parse(&response.text().await.unwrap())
}

async fn metrics_need_the_token_and_count_the_work(db: Db) {
    let Some(app) = TestApp::spawn_with(db, |s| s.metrics_token = Some(METRICS_TOKEN.into())).await
    else {
        return;
    };
    // Refused without the token, with another one, and for a user who is not an admin; each
    // answer in the API's error shape.
    let (status, answer) = app.call_root(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert!(message(&answer).contains("metrics token"), "{answer}");
    let (status, answer) = app
        .call_root(Method::GET, "/metrics", Some("not-it"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert!(answer["error"].is_string(), "{answer}");
    let configurer = classroom(&app).await;
    let (status, answer) = app
        .call_root(Method::GET, "/metrics", Some(&configurer), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, _) = app
        .call_root(Method::GET, "/metrics", Some(&app.admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "an admin's session reads them too");

    let before = scrape_with(&app, METRICS_TOKEN).await;
    let requests = "trellis_http_requests_total";
    let refused = [("route", "/metrics"), ("method", "GET"), ("status", "401")];
    assert_eq!(
        value(&before, requests, &refused),
        2.0,
        "the two refused scrapes"
    );
    let build = [
        ("process", "control-plane"),
        ("version", env!("CARGO_PKG_VERSION")),
    ];
    assert_eq!(value(&before, "trellis_build_info", &build), 1.0);

    // Readings through the gateway: counted per sensor, and as requests of the route.
    let sensor = device(
        &app,
        &configurer,
        "sensors",
        "metrics-t",
        "temperature",
        "north",
        "r",
    )
    .await;
    let (id, token) = (
        sensor["id"].as_str().unwrap(),
        sensor["token"].as_str().unwrap(),
    );
    let sent = 7;
    for _ in 0..sent {
        let reading = json!({ "value": { "kind": "number", "value": 21.5 } });
        let (status, answer) = app.post("/device/readings", token, reading).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    }
    // A request with an id in its path, and one that matches no route.
    let (status, _) = app.get(&format!("/sensors/{id}"), &configurer).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get("/no-such-thing", &configurer).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let after = scrape_with(&app, METRICS_TOKEN).await;
    let readings = "trellis_gateway_readings_total";
    let delta = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    assert_eq!(delta(readings, &[("sensor", id)]), f64::from(sent));
    let accepted = [
        ("method", "POST"),
        ("route", "/api/v1/device/readings"),
        ("status", "202"),
    ];
    assert_eq!(delta(requests, &accepted), f64::from(sent));
    let timed = [("method", "POST"), ("route", "/api/v1/device/readings")];
    assert_eq!(
        delta("trellis_http_request_duration_seconds", &timed),
        f64::from(sent)
    );
    // Routes are templates, never raw paths: the id makes no series of its own.
    let by_template = [
        ("method", "GET"),
        ("route", "/api/v1/sensors/{id}"),
        ("status", "200"),
    ];
    assert_eq!(delta(requests, &by_template), 1.0);
    assert_eq!(
        delta(requests, &[("route", "unmatched"), ("status", "404")]),
        1.0
    );
    assert!(
        label_values(&after, "route")
            .iter()
            .all(|r| !r.contains(id)),
        "a raw path became a label"
    );

    // Predictions are counted by model, version, runtime and outcome.
    let scientist = app.user("dana", "data-scientist").await;
    let (status, model) = app
        .upload(
            "/models",
            &scientist,
            model_parts("digits", guests::DIGITS_CONTRACT),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    let image = workspace_file("examples/models/digits/fixtures/images/digit-0.png");
    let predictions = 3;
    for _ in 0..predictions {
        let response = app
            .client
            .post(app.url("/models/digits/1.0.0/predict"))
            .bearer_auth(&scientist)
            .header("content-type", "image/png")
            .body(image.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let (status, _) = app
        .post(
            "/models/digits/1.0.0/predict",
            &scientist,
            Value::String("no image".into()),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let scraped = scrape_with(&app, METRICS_TOKEN).await;
    let digits = [("model", "digits"), ("version", "1.0.0")];
    let ok = [digits[0], digits[1], ("outcome", "ok")];
    let failed = [digits[0], digits[1], ("outcome", "error")];
    let inference = "trellis_inference_requests_total";
    assert_eq!(value(&scraped, inference, &ok), f64::from(predictions));
    assert_eq!(value(&scraped, inference, &failed), 1.0);
    let runtime = samples(&scraped, inference, &ok)
        .into_iter()
        .flat_map(|(labels, _)| labels)
        .find(|(k, _)| k == "runtime")
        .map(|(_, v)| v)
        .expect("a runtime label");
    assert!(
        ["tract", "onnx-runtime"].contains(&runtime.as_str()),
        "{runtime}"
    );
    assert_eq!(
        value(&scraped, "trellis_inference_duration_seconds", &digits),
        f64::from(predictions + 1)
    );
    let waits: f64 = ["reused", "started"]
        .iter()
        .map(|source| {
            let labels = [digits[0], digits[1], ("source", *source)];
            value(&scraped, "trellis_contract_pool_wait_seconds", &labels)
        })
        .sum();
    assert_eq!(
        waits,
        f64::from(predictions + 1),
        "one contract per prediction"
    );

    // A node's heartbeat: its age and what it reported, by node name.
    let (status, node) = app
        .post("/nodes", &configurer, json!({ "name": "vm-1" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{node}");
    let report = json!({ "metrics": { "cpu_percent": 25.0, "memory_used_mb": 512.0,
        "memory_total_mb": 2048.0, "load_1m": 0.1, "temperature_c": 48.5, "performance": 10.0 },
        "instances": [] });
    let (status, answer) = app
        .post("/node/heartbeat", node["token"].as_str().unwrap(), report)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let scraped = scrape_with(&app, METRICS_TOKEN).await;
    let vm = [("node", "vm-1")];
    let age = value(&scraped, "trellis_node_heartbeat_age_seconds", &vm);
    assert!((0.0..60.0).contains(&age), "heartbeat age {age}");
    assert_eq!(value(&scraped, "trellis_node_cpu_ratio", &vm), 0.25);
    assert_eq!(
        value(&scraped, "trellis_node_memory_used_bytes", &vm),
        512.0 * 1048576.0
    );
    assert_eq!(
        value(&scraped, "trellis_node_temperature_celsius", &vm),
        48.5
    );
}

async fn metrics_listen_serves_them_on_an_address_of_its_own(db: Db) {
    // Without a token, the address of its own is open, and the API's listener keeps them for
    // admins.
    let Some(app) = TestApp::spawn_with(db, |s| {
        s.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await
    else {
        return;
    };
    let own = format!(
        "http://{}/metrics",
        app.metrics_address.expect("a metrics listener")
    );
    let response = app.client.get(&own).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let scrape = parse(&response.text().await.unwrap());
    assert_eq!(
        value(
            &scrape,
            "trellis_build_info",
            &[("process", "control-plane")]
        ),
        1.0
    );
    let (status, _) = app.call_root(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // With a token, it asks for it there too.
    let Some(app) = TestApp::spawn_with(db, |s| {
        s.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        s.metrics_token = Some(METRICS_TOKEN.into());
    })
    .await
    else {
        return;
    };
    let own = format!("http://{}/metrics", app.metrics_address.unwrap());
    let response = app.client.get(&own).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let answer: Value = response.json().await.unwrap();
    assert!(message(&answer).contains("metrics token"), "{answer}");
    let response = app
        .client
        .get(&own)
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    parse(&response.text().await.unwrap());
}
