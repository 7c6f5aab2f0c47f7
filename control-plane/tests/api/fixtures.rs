//! A registry like a school's: classroom sensor and controller types, and instances in two
//! buildings.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::uploads::app_parts;

pub const SITES: [(&str, &str); 2] = [("north", "room-1"), ("south", "room-2")];

/// Registers the classroom types, and at each site one temperature sensor, one humidity
/// sensor, one occupancy sensor, a fan and an air conditioner. Returns the configurer's token.
pub async fn classroom(app: &TestApp) -> String {
    let configurer = app.user("carol", "platform-configurer").await;
    for (name, unit) in [
        ("temperature", "°C"),
        ("humidity", "%"),
        ("occupancy", "people"),
    ] {
        let body = json!({ "name": name, "unit": unit, "value": "number", "sampling_hz": 1.0 });
        let (status, answer) = app.post("/sensor-types", &configurer, body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    for name in ["fan", "air-conditioner"] {
        let body = json!({ "name": name, "commands": [
            { "name": "on", "params": [{ "name": "level", "value": "number" }] },
            { "name": "off" },
        ]});
        let (status, answer) = app.post("/controller-types", &configurer, body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    for (site, room) in SITES {
        for kind in ["temperature", "humidity", "occupancy"] {
            device(
                app,
                &configurer,
                "sensors",
                &format!("{site}-{kind}"),
                kind,
                site,
                room,
            )
            .await;
        }
        for kind in ["fan", "air-conditioner"] {
            device(
                app,
                &configurer,
                "controllers",
                &format!("{site}-{kind}"),
                kind,
                site,
                room,
            )
            .await;
        }
    }
    configurer
}

/// Registers one instance, granted to every user; returns it as the API answered.
pub async fn device(
    app: &TestApp,
    token: &str,
    collection: &str,
    name: &str,
    kind: &str,
    site: &str,
    room: &str,
) -> Value {
    let body = json!({
        "name": name,
        "type": kind,
        "location": { "site": site, "building": "main", "room": room, "latitude": 52.0, "longitude": 4.3 },
        "labels": { "floor": "1" },
        "users": ["*"],
    });
    let (status, answer) = app.post(&format!("/{collection}"), token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer
}

/// The id of the instance called `name` in `collection`.
pub async fn id_of(app: &TestApp, token: &str, collection: &str, name: &str) -> String {
    let (_, list) = app.get(&format!("/{collection}"), token).await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The [`classroom`], the classroom thermostat uploaded by its developer (pat), and the end user
/// eve. Returns the configurer's token and eve's.
pub async fn thermostat_classroom(app: &TestApp) -> (String, String) {
    let configurer = classroom(app).await;
    let developer = app.user("pat", "app-developer").await;
    let (status, answer) = app
        .upload(
            "/apps",
            &developer,
            app_parts(
                "classroom-thermostat",
                trellis_guest_artifacts::CLASSROOM_THERMOSTAT,
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    (configurer, app.user("eve", "end-user").await)
}
