//! Device and node tokens replaced: the new token is shown once, and the old one is refused
//! from the very next request.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{classroom, id_of};
use crate::helpers::{Db, TestApp, message, on_both_databases};

on_both_databases!(
    a_rotated_device_token_is_refused_at_once,
    a_rotated_node_token_is_refused_at_once,
);

fn reading(value: f64) -> Value {
    json!({ "value": { "kind": "number", "value": value } })
}

/// Replaces the token of `path` (`/sensors/ID`, `/nodes/NAME`...) as `token`; returns the new
/// one.
async fn rotate(app: &TestApp, path: &str, token: &str) -> String {
    let (status, answer) = app.post(&format!("{path}/token"), token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    answer["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no new token in {answer}"))
        .to_string()
}

async fn a_rotated_device_token_is_refused_at_once(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    // A fresh sensor, so its registration token is at hand.
    let (_, sensor) = app
        .post(
            "/sensors",
            &configurer,
            json!({ "name": "hall-temperature", "type": "temperature",
                "location": { "site": "north", "building": "main", "room": "hall" } }),
        )
        .await;
    let sensor_id = sensor["id"].as_str().unwrap();
    let old = sensor["token"].as_str().unwrap().to_string();
    let (status, _) = app.post("/device/readings", &old, reading(1.0)).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let sensor_token = rotate(&app, &format!("/sensors/{sensor_id}"), &configurer).await;
    assert_ne!(sensor_token, old);
    let (status, answer) = app.post("/device/readings", &old, reading(2.0)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old token: {answer}");
    let (status, answer) = app
        .post("/device/readings", &sensor_token, reading(3.0))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "the new token: {answer}");
    let (_, listed) = app.get(&format!("/sensors/{sensor_id}"), &configurer).await;
    assert!(listed.get("token").is_none(), "shown once: {listed}");
    assert_eq!(listed["readings"], 2, "{listed}");

    // A controller's: the old one no longer polls commands.
    let (_, controller) = app
        .post(
            "/controllers",
            &configurer,
            json!({ "name": "hall-fan", "type": "fan",
                "location": { "site": "north", "building": "main", "room": "hall" } }),
        )
        .await;
    let controller_id = controller["id"].as_str().unwrap();
    let old = controller["token"].as_str().unwrap().to_string();
    let poll = "/device/commands?wait_ms=0";
    assert_eq!(app.get(poll, &old).await.0, StatusCode::OK);
    let new = rotate(&app, &format!("/controllers/{controller_id}"), &app.admin).await;
    assert_eq!(app.get(poll, &old).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(poll, &new).await.0, StatusCode::OK);
    let (status, _) = app
        .call(
            Method::POST,
            "/device/state",
            Some(&old),
            Some(json!({ "on": true })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A sensor is not a controller, and an unknown id is named.
    let north = id_of(&app, &configurer, "sensors", "north-temperature").await;
    for path in [
        format!("/controllers/{north}/token"),
        "/sensors/sen_nope/token".into(),
    ] {
        let (status, answer) = app.post(&path, &configurer, json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {answer}");
        assert!(message(&answer).starts_with("no "), "{answer}");
    }
    let eve = app.user("eve", "end-user").await;
    let (status, _) = app
        .post(&format!("/sensors/{sensor_id}/token"), &eve, json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post("/device/readings", &sensor_token, reading(4.0))
        .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "a refused rotation changed nothing"
    );
}

async fn a_rotated_node_token_is_refused_at_once(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = app.user("carol", "platform-configurer").await;
    let (_, node) = app
        .post("/nodes", &configurer, json!({ "name": "vm-1" }))
        .await;
    let old = node["token"].as_str().unwrap().to_string();
    let report = json!({ "metrics": { "cpu_percent": 5.0, "memory_used_mb": 100.0,
        "memory_total_mb": 1000.0, "load_1m": 0.1, "performance": 10.0 }, "instances": [] });
    assert_eq!(
        app.post("/node/heartbeat", &old, report.clone()).await.0,
        StatusCode::OK
    );

    // By name or by id.
    let new = rotate(&app, "/nodes/vm-1", &configurer).await;
    let (status, answer) = app.post("/node/heartbeat", &old, report.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(
        app.get("/node/assignments", &old).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.post("/node/heartbeat", &new, report.clone()).await.0,
        StatusCode::OK
    );
    let id = node["id"].as_str().unwrap();
    let newer = rotate(&app, &format!("/nodes/{id}"), &configurer).await;
    assert_eq!(
        app.post("/node/heartbeat", &new, report.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.post("/node/heartbeat", &newer, report).await.0,
        StatusCode::OK
    );
    let (status, answer) = app.post("/nodes/vm-9/token", &configurer, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(message(&answer).contains("vm-9"), "{answer}");
}
