//! Mutated requests: broken versions of valid JSON bodies and uploads, sent to the real server.
//! Every one is answered (never a 5xx, never a dropped connection), every refusal is a 4xx
//! with a message in the API's error shape and a status the OpenAPI document lists for that
//! route, and a refused request stores nothing. Each case's seed is in the failure's message.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use trellis_guest_artifacts as guests;
use trellis_mutations::{Mutator, cases};

use crate::fixtures::{classroom, device};
use crate::helpers::{Db, TestApp, message, on_both_databases};
use crate::uploads::{app_parts, model_parts};

on_both_databases!(
    mutated_json_bodies_are_refused_with_a_message_and_store_nothing,
    mutated_uploads_are_refused_with_a_message_and_store_nothing,
);

/// The statuses the OpenAPI document lists for `POST /api/v1{path}`.
async fn documented(app: &TestApp, path: &str) -> Vec<String> {
    let (_, document) = app.call(Method::GET, "/openapi.json", None, None).await;
    let responses = &document["paths"][format!("/api/v1{path}")]["post"]["responses"];
    let statuses: Vec<String> = responses
        .as_object()
        .map_or(Vec::new(), |r| r.keys().cloned().collect());
    assert!(
        !statuses.is_empty(),
        "POST {path} is not in the OpenAPI document"
    );
    statuses
}

/// Checks one answer to a mutant of a `POST` to `path`; returns whether it was refused.
async fn judged(
    app: &TestApp,
    seed: u64,
    path: &str,
    what: &str,
    status: StatusCode,
    body: &Value,
) -> bool {
    assert!(
        !status.is_server_error(),
        "seed {seed}: {what} answered {status}: {body}"
    );
    let listed = documented(app, path).await;
    assert!(
        listed.contains(&status.as_u16().to_string()),
        "seed {seed}: {what} answered {status}, which the OpenAPI document does not list for POST {path} ({listed:?}): {body}"
    );
    if status.is_success() {
        return false;
    }
    assert!(
        status.is_client_error() && !message(body).trim().is_empty() && body.get("error").is_some(),
        "seed {seed}: {what} refused without a message: {status} {body}"
    );
    true
}

async fn mutated_json_bodies_are_refused_with_a_message_and_store_nothing(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let sensor = device(
        &app,
        &configurer,
        "sensors",
        "fuzz-t",
        "temperature",
        "lab",
        "r1",
    )
    .await;
    let device_token = sensor["token"].as_str().unwrap().to_string();
    let admin = app.admin.clone();
    let originals: Vec<(&str, &str, Value)> = vec![
        (
            "/auth/login",
            &admin,
            json!({ "name": "admin", "password": "wrong-password" }),
        ),
        (
            "/users",
            &admin,
            json!({ "name": "fuzzed", "password": "a-long-password", "role": "end-user" }),
        ),
        (
            "/sensor-types",
            &configurer,
            json!({ "name": "pressure", "unit": "hPa", "value": "number", "sampling_hz": 1.0 }),
        ),
        (
            "/controller-types",
            &configurer,
            json!({ "name": "valve", "commands": [
            { "name": "open", "params": [{ "name": "percent", "value": "number" }] }] }),
        ),
        (
            "/sensors",
            &configurer,
            json!({ "name": "fuzz-2", "type": "temperature",
            "location": { "site": "lab", "building": "main", "room": "r2", "latitude": 52.0, "longitude": 4.3 },
            "labels": { "floor": "1" } }),
        ),
        (
            "/nodes",
            &configurer,
            json!({ "name": "fuzz-vm", "labels": { "site": "lab" } }),
        ),
        (
            "/deployments",
            &admin,
            json!({ "app": "classroom-thermostat", "bindings": { "temperature": [sensor["id"]] } }),
        ),
        (
            "/device/readings",
            &device_token,
            json!({ "value": { "kind": "number", "value": 21.5 }, "timestamp_ms": 1_700_000_000_000u64 }),
        ),
    ];
    let mut refused = 0;
    let total = cases(160);
    for seed in 0..total {
        let (path, token, original) = &originals[seed as usize % originals.len()];
        let body = Mutator::new(seed).json(original);
        let before = app.snapshot().await;
        let (status, answer) = app
            .call(Method::POST, path, Some(token), Some(body.clone()))
            .await;
        if judged(
            &app,
            seed,
            path,
            &format!("POST {path} {body:.200}"),
            status,
            &answer,
        )
        .await
        {
            refused += 1;
            assert_eq!(
                app.snapshot().await,
                before,
                "seed {seed}: a refused POST {path} stored something"
            );
        }
    }
    assert!(
        refused * 2 >= total,
        "only {refused} of {total} mutants refused"
    );
    // The server still serves the valid requests.
    assert_eq!(app.get("/auth/me", &admin).await.0, StatusCode::OK);
}

async fn mutated_uploads_are_refused_with_a_message_and_store_nothing(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    classroom(&app).await;
    let developer = app.user("pat", "app-developer").await;
    let scientist = app.user("dana", "data-scientist").await;
    let model = model_parts("digits", guests::DIGITS_CONTRACT);
    let thermostat = app_parts("classroom-thermostat", guests::CLASSROOM_THERMOSTAT);
    let mut refused = 0;
    let total = cases(32);
    for seed in 0..total {
        let mut mutator = Mutator::new(seed);
        let (path, token, mut parts) = if seed % 2 == 0 {
            ("/models", &scientist, model.clone())
        } else {
            ("/apps", &developer, thermostat.clone())
        };
        // One part mutated: the text as text, the binaries as bytes.
        let index = (seed as usize / 2) % parts.len();
        let part = &mut parts[index];
        part.1 = if part.0.ends_with(".toml") {
            mutator.text(&String::from_utf8_lossy(&part.1)).into_bytes()
        } else {
            mutator.bytes(&part.1)
        };
        let what = format!("POST {path} with a mutated {}", part.0);
        let before = app.snapshot().await;
        let (status, answer) = app.upload(path, token, parts).await;
        if judged(&app, seed, path, &what, status, &answer).await {
            refused += 1;
            assert_eq!(
                app.snapshot().await,
                before,
                "seed {seed}: a refused {what} stored something"
            );
        }
    }
    assert!(
        refused * 2 >= total,
        "only {refused} of {total} mutants refused"
    );
}
