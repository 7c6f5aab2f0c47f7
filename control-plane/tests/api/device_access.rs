//! Access to devices is granted, never assumed: a device registered without a `users` list is
//! no end user's (they may not bind it, find it among what they may bind, or read what it
//! measured) until a configurer grants it, by name or to every user with `*`; with
//! `trellis up --open-devices` such a device is registered for `*`, as before.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fixtures::{classroom, id_of, thermostat_classroom};
use crate::helpers::{Db, TestApp, message, on_both_databases};

on_both_databases!(
    an_unlisted_device_is_no_end_users_until_granted,
    open_devices_registers_an_unlisted_device_for_every_user,
);

/// Registers a temperature sensor in the vault with `users` (left out when `None`).
async fn vault_sensor(app: &TestApp, configurer: &str, name: &str, users: Option<Value>) -> Value {
    let mut body = json!({ "name": name, "type": "temperature",
        "location": { "site": "vault", "building": "main", "room": "r1" } });
    if let Some(users) = users {
        body["users"] = users;
    }
    let (status, sensor) = app.post("/sensors", configurer, body).await;
    assert_eq!(status, StatusCode::CREATED, "{sensor}");
    sensor
}

/// The names of the temperature sensors `token` may bind.
async fn bindable(app: &TestApp, token: &str) -> Vec<String> {
    let (status, list) = app
        .get("/bindable/sensors?type=temperature&limit=100", token)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

async fn an_unlisted_device_is_no_end_users_until_granted(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (configurer, eve) = thermostat_classroom(&app).await;
    let unlisted = vault_sensor(&app, &configurer, "vault-t", None).await;
    assert_eq!(unlisted["users"], json!([]), "{unlisted}");
    vault_sensor(&app, &configurer, "vault-everyone", Some(json!(["*"]))).await;
    vault_sensor(&app, &configurer, "vault-eve", Some(json!(["eve"]))).await;
    let id = unlisted["id"].as_str().unwrap();

    // Eve finds what is granted to her or to everyone, not the unlisted one; the admin finds all.
    let seen = bindable(&app, &eve).await;
    assert!(!seen.contains(&"vault-t".to_string()), "{seen:?}");
    for granted in ["vault-everyone", "vault-eve", "north-temperature"] {
        assert!(seen.contains(&granted.to_string()), "{granted} in {seen:?}");
    }
    assert!(
        bindable(&app, &app.admin)
            .await
            .contains(&"vault-t".to_string())
    );

    // She may not read what it measured, nor bind it.
    let (status, answer) = app.get(&format!("/sensors/{id}/readings"), &eve).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, answer) = app
        .get(&format!("/sensors/{id}/readings"), &configurer)
        .await;
    assert_eq!(status, StatusCode::OK, "the configurer reads it: {answer}");
    let fan = id_of(&app, &eve, "controllers", "north-fan").await;
    let ac = id_of(&app, &eve, "controllers", "north-air-conditioner").await;
    let deploy = |sensor: String| {
        json!({ "app": "classroom-thermostat",
            "bindings": { "temperature": [sensor], "fan": [fan], "ac": [ac] } })
    };
    let (status, answer) = app.post("/deployments", &eve, deploy(id.to_string())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(message(&answer).contains("vault-t"), "{answer}");
    // What is granted to everyone she may bind.
    let everyone = id_of(&app, &eve, "sensors", "vault-everyone").await;
    let (status, answer) = app.post("/deployments", &eve, deploy(everyone)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    // The configurer grants the unlisted one: a name that is no user's is refused by its place,
    // and nothing changes; then eve, named, may bind it.
    let grant = format!("/sensors/{id}/users");
    let (status, answer) = app
        .call(
            reqwest::Method::PUT,
            &grant,
            Some(&configurer),
            Some(json!({ "users": ["eve", "evee"] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        message(&answer).contains("users[1]") && message(&answer).contains("evee"),
        "{answer}"
    );
    assert!(!bindable(&app, &eve).await.contains(&"vault-t".to_string()));
    let (status, answer) = app
        .call(
            reqwest::Method::PUT,
            &grant,
            Some(&configurer),
            Some(json!({ "users": ["eve"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["users"], json!(["eve"]), "{answer}");
    assert!(bindable(&app, &eve).await.contains(&"vault-t".to_string()));
    let (status, answer) = app.post("/deployments", &eve, deploy(id.to_string())).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

async fn open_devices_registers_an_unlisted_device_for_every_user(db: Db) {
    let Some(app) = TestApp::spawn_with(db, |settings| settings.open_devices = true).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let eve = app.user("eve", "end-user").await;
    let unlisted = vault_sensor(&app, &configurer, "vault-t", None).await;
    assert_eq!(unlisted["users"], json!(["*"]), "{unlisted}");
    // A list given is kept as given.
    let listed = vault_sensor(&app, &configurer, "vault-frank", Some(json!(["frank"]))).await;
    assert_eq!(listed["users"], json!(["frank"]), "{listed}");
    let seen = bindable(&app, &eve).await;
    assert!(seen.contains(&"vault-t".to_string()), "{seen:?}");
    assert!(!seen.contains(&"vault-frank".to_string()), "{seen:?}");
}
