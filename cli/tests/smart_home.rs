//! The smart-home app (JavaScript) end to end through `trellis up`: pushed and deployed with the
//! CLI, with a simulated light sensor and lamp talking to the device gateway as real ones would
//! (`trellis simulate`). The light swings between dark and bright; within the app's hours the
//! lamp goes on when the room is darker than the threshold and off once it is brighter than the
//! threshold plus the hysteresis, and the lamp hears each switch.

mod common;

use std::time::Duration;

use serde_json::json;

use common::*;

const THRESHOLD: f64 = 400.0;
const HYSTERESIS: f64 = 50.0;

/// The lux and the power in each of the app's `... lx at ...: lamp on|off` log lines.
fn switches(lines: &[String]) -> Vec<(f64, String)> {
    lines
        .iter()
        .filter_map(|line| {
            let (lux, rest) = line.split_once(" lx at ")?;
            let power = rest.rsplit_once(": lamp ")?.1;
            Some((lux.parse().ok()?, power.to_string()))
        })
        .collect()
}

#[test]
fn the_lamp_follows_the_light_within_the_apps_hours() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let (_plane, url, admin) = running_platform(&dir.path().join("plane"), 1);

    admin.post(
        "/sensor-types",
        json!({ "name": "light", "value": "number", "unit": "lx" }),
    );
    admin.post(
        "/controller-types",
        json!({ "name": "lamp", "commands": [{ "name": "switch", "params": [
            { "name": "power", "value": "text" }] }] }),
    );
    let room = json!({ "site": "home", "building": "house", "room": "living-room" });
    let register = |collection: &str, name: &str, kind: &str| {
        register_device(&admin, collection, name, kind, &room)
    };
    let (_, light) = register("sensors", "living-room-light", "light");
    let (lamp, lamp_token) = register("controllers", "living-room-lamp", "lamp");

    let homes = tempfile::tempdir().unwrap();
    let me = Person::logged_in(homes.path(), &url, "admin", ADMIN_PASSWORD);
    me.ok(&[
        "app",
        "push",
        workspace("examples/apps/smart-home").to_str().unwrap(),
        "--component",
        trellis_guest_artifacts::SMART_HOME,
    ]);
    // All day, so the test does not depend on the hour it runs at.
    me.ok(&[
        "deploy",
        "smart-home",
        "--at",
        "site=home",
        "--set",
        &format!("threshold={THRESHOLD}"),
        "--set",
        &format!("hysteresis={HYSTERESIS}"),
        "--set",
        "on-from=0",
        "--set",
        "on-until=24",
    ]);
    let deployment = admin.deployments()[0]["id"].as_str().unwrap().to_string();

    let _devices = [
        simulate(&url, &lamp_token, &["controller"]),
        // 0 to 800 lx and back every 6 s.
        simulate(
            &url,
            &light,
            &["sensor", "--type", "light", "--rate-hz", "4"],
        ),
    ];

    let app_lines = || -> Vec<String> {
        admin.get("/logs?app=smart-home&source=guest&limit=1000")["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| line["text"].as_str().unwrap().to_string())
            .collect()
    };
    let seen = wait_for(
        Duration::from_secs(240),
        "the lamp switched on and off twice",
        || {
            let seen = switches(&app_lines());
            (seen.len() >= 4).then_some(seen)
        },
    );
    for (lux, power) in &seen {
        match power.as_str() {
            "on" => assert!(*lux < THRESHOLD, "on at {lux} lx: {seen:?}"),
            "off" => assert!(*lux >= THRESHOLD + HYSTERESIS, "off at {lux} lx: {seen:?}"),
            other => panic!("the lamp was switched {other}: {seen:?}"),
        }
    }
    assert!(
        seen.windows(2).all(|pair| pair[0].1 != pair[1].1),
        "the lamp was switched the same way twice in a row: {seen:?}"
    );

    // The lamp heard the switches.
    let state = wait_for(Duration::from_secs(30), "the lamp's state", || {
        let state = admin.get(&format!("/controllers/{lamp}"))["state"].clone();
        (state["commands"].as_u64() >= Some(4)).then_some(state)
    });
    assert_eq!(state["last-command"], "switch", "{state}");
    assert!(
        ["on", "off"].contains(&state["power"].as_str().unwrap_or("")),
        "{state}"
    );
    let running = &admin.get(&format!("/deployments/{deployment}"));
    assert_eq!(running["state"], "running", "{running}");
}
