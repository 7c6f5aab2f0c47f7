//! `trellis up --demo`: a school with a classroom at two sites, on the control plane and embedded
//! node of this process. It registers the types and instances, pushes the comfort and digits
//! models and the smart-classroom and digit-display apps, deploys the classroom at both sites and
//! a camera reading handwritten digits onto a display in the north, and starts simulated sensors
//! and controllers that talk to the device gateway like real ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use reqwest::blocking::multipart::{Form, Part};
use serde::Serialize;
use serde_json::Value;
use trellis_protocol::api::{
    CommandParam, CommandSpec, ControllerType, Device, Location, Login, NewDeployment, NewDevice,
    SensorType, Session, ValueKind,
};

use crate::client::{client, read_answer, typed};
use crate::simulate_devices::{DeviceArgs, SensorSim, run_controller, run_sensor};

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
    let login = Login {
        name: "admin".into(),
        password: admin_password.into(),
    };
    let session: Session = typed(
        "/auth/login",
        read_answer(
            http.post(format!("{url}/api/v1/auth/login"))
                .json(&login)
                .send()?,
        )?,
    )?;
    let token = session.token;
    let post = |path: &str, body: Value| -> anyhow::Result<Value> {
        read_answer(
            http.post(format!("{url}/api/v1{path}"))
                .bearer_auth(&token)
                .json(&body)
                .send()?,
        )
        .with_context(|| format!("demo: POST {path}"))
    };
    let register = |collection: &str, device: NewDevice| -> anyhow::Result<Device> {
        typed(collection, post(&format!("/{collection}"), body(&device))?)
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
        ("light", "lx"),
    ] {
        post(
            "/sensor-types",
            body(&sensor_type(name, unit, ValueKind::Number, None)),
        )?;
    }
    post(
        "/controller-types",
        body(&controller_type(
            "fan",
            "set-speed",
            &[("speed", ValueKind::Number, true)],
        )),
    )?;
    post(
        "/controller-types",
        body(&controller_type(
            "air-conditioner",
            "set-mode",
            &[
                ("mode", ValueKind::Text, true),
                ("setpoint", ValueKind::Number, false),
            ],
        )),
    )?;
    // The smart-home example's lamp.
    post(
        "/controller-types",
        body(&controller_type(
            "lamp",
            "switch",
            &[("power", ValueKind::Text, true)],
        )),
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
        body(&sensor_type(
            "camera",
            "",
            ValueKind::Bytes,
            Some("image/png"),
        )),
    )?;
    post(
        "/controller-types",
        body(&controller_type(
            "display",
            "show",
            &[
                ("text", ValueKind::Text, true),
                ("confidence", ValueKind::Number, false),
                ("frame", ValueKind::Number, false),
            ],
        )),
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
        let mut bindings = BTreeMap::new();
        for (role, kind, collection) in [
            ("temperature", "temperature", "sensors"),
            ("humidity", "humidity", "sensors"),
            ("occupancy", "occupancy", "sensors"),
            ("fan", "fan", "controllers"),
            ("ac", "air-conditioner", "controllers"),
        ] {
            let device = register(
                collection,
                new_device(&format!("{site}-{role}"), kind, site, "classroom-1"),
            )?;
            bindings.insert(role.to_string(), vec![device.id.clone()]);
            let sensor = (collection == "sensors").then(|| sim(kind, None));
            simulators.push((device, sensor));
        }
        post(
            "/deployments",
            body(&deployment("smart-classroom", bindings)),
        )?;
    }
    // A camera at the north entrance, whose frames are the digits model's fixture images.
    let camera = register(
        "sensors",
        new_device("north-camera", "camera", "north", "entrance"),
    )?;
    let display = register(
        "controllers",
        new_device("north-display", "display", "north", "entrance"),
    )?;
    let bindings = BTreeMap::from([
        ("camera".to_string(), vec![camera.id.clone()]),
        ("display".to_string(), vec![display.id.clone()]),
    ]);
    post("/deployments", body(&deployment("digit-display", bindings)))?;
    let frames = files.examples.join("models/digits/fixtures/images");
    simulators.push((camera, Some(sim("camera", Some(frames)))));
    simulators.push((display, None));

    for (device, sensor) in simulators {
        let gateway = DeviceArgs::new(url, device.token.as_deref().unwrap_or_default());
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
         Open the portal:  {url}/  and sign in as admin (every role's pages; the password is above)\n\
         Or from a terminal:  trellis login --url {url} --user admin  then  trellis status  and  trellis controller list --json\n\
         Its apps' logs, as they come:  trellis logs -f  (or  trellis logs --app smart-classroom --level warn)\n\
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

/// An API request body as the JSON it is sent as.
fn body(request: &impl Serialize) -> Value {
    serde_json::to_value(request).expect("API request types serialise")
}

/// A sensor type sending one reading a second.
fn sensor_type(name: &str, unit: &str, value: ValueKind, media_type: Option<&str>) -> SensorType {
    SensorType {
        name: name.into(),
        description: String::new(),
        unit: unit.into(),
        value,
        media_type: media_type.map(str::to_string),
        sampling_hz: Some(1.0),
    }
}

/// A controller type with one command and its parameters (name, kind, required).
fn controller_type(
    name: &str,
    command: &str,
    params: &[(&str, ValueKind, bool)],
) -> ControllerType {
    ControllerType {
        name: name.into(),
        description: String::new(),
        commands: vec![CommandSpec {
            name: command.into(),
            description: String::new(),
            params: params
                .iter()
                .map(|&(name, value, required)| CommandParam {
                    name: name.into(),
                    value,
                    required,
                })
                .collect(),
        }],
    }
}

/// A device in the main building at `site`.
fn new_device(name: &str, kind: &str, site: &str, room: &str) -> NewDevice {
    NewDevice {
        name: name.into(),
        type_name: kind.into(),
        location: Location {
            site: site.into(),
            building: "main".into(),
            room: room.into(),
            latitude: None,
            longitude: None,
        },
        labels: BTreeMap::new(),
        // The demo's users may all use its classroom.
        users: vec![trellis_protocol::api::EVERY_USER.into()],
    }
}

/// The newest version of `app`, bound as given, running now.
fn deployment(app: &str, bindings: BTreeMap<String, Vec<String>>) -> NewDeployment {
    NewDeployment {
        app: app.into(),
        version: None,
        bindings,
        config: BTreeMap::new(),
        schedule: Default::default(),
        node_labels: BTreeMap::new(),
    }
}
