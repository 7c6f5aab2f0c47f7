//! `trellis up --demo`: a school with a classroom at two sites, on the control plane and embedded
//! node of this process. It registers the types and instances, pushes the comfort and digits
//! models and the smart-classroom app, deploys it at both sites, and starts simulated sensors
//! and controllers that talk to the device gateway like real ones.

use std::path::{Path, PathBuf};

use anyhow::Context;
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::client::{client, read_answer};
use crate::devices::{DeviceArgs, SensorSim, run_controller, run_sensor};

/// Where the demo's pieces are.
pub struct DemoFiles {
    /// The repository's `examples/`.
    pub examples: PathBuf,
    /// Where the built components are (`comfort_contract.wasm`, `digits_contract.wasm`,
    /// `smart_classroom.wasm`).
    pub components: PathBuf,
}

const SITES: [&str; 2] = ["north", "south"];

/// Sets the demo up as `admin` and starts its simulators (threads); returns what to tell the user.
pub fn start(url: &str, admin_password: &str, files: &DemoFiles) -> anyhow::Result<String> {
    let http = client()?;
    let login = read_answer(
        http.post(format!("{url}/api/v1/auth/login"))
            .json(&json!({ "name": "admin", "password": admin_password }))
            .send()?,
    )?;
    let token = login["token"].as_str().unwrap_or_default().to_string();
    let post = |path: &str, body: Value| -> anyhow::Result<Value> {
        read_answer(
            http.post(format!("{url}/api/v1{path}"))
                .bearer_auth(&token)
                .json(&body)
                .send()?,
        )
        .with_context(|| format!("demo: POST {path}"))
    };
    let upload = |path: &str, parts: Vec<(&str, PathBuf)>| -> anyhow::Result<Value> {
        let mut form = Form::new();
        for (name, file) in parts {
            let bytes = std::fs::read(&file).with_context(|| {
                format!(
                    "demo: reading {} (build the examples first: scripts/demo does)",
                    file.display()
                )
            })?;
            form = form.part(
                name.to_string(),
                Part::bytes(bytes).file_name(name.to_string()),
            );
        }
        read_answer(
            http.post(format!("{url}/api/v1{path}"))
                .bearer_auth(&token)
                .multipart(form)
                .send()?,
        )
        .with_context(|| format!("demo: uploading to {path}"))
    };

    for (name, unit) in [
        ("temperature", "°C"),
        ("humidity", "%"),
        ("occupancy", "people"),
    ] {
        post(
            "/sensor-types",
            json!({ "name": name, "unit": unit, "value": "number", "sampling_hz": 1.0 }),
        )?;
    }
    post(
        "/controller-types",
        json!({ "name": "fan", "commands": [
        { "name": "set-speed", "params": [{ "name": "speed", "value": "number", "required": true }] }] }),
    )?;
    post(
        "/controller-types",
        json!({ "name": "air-conditioner", "commands": [
        { "name": "set-mode", "params": [{ "name": "mode", "value": "text", "required": true },
                                         { "name": "setpoint", "value": "number" }] }] }),
    )?;
    let models = files.examples.join("models");
    for (model, contract) in [
        ("comfort", "comfort_contract.wasm"),
        ("digits", "digits_contract.wasm"),
    ] {
        upload(
            "/models",
            vec![
                ("model.toml", models.join(model).join("model.toml")),
                ("model.onnx", models.join(model).join("model.onnx")),
                ("contract.wasm", files.components.join(contract)),
            ],
        )?;
    }
    let app = files.examples.join("apps/smart-classroom");
    upload(
        "/apps",
        vec![
            ("trellis.toml", app.join("trellis.toml")),
            ("app.wasm", files.components.join("smart_classroom.wasm")),
        ],
    )?;

    for site in SITES {
        let location = json!({ "site": site, "building": "main", "room": "classroom-1" });
        let mut bindings = serde_json::Map::new();
        for (role, kind, collection) in [
            ("temperature", "temperature", "sensors"),
            ("humidity", "humidity", "sensors"),
            ("occupancy", "occupancy", "sensors"),
            ("fan", "fan", "controllers"),
            ("ac", "air-conditioner", "controllers"),
        ] {
            let device = post(
                &format!("/{collection}"),
                json!({ "name": format!("{site}-{role}"), "type": kind, "location": location }),
            )?;
            bindings.insert(role.into(), json!([device["id"]]));
            let gateway = DeviceArgs::new(url, device["token"].as_str().unwrap_or_default());
            let sensor = (collection == "sensors").then(|| SensorSim {
                pattern: "wave".into(),
                value: 0.0,
                step: 0.0,
                type_name: kind.into(),
                rate_hz: 1.0,
                count: None,
                first_sequence: 1,
            });
            std::thread::spawn(move || {
                let ran = match sensor {
                    Some(sim) => run_sensor(&gateway, &sim, false),
                    None => run_controller(&gateway, false),
                };
                if let Err(e) = ran {
                    eprintln!("demo simulator stopped: {e:#}");
                }
            });
        }
        post(
            "/deployments",
            json!({ "app": "smart-classroom", "bindings": bindings }),
        )?;
    }
    Ok(format!(
        "demo: smart-classroom deployed in north and south, simulated sensors sending a reading a second.\n\
         Watch it:  trellis login --url {url} --user admin  then  trellis status  and  trellis controller list --json\n\
         Ask a model:  curl -H 'authorization: Bearer TOKEN' -H 'content-type: application/json' \
         -d '[31, 60, 30]' {url}/api/v1/models/comfort/latest/predict"
    ))
}

/// The default place of the built components: the shared target directory's release builds.
pub fn default_components() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new("target").to_path_buf());
    target.join("wasm32-wasip2/release")
}
