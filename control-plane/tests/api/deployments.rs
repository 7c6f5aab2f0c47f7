//! Deployments: bindings checked against the app's roles and the registry, schedules checked,
//! and each user seeing their own.

use reqwest::StatusCode;
use serde_json::json;
use trellis_guest_artifacts as guests;

use crate::fixtures::{classroom, device, id_of, thermostat_classroom};
use crate::helpers::{Db, TestApp, message, on_both_databases};
use crate::uploads::app_parts;

on_both_databases!(
    deployments_bind_roles_to_the_right_instances,
    instances_go_to_live_nodes_with_the_labels_asked,
);

/// The reconciler, seen through the API: a node that reports is live, and a deployment runs only
/// on a node with the labels it asks for.
async fn instances_go_to_live_nodes_with_the_labels_asked(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let developer = app.user("pat", "app-developer").await;
    app.upload(
        "/apps",
        &developer,
        app_parts("classroom-thermostat", guests::CLASSROOM_THERMOSTAT),
    )
    .await;
    let eve = app.user("eve", "end-user").await;
    let (_, node) = app
        .post(
            "/nodes",
            &configurer,
            json!({ "name": "north-vm", "labels": { "site": "north" } }),
        )
        .await;
    let token = node["token"].as_str().unwrap().to_string();
    let report = json!({ "metrics": { "cpu_percent": 5.0, "memory_used_mb": 100.0,
        "memory_total_mb": 4000.0, "load_1m": 0.1, "performance": 10.0 }, "instances": [] });
    let (status, _) = app.post("/node/heartbeat", &token, report.clone()).await;
    assert_eq!(status, StatusCode::OK);

    let bindings = json!({
        "temperature": [id_of(&app, &eve, "sensors", "north-temperature").await],
        "fan": [id_of(&app, &eve, "controllers", "north-fan").await],
        "ac": [id_of(&app, &eve, "controllers", "north-air-conditioner").await],
    });
    let mut ids = Vec::new();
    for site in ["north", "south"] {
        let body = json!({ "app": "classroom-thermostat", "bindings": bindings, "node_labels": { "site": site } });
        let (status, deployment) = app.post("/deployments", &eve, body).await;
        assert_eq!(status, StatusCode::CREATED, "{deployment}");
        ids.push(deployment["id"].as_str().unwrap().to_string());
    }
    let state = |id: String| {
        let app = &app;
        let eve = eve.clone();
        async move { app.get(&format!("/deployments/{id}"), &eve).await.1 }
    };
    let mut placed = serde_json::Value::Null;
    for _ in 0..50 {
        placed = state(ids[0].clone()).await;
        if placed["state"] == "placed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        (placed["state"].as_str(), placed["node"].as_str()),
        (Some("placed"), Some("north-vm")),
        "{placed}"
    );
    // The second may have been made after the pass that placed the first: wait for a pass
    // to have judged it too.
    let mut waiting = serde_json::Value::Null;
    for _ in 0..50 {
        waiting = state(ids[1].clone()).await;
        if waiting["detail"] != "" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(waiting["state"], "pending", "{waiting}");
    assert!(
        waiting["detail"].as_str().unwrap().contains("no live node"),
        "{waiting}"
    );

    // The node's assignments carry the placed instance; its report makes it running.
    let (_, assignments) = app.get("/node/assignments", &token).await;
    assert_eq!(assignments["instances"][0]["deployment"], ids[0].as_str());
    let mut running = report;
    running["instances"] = json!([{ "deployment": ids[0], "state": "running" }]);
    app.post("/node/heartbeat", &token, running).await;
    assert_eq!(state(ids[0].clone()).await["state"], "running");
}

async fn deployments_bind_roles_to_the_right_instances(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (configurer, eve) = thermostat_classroom(&app).await;
    let frank = app.user("frank", "end-user").await;
    let reserved = device(
        &app,
        &configurer,
        "sensors",
        "lab-temperature",
        "temperature",
        "north",
        "lab",
    )
    .await;
    // Only frank may use the lab's sensor.
    let reserved_id = reserved["id"].as_str().unwrap().to_string();
    sqlx::query("UPDATE devices SET users = $1 WHERE id = $2")
        .bind(r#"["frank"]"#)
        .bind(&reserved_id)
        .execute(&app.db)
        .await
        .unwrap();

    let id = |name: &'static str, collection: &'static str| {
        let app = &app;
        let eve = eve.clone();
        async move { id_of(app, &eve, collection, name).await }
    };
    let north_temperature = id("north-temperature", "sensors").await;
    let south_temperature = id("south-temperature", "sensors").await;
    let north_humidity = id("north-humidity", "sensors").await;
    let north_fan = id("north-fan", "controllers").await;
    let north_ac = id("north-air-conditioner", "controllers").await;
    let good = json!({
        "app": "classroom-thermostat",
        "bindings": { "temperature": [north_temperature], "fan": [north_fan], "ac": [north_ac] },
        "config": { "fan-above": "25" },
        "schedule": { "kind": "cron", "expression": "0 8 * * MON-FRI", "duration-minutes": 480 },
    });
    let with = |field: &str, value: serde_json::Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };

    let before = app.snapshot().await;
    let cases = [
        (
            with("app", json!("weather")),
            StatusCode::BAD_REQUEST,
            "no app `weather`",
        ),
        (
            with("version", json!("9.0.0")),
            StatusCode::BAD_REQUEST,
            "has no version 9.0.0",
        ),
        (
            with(
                "bindings",
                json!({ "temperature": [north_humidity], "fan": [north_fan], "ac": [north_ac] }),
            ),
            StatusCode::BAD_REQUEST,
            "role `temperature` needs a `temperature` sensor; `north-humidity`",
        ),
        (
            with(
                "bindings",
                json!({ "temperature": [north_temperature], "fan": [north_ac], "ac": [north_ac] }),
            ),
            StatusCode::BAD_REQUEST,
            "role `fan` needs a `fan` controller",
        ),
        (
            with(
                "bindings",
                json!({ "temperature": [north_fan], "fan": [north_fan], "ac": [north_ac] }),
            ),
            StatusCode::BAD_REQUEST,
            "there is no sensor",
        ),
        (
            with("bindings", json!({ "fan": [north_fan], "ac": [north_ac] })),
            StatusCode::BAD_REQUEST,
            "role `temperature` takes 1 to 8",
        ),
        (
            with(
                "bindings",
                json!({ "temperature": [north_temperature], "fan": [north_fan], "ac": [north_ac], "lamp": [north_fan] }),
            ),
            StatusCode::BAD_REQUEST,
            "`lamp` is not a role",
        ),
        (
            with(
                "bindings",
                json!({ "temperature": [reserved_id], "fan": [north_fan], "ac": [north_ac] }),
            ),
            StatusCode::FORBIDDEN,
            "reserved for other users",
        ),
        (
            with("config", json!({ "fan-above": "warm" })),
            StatusCode::BAD_REQUEST,
            "`warm` is not a number",
        ),
        (
            with("config", json!({ "colour": "red" })),
            StatusCode::BAD_REQUEST,
            "`colour` is not a parameter",
        ),
        (
            with(
                "schedule",
                json!({ "kind": "cron", "expression": "often", "duration-minutes": 5 }),
            ),
            StatusCode::BAD_REQUEST,
            "`often` is not a cron expression",
        ),
        (
            with(
                "schedule",
                json!({ "kind": "window", "start": "2026-12-01T10:00:00Z", "end": "2026-12-01T09:00:00Z" }),
            ),
            StatusCode::BAD_REQUEST,
            "ends",
        ),
    ];
    for (body, expected_status, expected) in cases {
        let (status, answer) = app.post("/deployments", &eve, body.clone()).await;
        assert_eq!(status, expected_status, "{body}: {answer}");
        assert!(
            message(&answer).contains(expected),
            "wanted `{expected}`: {answer}"
        );
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused deployment was stored"
    );

    let (status, first) = app.post("/deployments", &eve, good.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["config"]["fan-above"], 25.0);
    assert_eq!(first["config"]["ac-above"], 27.0, "defaults fill in");
    assert_eq!(first["state"], "pending");
    // The same sensor in a second deployment, with two temperature sensors, now.
    let second = json!({
        "app": "classroom-thermostat",
        "bindings": { "temperature": [north_temperature, south_temperature], "fan": [north_fan], "ac": [north_ac] },
    });
    let (status, second) = app.post("/deployments", &frank, second).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["schedule"]["kind"], "now");

    let (_, mine) = app.get("/deployments", &eve).await;
    assert_eq!(
        mine.as_array().unwrap().len(),
        1,
        "an end user sees only their own"
    );
    let (status, _) = app
        .get(
            &format!("/deployments/{}", second["id"].as_str().unwrap()),
            &eve,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, all) = app.get("/deployments", &configurer).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (status, stored) = app
        .get(
            &format!("/deployments/{}", first["id"].as_str().unwrap()),
            &eve,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored["bindings"], first["bindings"]);
    assert_eq!(stored["schedule"], first["schedule"]);
}
