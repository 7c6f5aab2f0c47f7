//! Sensor and controller types, their instances at locations, and nodes.

use reqwest::StatusCode;
use serde_json::json;

use crate::fixtures::{classroom, id_of};
use crate::helpers::{Db, TestApp, message, on_both_databases};

on_both_databases!(
    devices_talk_through_the_gateway_with_their_tokens,
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

async fn devices_talk_through_the_gateway_with_their_tokens(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let location = json!({ "site": "east", "building": "b", "room": "r" });
    let (_, sensor) = app
        .post(
            "/sensors",
            &configurer,
            json!({ "name": "east-t", "type": "temperature", "location": location }),
        )
        .await;
    let (_, fan) = app
        .post(
            "/controllers",
            &configurer,
            json!({ "name": "east-fan", "type": "fan", "location": location }),
        )
        .await;
    let sensor_token = sensor["token"]
        .as_str()
        .expect("a sensor's token")
        .to_string();
    let fan_token = fan["token"]
        .as_str()
        .expect("a controller's token")
        .to_string();

    for expected in 1..=3 {
        let (status, accepted) = app
            .post(
                "/device/readings",
                &sensor_token,
                json!({ "value": { "kind": "number", "value": 20.5 } }),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
        assert_eq!(accepted["sequence"], expected);
    }
    let (status, answer) = app
        .post("/device/readings", &sensor_token, json!({ "value": { "kind": "bytes", "value": { "media_type": "image/png", "data": "not base64!" } } }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&answer).contains("base64"), "{answer}");
    let (status, answer) = app
        .post(
            "/device/readings",
            &fan_token,
            json!({ "value": { "kind": "number", "value": 1 } }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let id = sensor["id"].as_str().unwrap();
    let (_, seen) = app.get(&format!("/sensors/{id}"), &configurer).await;
    assert_eq!(seen["readings"], 3, "{seen}");

    let (status, commands) = app.get("/device/commands?wait_ms=100", &fan_token).await;
    assert_eq!((status, commands), (StatusCode::OK, json!([])));
    let (status, _) = app
        .post(
            "/device/state",
            &fan_token,
            json!({ "on": true, "speed": 2 }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let fan_id = fan["id"].as_str().unwrap();
    let (_, shown) = app
        .get(&format!("/controllers/{fan_id}"), &configurer)
        .await;
    assert_eq!(shown["state"], json!({ "on": true, "speed": 2 }));
    let (status, _) = app.get("/sensors", &sensor_token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a device token is not a login"
    );
}
