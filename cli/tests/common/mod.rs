//! Real processes on loopback: `trellis up` and `trellis node`, started and killed by the tests,
//! and a small client for the control plane's API.

#![allow(dead_code)]

pub mod browser;
mod person;
#[allow(unused_imports)]
pub use person::Person;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};

pub const ADMIN_PASSWORD: &str = "admin-password";
pub const PASSWORD: &str = "a-long-password";
/// Fast heartbeats so a dead node is noticed within three seconds, and not before: a node
/// starved for a second on a busy machine is not dead.
pub const HEARTBEAT_MS: u64 = 250;
pub const MISSED_HEARTBEATS: u32 = 12;

/// Holds the other multi-process tests of this binary back: several clusters compiling
/// components at once on two cores starve heartbeats, and nodes would be declared dead for it.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    CLUSTER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A child process killed (SIGKILL) when dropped.
pub struct Process(pub Child);

impl Process {
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// The `trellis model-worker` processes this one started: one for each ONNX Runtime model
    /// it holds.
    pub fn model_workers(&self) -> Vec<u32> {
        trellis_host_test_support::children_with_argument(self.0.id(), "model-worker")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The Kafka broker `TRELLIS_TEST_KAFKA` names (`scripts/with-kafka` starts one), or `None` to
/// skip a Kafka test; with `TRELLIS_REQUIRE_KAFKA` set, a missing broker fails instead.
pub fn kafka_broker() -> Option<String> {
    match std::env::var("TRELLIS_TEST_KAFKA") {
        Ok(brokers) => Some(brokers),
        Err(_) if std::env::var_os("TRELLIS_REQUIRE_KAFKA").is_some() => {
            panic!("TRELLIS_REQUIRE_KAFKA is set but TRELLIS_TEST_KAFKA is not")
        }
        Err(_) => {
            eprintln!("skipped: no TRELLIS_TEST_KAFKA (run under scripts/with-kafka)");
            None
        }
    }
}

/// `trellis up` on `port` with its data in `data`, and `nodes` local nodes.
pub fn control_plane(data: &Path, port: u16, nodes: u32) -> Process {
    control_plane_on_bus(data, port, nodes, "embedded")
}

/// `trellis up` as [`control_plane`] does, with readings and commands on `bus`.
pub fn control_plane_on_bus(data: &Path, port: u16, nodes: u32, bus: &str) -> Process {
    let listen = format!("127.0.0.1:{port}");
    let (plane, _url) = up(
        &[
            "--bus",
            bus,
            "--listen",
            &listen,
            "--nodes",
            &nodes.to_string(),
            "--heartbeat-ms",
            &HEARTBEAT_MS.to_string(),
            "--missed-heartbeats",
            &MISSED_HEARTBEATS.to_string(),
            "--tick-ms",
            "200",
        ],
        data,
    );
    plane
}

/// `trellis up ARGS` with its data in `data` and the first admin's password set; returns it
/// and the URL its first line gives.
pub fn up(args: &[&str], data: &Path) -> (Process, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .arg("up")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("TRELLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting trellis up");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("Trellis control plane on ")
        .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
        .unwrap_or_else(|| panic!("trellis up said: {first}"))
        .to_string();
    // Keep reading, so the server never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (Process(child), url)
}

/// `trellis node` with `token`, keeping its components in `data`, without a bus.
pub fn node(url: &str, token: &str, data: &Path) -> Process {
    node_with(url, token, data, &[])
}

/// `trellis node` as [`node`] does, its apps reading from and commanding through `bus`.
pub fn node_on_bus(url: &str, token: &str, data: &Path, bus: &str) -> Process {
    node_with(url, token, data, &["--bus", bus])
}

/// `trellis node` with `token`, keeping its data in `data`, with `extra` arguments.
pub fn node_with(url: &str, token: &str, data: &Path, extra: &[&str]) -> Process {
    let child = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args([
            "node",
            "--control-plane",
            url,
            "--token",
            token,
            "--tick-ms",
            "200",
        ])
        .args(extra)
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::null())
        .spawn()
        .expect("starting trellis node");
    Process(child)
}

/// `trellis up` with `nodes` nodes on a free port, once it answers: the process, its URL and
/// the admin's API.
pub fn running_platform(data: &Path, nodes: u32) -> (Process, String, Api) {
    let port = free_port();
    let plane = control_plane(data, port, nodes);
    let url = format!("http://127.0.0.1:{port}");
    let admin = wait_for(Duration::from_secs(30), "the control plane", || {
        std::panic::catch_unwind(|| Api::login(&url, "admin", ADMIN_PASSWORD)).ok()
    });
    (plane, url, admin)
}

/// Polls `check` until it gives a value or `limit` passes.
pub fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            started.elapsed() < limit,
            "gave up after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A logged-in API client.
pub struct Api {
    client: reqwest::blocking::Client,
    pub url: String,
    token: String,
}

/// CA certificates (PEM files) the test clients trust beside the public roots: those of the
/// control planes a test started with `--tls self-signed`.
static TRUSTED_CAS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Makes [`Api`] clients trust the CA certificate at `ca` from now on.
pub fn trust_ca(ca: &Path) {
    TRUSTED_CAS.lock().unwrap().push(ca.to_path_buf());
}

impl Api {
    pub fn login(url: &str, name: &str, password: &str) -> Api {
        let mut builder = reqwest::blocking::Client::builder().timeout(Duration::from_secs(120));
        for ca in TRUSTED_CAS.lock().unwrap().iter() {
            let pem = std::fs::read(ca).unwrap();
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
        }
        let client = builder.build().unwrap();
        let answer: Value = client
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({ "name": name, "password": password }))
            .send()
            .expect("logging in")
            .json()
            .unwrap();
        Api {
            client,
            url: url.to_string(),
            token: answer["token"].as_str().expect("a token").to_string(),
        }
    }

    fn answer(response: reqwest::blocking::Response) -> Value {
        let status = response.status();
        let body: Value = response.json().unwrap_or(Value::Null);
        assert!(status.is_success(), "{status}: {body}");
        body
    }

    pub fn get(&self, path: &str) -> Value {
        Self::answer(
            self.client
                .get(format!("{}/api/v1{path}", self.url))
                .bearer_auth(&self.token)
                .send()
                .unwrap(),
        )
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        Self::answer(self.send_post(path, body))
    }

    /// A POST whose answer may be a refusal: its status and body.
    pub fn try_post(&self, path: &str, body: Value) -> (reqwest::StatusCode, Value) {
        let response = self.send_post(path, body);
        (response.status(), response.json().unwrap_or(Value::Null))
    }

    fn send_post(&self, path: &str, body: Value) -> reqwest::blocking::Response {
        self.client
            .post(format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .unwrap()
    }

    pub fn upload_app(&self, manifest: &Path, component: &str) -> Value {
        let form = Form::new()
            .part(
                "trellis.toml",
                Part::bytes(std::fs::read(manifest).unwrap()),
            )
            .part("app.wasm", Part::bytes(std::fs::read(component).unwrap()));
        Self::answer(
            self.client
                .post(format!("{}/api/v1/apps", self.url))
                .bearer_auth(&self.token)
                .multipart(form)
                .send()
                .unwrap(),
        )
    }

    /// Deployments by id.
    pub fn deployments(&self) -> Vec<Value> {
        self.get("/deployments").as_array().unwrap().clone()
    }
}

pub fn workspace(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// The people of a small platform: returns (admin, configurer, end user), with the classroom
/// types, one classroom's instances and the thermostat and crashy apps registered.
pub fn platform(url: &str) -> (Api, Api, Api) {
    let admin = wait_for(Duration::from_secs(30), "the control plane", || {
        std::panic::catch_unwind(|| Api::login(url, "admin", ADMIN_PASSWORD)).ok()
    });
    for (name, role) in [
        ("carol", "platform-configurer"),
        ("pat", "app-developer"),
        ("eve", "end-user"),
    ] {
        admin.post(
            "/users",
            json!({ "name": name, "password": PASSWORD, "role": role }),
        );
    }
    let configurer = Api::login(url, "carol", PASSWORD);
    configurer.post(
        "/sensor-types",
        json!({ "name": "temperature", "value": "number" }),
    );
    for kind in ["fan", "air-conditioner"] {
        configurer.post(
            "/controller-types",
            json!({ "name": kind, "commands": [{ "name": "on" }] }),
        );
    }
    let location = json!({ "site": "north", "building": "main", "room": "room-1" });
    // Granted to every user, so eve may bind them.
    configurer.post(
        "/sensors",
        json!({ "name": "t1", "type": "temperature", "location": location, "users": ["*"] }),
    );
    configurer.post(
        "/controllers",
        json!({ "name": "f1", "type": "fan", "location": location, "users": ["*"] }),
    );
    configurer.post(
        "/controllers",
        json!({ "name": "a1", "type": "air-conditioner", "location": location, "users": ["*"] }),
    );
    let developer = Api::login(url, "pat", PASSWORD);
    developer.upload_app(
        &workspace("examples/apps/classroom-thermostat/trellis.toml"),
        trellis_guest_artifacts::CLASSROOM_THERMOSTAT,
    );
    developer.upload_app(
        &workspace("tests/guests/crashy/trellis.toml"),
        trellis_guest_artifacts::CRASHY,
    );
    let user = Api::login(url, "eve", PASSWORD);
    (admin, configurer, user)
}

/// Deploys the thermostat in the north classroom with `schedule`; returns its id.
pub fn deploy_thermostat(user: &Api, schedule: Value) -> String {
    let id = |collection: &str, name: &str| -> String {
        user.get(&format!("/{collection}"))
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let body = json!({
        "app": "classroom-thermostat",
        "bindings": { "temperature": [id("sensors", "t1")], "fan": [id("controllers", "f1")],
            "ac": [id("controllers", "a1")] },
        "schedule": schedule,
    });
    user.post("/deployments", body)["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `trellis simulate ARGS` as the device whose token is `token`.
pub fn simulate(url: &str, token: &str, args: &[&str]) -> Process {
    Process(
        Command::new(env!("CARGO_BIN_EXE_trellis"))
            .arg("simulate")
            .args(args)
            .args(["--control-plane", url])
            .env("TRELLIS_DEVICE_TOKEN", token)
            .stdout(Stdio::null())
            .spawn()
            .expect("starting a simulated device"),
    )
}

/// Registers a sensor or controller (`collection` is `sensors` or `controllers`) of type `kind`
/// at `location`, granted to every user, and returns its id and its device token.
pub fn register_device(
    admin: &Api,
    collection: &str,
    name: &str,
    kind: &str,
    location: &Value,
) -> (String, String) {
    let device = admin.post(
        &format!("/{collection}"),
        json!({ "name": name, "type": kind, "location": location, "users": ["*"] }),
    );
    (
        device["id"].as_str().unwrap().to_string(),
        device["token"].as_str().unwrap().to_string(),
    )
}
