//! Apps' state checkpoints: the node a deployment is assigned to stores and fetches them; other
//! nodes may not; and a node whose state was overtaken by another node's checkpoint is refused.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use trellis_guest_artifacts as guests;
use trellis_protocol::node::{StateCheckpoint, StateEntry};

use crate::fixtures::{classroom, id_of};
use crate::helpers::{Db, Reporting, TestApp, message, on_both_databases};
use crate::uploads::app_parts;

on_both_databases!(checkpoints_belong_to_the_node_that_runs_the_deployment);

/// Short, so a node that stops reporting loses its deployment within a second (five missed).
const HEARTBEAT: Duration = Duration::from_millis(100);

/// Keeps `token`'s node reporting (and no other) until deployment `id` is placed on `name`;
/// it goes on reporting, so it keeps the deployment, until the answer is dropped.
async fn move_to(app: &TestApp, token: &str, name: &str, id: &str) -> Reporting {
    let reporting = app.keep_reporting(token, HEARTBEAT / 2).await;
    for _ in 0..200 {
        let (_, now) = app.get(&format!("/deployments/{id}"), &app.admin).await;
        if now["node"] == name {
            return reporting;
        }
        tokio::time::sleep(HEARTBEAT).await;
    }
    panic!("deployment {id} never reached {name}");
}

async fn put(app: &TestApp, id: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let path = format!("/node/deployments/{id}/state");
    app.call(Method::PUT, &path, Some(token), Some(body)).await
}

/// A checkpoint of a count, in the node protocol's JSON.
fn checkpoint(generation: u64, count: &str, offset: u64) -> Value {
    serde_json::to_value(StateCheckpoint {
        generation,
        entries: vec![StateEntry {
            key: "count".into(),
            value: count.as_bytes().to_vec(),
        }],
        offsets: [("trellis.sensor.s1".to_string(), offset)].into(),
    })
    .unwrap()
}

async fn checkpoints_belong_to_the_node_that_runs_the_deployment(db: Db) {
    let Some(app) = TestApp::spawn_with(db, |settings| {
        settings.heartbeat_interval = HEARTBEAT;
        settings.missed_heartbeats = 5;
        settings.reconcile_interval = HEARTBEAT;
    })
    .await
    else {
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
    let mut tokens = Vec::new();
    for name in ["vm-1", "vm-2"] {
        let (_, node) = app
            .post("/nodes", &configurer, json!({ "name": name }))
            .await;
        tokens.push(node["token"].as_str().unwrap().to_string());
    }
    let (one, two) = (&tokens[0], &tokens[1]);
    let eve = app.user("eve", "end-user").await;
    let bindings = json!({
        "temperature": [id_of(&app, &eve, "sensors", "north-temperature").await],
        "fan": [id_of(&app, &eve, "controllers", "north-fan").await],
        "ac": [id_of(&app, &eve, "controllers", "north-air-conditioner").await],
    });
    let (status, deployment) = app
        .post(
            "/deployments",
            &eve,
            json!({ "app": "classroom-thermostat", "bindings": bindings }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{deployment}");
    let id = deployment["id"].as_str().unwrap().to_string();
    let path = format!("/node/deployments/{id}/state");
    let reporting = move_to(&app, one, "vm-1", &id).await;

    // Nothing stored yet: generation 0, empty.
    let (status, none) = app.get(&path, one).await;
    assert_eq!(status, StatusCode::OK, "{none}");
    assert_eq!(
        none,
        json!({ "generation": 0, "entries": [], "offsets": {} })
    );
    // Another node may neither read nor write it.
    let (status, refused) = app.get(&path, two).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(message(&refused).contains("vm-2"), "{refused}");
    let (status, refused) = put(&app, &id, two, checkpoint(0, "9", 9)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

    let (status, accepted) = put(&app, &id, one, checkpoint(0, "3", 4)).await;
    assert_eq!(
        (status, &accepted),
        (StatusCode::OK, &json!({ "generation": 1 }))
    );
    let (_, stored) = app.get(&path, one).await;
    assert_eq!(stored, checkpoint(1, "3", 4));
    let (_, accepted) = put(&app, &id, one, checkpoint(1, "5", 6)).await;
    assert_eq!(accepted["generation"], 2);
    let (status, bad) = put(&app, &id, one, json!({ "generation": "two" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert!(message(&bad).contains("generation"), "{bad}");

    // vm-1 stops reporting: the deployment moves to vm-2, which starts from what is stored and
    // continues it.
    drop(reporting);
    let reporting = move_to(&app, two, "vm-2", &id).await;
    let (_, taken) = app.get(&path, two).await;
    assert_eq!(taken, checkpoint(2, "5", 6));
    let (_, accepted) = put(&app, &id, two, checkpoint(2, "8", 9)).await;
    assert_eq!(accepted["generation"], 3);
    // vm-1, no longer running it, may not overwrite that.
    let (status, refused) = put(&app, &id, one, checkpoint(2, "6", 7)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

    // Back on vm-1, a checkpoint continuing vm-1's old state (generation 2) is refused: vm-2's
    // is newer. One continuing the stored checkpoint is accepted.
    drop(reporting);
    let _reporting = move_to(&app, one, "vm-1", &id).await;
    let (status, refused) = put(&app, &id, one, checkpoint(2, "6", 7)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(message(&refused).contains("checkpoint 3"), "{refused}");
    let (_, accepted) = put(&app, &id, one, checkpoint(3, "9", 10)).await;
    assert_eq!(accepted["generation"], 4);
}
