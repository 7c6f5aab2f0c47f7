//! What a node may say and fetch with its token: its heartbeat's figures are checked before
//! placement trusts them, and it gets only the artifacts of what it is assigned.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::fixtures::{classroom, id_of, thermostat_classroom};
use crate::helpers::{Db, TestApp, message, on_both_databases};

on_both_databases!(
    a_node_reporting_an_impossible_figure_is_refused_naming_it,
    a_node_gets_only_the_artifacts_of_its_assignments,
);

fn report(performance: Value) -> Value {
    json!({ "metrics": { "cpu_percent": 5.0, "memory_used_mb": 100.0,
        "memory_total_mb": 4000.0, "load_1m": 0.1, "performance": performance },
        "instances": [] })
}

async fn register(app: &TestApp, configurer: &str, name: &str) -> String {
    let (status, node) = app
        .post("/nodes", configurer, json!({ "name": name }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{node}");
    node["token"].as_str().unwrap().to_string()
}

/// `1e300` would win every placement; zero or less, and a negative CPU use, mean nothing. Each
/// is a 422 naming the field, and the refused report is not stored.
async fn a_node_reporting_an_impossible_figure_is_refused_naming_it(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let token = register(&app, &configurer, "boaster").await;
    for performance in [json!(1e300), json!(0.0), json!(-3.0), json!(2e6)] {
        let (status, answer) = app
            .post("/node/heartbeat", &token, report(performance.clone()))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{performance}: {answer}"
        );
        assert_eq!(answer["field"], "metrics.performance", "{answer}");
        assert!(message(&answer).contains("performance"), "{answer}");
    }
    let mut hot_cpu = report(json!(10.0));
    hot_cpu["metrics"]["cpu_percent"] = json!(-1.0);
    let (status, answer) = app.post("/node/heartbeat", &token, hot_cpu).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["field"], "metrics.cpu_percent", "{answer}");
    let (status, answer) = app
        .post("/node/heartbeat", &token, json!({ "metrics": "fast" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(message(&answer).contains("heartbeat"), "{answer}");

    // Nothing refused was kept: the node never reported.
    let (_, nodes) = app.get("/nodes", &configurer).await;
    assert_eq!(nodes[0]["state"], "registered", "{nodes}");
    assert_eq!(nodes[0]["report"], Value::Null, "{nodes}");
    let (status, answer) = app
        .post("/node/heartbeat", &token, report(json!(1500.0)))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, nodes) = app.get("/nodes", &configurer).await;
    assert_eq!(nodes[0]["report"]["metrics"]["performance"], 1500.0);
}

/// The node running a deployment fetches its app's component; another node's token gets a 403
/// in the API's error shape for it, and for an artifact nobody is assigned.
async fn a_node_gets_only_the_artifacts_of_its_assignments(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (configurer, eve) = thermostat_classroom(&app).await;
    let runner = register(&app, &configurer, "runner").await;
    let (status, _) = app
        .post("/node/heartbeat", &runner, report(json!(10.0)))
        .await;
    assert_eq!(status, StatusCode::OK);
    let bindings = json!({
        "temperature": [id_of(&app, &eve, "sensors", "north-temperature").await],
        "fan": [id_of(&app, &eve, "controllers", "north-fan").await],
        "ac": [id_of(&app, &eve, "controllers", "north-air-conditioner").await],
    });
    let body = json!({ "app": "classroom-thermostat", "bindings": bindings });
    let (status, deployment) = app.post("/deployments", &eve, body).await;
    assert_eq!(status, StatusCode::CREATED, "{deployment}");

    let started = Instant::now();
    let component = loop {
        let (_, assigned) = app.get("/node/assignments", &runner).await;
        if let Some(sha) = assigned["instances"][0]["component_sha256"].as_str() {
            break sha.to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{assigned}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Only now does the other node exist, so the deployment cannot be placed on it.
    let other = register(&app, &configurer, "other").await;

    let fetch = |token: String, sha: String| {
        let app = &app;
        async move {
            let response = app
                .client
                .get(app.url(&format!("/node/artifacts/{sha}")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (response.status(), response.bytes().await.unwrap().to_vec())
        }
    };
    let (status, bytes) = fetch(runner.clone(), component.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hex::encode(Sha256::digest(&bytes)), component);

    let (status, bytes) = fetch(other.clone(), component.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let refused: Value = serde_json::from_slice(&bytes).expect("a JSON error body");
    assert!(message(&refused).contains("other"), "{refused}");
    assert!(message(&refused).contains(&component), "{refused}");

    let nobodys = hex::encode(Sha256::digest(b"no such artifact"));
    for token in [runner, other] {
        let (status, bytes) = fetch(token, nobodys.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let refused: Value = serde_json::from_slice(&bytes).expect("a JSON error body");
        assert!(refused["error"].is_string(), "{refused}");
    }
}
