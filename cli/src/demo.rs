//! `trellis up --demo`: a school with a classroom at two sites, on the control plane and embedded
//! node of this process. It registers the types and instances, pushes the comfort and digits
//! models and the smart-classroom and digit-display apps, deploys the classroom at both sites and
//! a camera reading handwritten digits onto a display in the north, and starts simulated sensors
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
    /// `smart_classroom.wasm`, `digit_display.wasm`).
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
    post(
        "/sensor-types",
        json!({ "name": "camera", "value": "bytes", "media_type": "image/png", "sampling_hz": 1.0 }),
    )?;
    post(
        "/controller-types",
        json!({ "name": "display", "commands": [
        { "name": "show", "params": [{ "name": "text", "value": "text", "required": true },
                                     { "name": "confidence", "value": "number" },
                                     { "name": "frame", "value": "number" }] }] }),
    )?;
    for (app, component) in [
        ("smart-classroom", "smart_classroom.wasm"),
        ("digit-display", "digit_display.wasm"),
    ] {
        let app = files.examples.join("apps").join(app);
        upload(
            "/apps",
            vec![
                ("trellis.toml", app.join("trellis.toml")),
                ("app.wasm", files.components.join(component)),
            ],
        )?;
    }
    let mut simulators = Vec::new();

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
            let sensor = (collection == "sensors").then(|| sim(kind, None));
            simulators.push((device, sensor));
        }
        post(
            "/deployments",
            json!({ "app": "smart-classroom", "bindings": bindings }),
        )?;
    }
    // A camera at the north entrance, whose frames are the digits model's fixture images.
    let location = json!({ "site": "north", "building": "main", "room": "entrance" });
    let camera = post(
        "/sensors",
        json!({ "name": "north-camera", "type": "camera", "location": location }),
    )?;
    let display = post(
        "/controllers",
        json!({ "name": "north-display", "type": "display", "location": location }),
    )?;
    post(
        "/deployments",
        json!({ "app": "digit-display",
                "bindings": { "camera": [camera["id"]], "display": [display["id"]] } }),
    )?;
    let frames = files.examples.join("models/digits/fixtures/images");
    simulators.push((camera, Some(sim("camera", Some(frames)))));
    simulators.push((display, None));

    for (device, sensor) in simulators {
        let gateway = DeviceArgs::new(url, device["token"].as_str().unwrap_or_default());
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
    Ok(format!(
        "demo: smart-classroom deployed in north and south, digit-display at the north entrance; \
         simulated sensors and a camera sending a reading a second.\n\
         Watch it:  trellis login --url {url} --user admin  then  trellis status  and  trellis controller list --json\n\
         Ask a model:  curl -H 'authorization: Bearer TOKEN' -H 'content-type: application/json' \
         -d '[31, 60, 30]' {url}/api/v1/models/comfort/latest/predict"
    ))
}

/// A simulated sensor of type `kind` sending a reading a second: the range such a sensor sees,
/// or the images in `frames`.
fn sim(kind: &str, frames: Option<PathBuf>) -> SensorSim {
    SensorSim {
        pattern: "wave".into(),
        value: 0.0,
        step: 0.0,
        type_name: kind.into(),
        rate_hz: 1.0,
        count: None,
        first_sequence: 1,
        frames,
        script: None,
    }
}

/// The default place of the built components: the shared target directory's release builds.
pub fn default_components() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new("target").to_path_buf());
    target.join("wasm32-wasip2/release")
}
