//! Sensor and controller types, their instances at locations, and nodes.

use reqwest::StatusCode;
use serde_json::json;

use crate::fixtures::{classroom, id_of};
use crate::helpers::{Db, TestApp, message, on_both_databases};

on_both_databases!(
    instances_are_listed_by_type_location_and_label,
    bad_registrations_are_refused_and_change_nothing,
    nodes_are_registered_by_configurers,
);

async fn instances_are_listed_by_type_location_and_label(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let user = app.user("eve", "end-user").await;

    let names = |list: serde_json::Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, all) = app.get("/sensors", &user).await;
    assert_eq!(names(all).len(), 6);
    let (_, north) = app.get("/sensors?site=north", &user).await;
    assert_eq!(
        names(north),
        ["north-humidity", "north-occupancy", "north-temperature"]
    );
    let (_, warm) = app
        .get("/sensors?type=temperature&room=room-2", &user)
        .await;
    assert_eq!(names(warm), ["south-temperature"]);
    let (_, fans) = app.get("/controllers?type=fan&label=floor=1", &user).await;
    assert_eq!(names(fans), ["north-fan", "south-fan"]);
    let (_, none) = app.get("/controllers?label=floor=2", &user).await;
    assert!(names(none).is_empty());

    let id = id_of(&app, &user, "sensors", "south-humidity").await;
    let (status, sensor) = app.get(&format!("/sensors/{id}"), &user).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sensor["location"]["site"], "south");
    assert_eq!(sensor["type"], "humidity");
    let (status, _) = app.get(&format!("/controllers/{id}"), &user).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a sensor id is not a controller"
    );

    let (status, kind) = app.get("/sensor-types/humidity", &configurer).await;
    assert_eq!((status, kind["unit"].as_str()), (StatusCode::OK, Some("%")));
    let (status, kind) = app.get("/controller-types/fan", &user).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind["commands"][0]["params"][0]["name"], "level");
    let (status, answer) = app.get("/sensor-types/pressure", &user).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(message(&answer).contains("pressure"));
}

async fn bad_registrations_are_refused_and_change_nothing(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let before = app.snapshot().await;
    let location = json!({ "site": "north", "building": "main", "room": "room-1" });
    let cases = [
        (
            "/sensor-types",
            json!({ "name": "camera", "value": "bytes" }),
            "media_type",
        ),
        (
            "/sensor-types",
            json!({ "name": "light", "value": "number", "media_type": "image/png" }),
            "media_type",
        ),
        (
            "/sensor-types",
            json!({ "name": "light", "value": "number", "sampling_hz": -1 }),
            "sampling_hz",
        ),
        (
            "/sensor-types",
            json!({ "name": "temperature", "value": "number" }),
            "already exists",
        ),
        (
            "/sensor-types",
            json!({ "name": "Light!", "value": "number" }),
            "not a valid name",
        ),
        (
            "/controller-types",
            json!({ "name": "alarm", "commands": [] }),
            "at least one command",
        ),
        (
            "/controller-types",
            json!({ "name": "alarm", "commands": [{ "name": "on" }, { "name": "on" }] }),
            "listed twice",
        ),
        (
            "/sensors",
            json!({ "name": "x", "type": "pressure", "location": location }),
            "`pressure` is not a registered sensor type",
        ),
        (
            "/sensors",
            json!({ "name": "x", "type": "fan", "location": location }),
            "`fan` is not a registered sensor type",
        ),
        (
            "/sensors",
            json!({ "name": "north-temperature", "type": "temperature", "location": location }),
            "already exists",
        ),
        (
            "/sensors",
            json!({ "name": "x", "type": "temperature", "location": { "site": "", "building": "b", "room": "r" } }),
            "location.site",
        ),
        (
            "/sensors",
            json!({ "name": "x", "type": "temperature", "location": { "site": "s", "building": "b", "room": "r", "latitude": 123.0 } }),
            "latitude",
        ),
        (
            "/controllers",
            json!({ "name": "x", "type": "temperature", "location": location }),
            "not a registered controller type",
        ),
    ];
    for (path, body, expected) in cases {
        let (status, answer) = app.post(path, &configurer, body.clone()).await;
        assert!(status.is_client_error(), "{path} {body}: {status} {answer}");
        assert!(
            message(&answer).contains(expected),
            "{path} {body}: {answer}"
        );
    }
    // Malformed JSON and unknown fields are refused before any handler runs.
    let (status, _) = app
        .post(
            "/sensor-types",
            &configurer,
            json!({ "name": "x", "value": "number", "colour": "red" }),
        )
        .await;
    assert!(status.is_client_error());
    let (status, _) = app.get("/sensors?label=floor", &configurer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused registration changed the registry"
    );
}

async fn nodes_are_registered_by_configurers(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = app.user("carol", "platform-configurer").await;
    let (status, node) = app
        .post(
            "/nodes",
            &configurer,
            json!({ "name": "vm-1", "labels": { "site": "north" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{node}");
    assert_eq!(node["state"], "registered");
    let (status, answer) = app
        .post("/nodes", &configurer, json!({ "name": "vm-1" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        message(&answer).contains("node `vm-1` already exists"),
        "{answer}"
    );
    let (_, nodes) = app.get("/nodes", &configurer).await;
    assert_eq!(nodes.as_array().unwrap().len(), 1);
    assert_eq!(nodes[0]["labels"]["site"], "north");
}
