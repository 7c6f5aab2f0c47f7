//! Readings from simulated devices through the device gateway and the embedded bus of
//! `trellis up`, to apps on its node, and their commands back to simulated controllers.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use common::*;

/// `trellis simulate ARGS...` against the control plane at `url`.
fn simulate(url: &str, token: &str, args: &[&str]) -> Process {
    Process(
        Command::new(env!("CARGO_BIN_EXE_trellis"))
            .arg("simulate")
            .args(args)
            .args(["--control-plane", url])
            .env("TRELLIS_DEVICE_TOKEN", token)
            .stdout(Stdio::null())
            .spawn()
            .expect("starting a simulator"),
    )
}

/// Registers a device; returns (id, token).
fn register(configurer: &Api, collection: &str, name: &str, kind: &str) -> (String, String) {
    let location = json!({ "site": "south", "building": "main", "room": "room-2" });
    let device = configurer.post(
        &format!("/{collection}"),
        json!({ "name": name, "type": kind, "location": location }),
    );
    (
        device["id"].as_str().unwrap().to_string(),
        device["token"].as_str().unwrap().to_string(),
    )
}

fn controller_state(api: &Api, id: &str) -> Value {
    api.get(&format!("/controllers/{id}"))["state"].clone()
}

#[test]
fn readings_reach_the_app_and_its_commands_reach_the_controllers() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _plane = control_plane(dir.path(), port, 1);
    let (_admin, configurer, user) = platform(&url);
    let (sensor, sensor_token) = register(&configurer, "sensors", "south-t", "temperature");
    let (fan, fan_token) = register(&configurer, "controllers", "south-fan", "fan");
    let (ac, ac_token) = register(&configurer, "controllers", "south-ac", "air-conditioner");
    let deployment = user.post(
        "/deployments",
        json!({ "app": "classroom-thermostat", "bindings": { "temperature": [sensor], "fan": [fan], "ac": [ac] } }),
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(Duration::from_secs(120), "the thermostat running", || {
        user.deployments()
            .iter()
            .any(|d| d["id"] == deployment.as_str() && d["state"] == "running")
            .then_some(())
    });
    let _fan = simulate(&url, &fan_token, &["controller"]);
    let _ac = simulate(&url, &ac_token, &["controller"]);

    // Hot: the fan runs and the air conditioning cools.
    let mut hot = simulate(
        &url,
        &sensor_token,
        &[
            "sensor",
            "--pattern",
            "steady",
            "--value",
            "30",
            "--rate-hz",
            "20",
            "--count",
            "10",
        ],
    );
    wait_for(Duration::from_secs(60), "the AC cooling", || {
        let (fan, ac) = (
            controller_state(&configurer, &fan),
            controller_state(&configurer, &ac),
        );
        (ac["mode"] == "cool" && fan["speed"] == 2.0).then_some(())
    });
    hot.0.wait().unwrap();
    // Cool again: both switch off.
    simulate(
        &url,
        &sensor_token,
        &[
            "sensor",
            "--pattern",
            "steady",
            "--value",
            "18",
            "--rate-hz",
            "20",
            "--count",
            "5",
            "--first-sequence",
            "11",
        ],
    )
    .0
    .wait()
    .unwrap();
    wait_for(Duration::from_secs(60), "the AC and fan off", || {
        let (fan, ac) = (
            controller_state(&configurer, &fan),
            controller_state(&configurer, &ac),
        );
        (ac["mode"] == "off" && fan["speed"] == 0.0).then_some(())
    });
    assert_eq!(
        configurer.get(&format!("/sensors/{sensor}"))["readings"],
        15
    );
}

#[test]
fn one_sensor_feeds_every_deployment_bound_to_it() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _plane = control_plane(dir.path(), port, 1);
    let (_admin, configurer, user) = platform(&url);
    configurer.post(
        "/controller-types",
        json!({ "name": "display", "commands": [{ "name": "echo" }] }),
    );
    let developer = Api::login(&url, "pat", PASSWORD);
    developer.upload_app(
        &workspace("tests/guests/echo/trellis.toml"),
        trellis_guest_artifacts::ECHO,
    );
    let (sensor, sensor_token) = register(&configurer, "sensors", "shared-t", "temperature");
    let displays: Vec<(String, String)> = ["display-1", "display-2"]
        .iter()
        .map(|name| register(&configurer, "controllers", name, "display"))
        .collect();
    let mut deployments = Vec::new();
    for (display, _) in &displays {
        let body = json!({ "app": "echo", "bindings": { "in": [sensor], "out": [display] } });
        deployments.push(
            user.post("/deployments", body)["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    wait_for(
        Duration::from_secs(120),
        "both echo deployments running",
        || {
            user.deployments()
                .iter()
                .filter(|d| deployments.contains(&d["id"].as_str().unwrap().to_string()))
                .all(|d| d["state"] == "running")
                .then_some(())
        },
    );
    let _sims: Vec<Process> = displays
        .iter()
        .map(|(_, token)| simulate(&url, token, &["controller"]))
        .collect();

    const READINGS: u64 = 40;
    simulate(
        &url,
        &sensor_token,
        &[
            "sensor",
            "--pattern",
            "ramp",
            "--value",
            "1",
            "--step",
            "1",
            "--rate-hz",
            "50",
            "--count",
            &READINGS.to_string(),
        ],
    )
    .0
    .wait()
    .unwrap();
    for (display, _) in &displays {
        let state = wait_for(Duration::from_secs(60), "every reading echoed", || {
            let state = controller_state(&configurer, display);
            (state["commands"] == READINGS).then_some(state)
        });
        assert_eq!(state["sequence"], READINGS as f64, "{state}");
        assert_eq!(state["value"], READINGS as f64, "{state}");
    }
}
