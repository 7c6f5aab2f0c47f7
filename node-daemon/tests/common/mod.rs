//! A real control plane and a real node daemon in the test's own process: the control plane on a
//! free port of 127.0.0.1 with a fresh SQLite registry, the node on a tokio task sharing its
//! embedded bus, both with their data in a temporary directory. What the node does is observed
//! the way an operator or a device would observe it, through the REST API.

#![allow(dead_code)]

pub mod dark_link;
pub mod scrape;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use trellis_control::{Application, Settings};
use trellis_node::{NodeConfig, NodeMetrics};
use trellis_protocol::api::{
    AppVersion, CommandParam, CommandSpec, ControllerType, DeliveredCommand, Deployment, Device,
    Location, Login, NewDeployment, NewDevice, NewNode, Node, SensorType, Session, ValueKind,
};
use trellis_protocol::record::CommandRecord;

pub const ADMIN_PASSWORD: &str = "admin-password";
/// The bearer token the first node's `/metrics` asks for.
pub const NODE_METRICS_TOKEN: &str = "node-metrics-token";
/// The name the node is registered under.
pub const NODE_NAME: &str = "test-node";
/// Short enough that a state change shows up in the API within a fraction of a second.
const HEARTBEAT: Duration = Duration::from_millis(250);
/// Generous, so a node slowed down by a loaded machine is not declared dead: these tests are
/// about what a live node does.
const MISSED_HEARTBEATS: u32 = 20;
const RECONCILE: Duration = Duration::from_millis(100);
/// The node's tick: a trapping app traps on its first one, so restarts come quickly.
const TICK: Duration = Duration::from_millis(100);
/// Frequent, so a test sees state reach the control plane quickly.
const CHECKPOINT: Duration = Duration::from_millis(200);

/// A control plane and a node daemon, stopped when dropped.
pub struct TestNode {
    pub address: String,
    pub client: reqwest::Client,
    /// The first admin's session.
    pub admin: String,
    plane: JoinHandle<std::io::Result<()>>,
    node: JoinHandle<anyhow::Result<()>>,
    /// How the first node runs, for starting more like it.
    node_config: NodeConfig,
    /// Nodes started by [`TestNode::spawn_another_node`].
    more_nodes: Vec<JoinHandle<anyhow::Result<()>>>,
    /// How the control plane runs (on the port it first bound), for starting it again.
    settings: Settings,
    /// Dropped last: the registry, the artifacts and the node's cache live here.
    _data: tempfile::TempDir,
}

/// Starts a control plane and one node daemon joined to it, and logs in as the admin.
pub async fn spawn_node() -> TestNode {
    spawn_node_with(|_| {}).await
}

/// [`spawn_node`] with the control plane's settings changed by `configure` (its bus, say).
pub async fn spawn_node_with(configure: impl FnOnce(&mut Settings)) -> TestNode {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut settings = Settings::local(data.path().join("plane"));
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.admin_password = Some(ADMIN_PASSWORD.into());
    settings.heartbeat_interval = HEARTBEAT;
    settings.missed_heartbeats = MISSED_HEARTBEATS;
    settings.reconcile_interval = RECONCILE;
    configure(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("building the control plane");
    let address = format!("http://{}", app.local_addr());
    settings.listen = app.local_addr();
    let config = NodeConfig {
        control_plane: address.clone(),
        token: app.issue_node_token(NODE_NAME).await.expect("a node token"),
        data_dir: data.path().join("node"),
        tick: TICK,
        bus: Some(app.bus()),
        checkpoint_every: CHECKPOINT,
        metrics: NodeMetrics::default(),
        // Its own `/metrics` on a free port, with a token, as an operator would open it.
        metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
        metrics_token: Some(NODE_METRICS_TOKEN.into()),
        ca_cert: None,
        log_buffer_lines: trellis_node::DEFAULT_LOG_BUFFER_LINES,
        reading_history_bytes: trellis_node::DEFAULT_READING_HISTORY_BYTES,
        model_worker: None,
    };
    let plane = tokio::spawn(app.run_until_stopped());
    let node = tokio::spawn(trellis_node::run(config.clone()));
    let mut test = TestNode {
        address,
        client: reqwest::Client::new(),
        admin: String::new(),
        plane,
        node,
        node_config: config,
        more_nodes: Vec::new(),
        settings,
        _data: data,
    };
    test.admin = test.login("admin", ADMIN_PASSWORD).await;
    test
}

impl Drop for TestNode {
    /// Stops both; what they still run (instance threads, the node's heartbeats) ends with the
    /// test's runtime, which drops their tasks.
    fn drop(&mut self) {
        for node in &self.more_nodes {
            node.abort();
        }
        self.node.abort();
        self.plane.abort();
    }
}

/// A controller device's side of the gateway: each poll acknowledges what the one before it
/// received, as the protocol asks, so a command comes once unless an answer is lost.
pub struct Controller {
    pub token: String,
    /// The delivery of the last command received.
    ack: Option<u64>,
}

impl Controller {
    pub fn new(token: &str) -> Controller {
        Controller {
            token: token.to_string(),
            ack: None,
        }
    }

    /// The next commands, waiting up to `wait_ms` for one.
    pub async fn poll(&mut self, node: &TestNode, wait_ms: u64) -> Vec<CommandRecord> {
        let ack = self.ack.map(|a| format!("&ack={a}")).unwrap_or_default();
        let delivered: Vec<DeliveredCommand> = node
            .get(
                &format!("/device/commands?wait_ms={wait_ms}{ack}"),
                &self.token,
            )
            .await;
        if let Some(last) = delivered.last() {
            self.ack = Some(last.delivery);
        }
        delivered.into_iter().map(|d| d.record).collect()
    }
}

impl TestNode {
    /// Deploys `app` as the admin, at `version` (its latest when `None`), each role of
    /// `bindings` bound to one device, with the parameters of `config` set.
    pub async fn deploy_version(
        &self,
        app: &str,
        version: Option<String>,
        bindings: &[(&str, &str)],
        config: &[(&str, &str)],
    ) -> Deployment {
        let new = NewDeployment {
            app: app.into(),
            version,
            bindings: bindings
                .iter()
                .map(|(role, device)| (role.to_string(), vec![device.to_string()]))
                .collect(),
            config: config
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            schedule: Default::default(),
            node_labels: BTreeMap::new(),
        };
        self.post("/deployments", &self.admin, &new).await
    }

    /// Registers the classroom's types, uploads the classroom thermostat and deploys `count` of
    /// it, each bound to a temperature sensor, a fan and an air conditioner of its own (`t0`,
    /// `fan0`, `ac0`, ...); returns the sensors in that order.
    pub async fn deploy_thermostats(&self, count: u64) -> Vec<Device> {
        self.add_sensor_type("temperature", ValueKind::Number).await;
        self.add_controller_type("fan", "set-speed", &[("speed", ValueKind::Number)])
            .await;
        self.add_controller_type("air-conditioner", "set-mode", &[("mode", ValueKind::Text)])
            .await;
        self.upload_app(
            &workspace_file("examples/apps/classroom-thermostat/trellis.toml"),
            trellis_guest_artifacts::CLASSROOM_THERMOSTAT,
        )
        .await;
        let mut sensors = Vec::new();
        for d in 0..count {
            let sensor = self
                .add_device("sensors", &format!("t{d}"), "temperature")
                .await;
            let fan = self
                .add_device("controllers", &format!("fan{d}"), "fan")
                .await;
            let ac = self
                .add_device("controllers", &format!("ac{d}"), "air-conditioner")
                .await;
            let bindings = [
                ("temperature", sensor.id.as_str()),
                ("fan", fan.id.as_str()),
                ("ac", ac.id.as_str()),
            ];
            self.deploy("classroom-thermostat", &bindings).await;
            sensors.push(sensor);
        }
        sensors
    }

    /// [`deploy_version`](Self::deploy_version) at the latest version with default parameters.
    pub async fn deploy(&self, app: &str, bindings: &[(&str, &str)]) -> Deployment {
        self.deploy_version(app, None, bindings, &[]).await
    }

    /// Stops the node daemon and starts a new one with the same token and data directory, as
    /// an operator restarting its process would. The old one's instances stop as it goes; the
    /// new one's wait for their state stores until then.
    pub async fn restart_node(&mut self) {
        self.node.abort();
        let _ = (&mut self.node).await;
        self.node = tokio::spawn(trellis_node::run(self.node_config.clone()));
    }

    /// The first node's `/metrics`, once its listener is bound.
    pub async fn node_metrics_url(&self) -> String {
        let metrics = self.node_config.metrics.clone();
        let address = wait_for(
            Duration::from_secs(30),
            "the node's metrics listener",
            async || {
                metrics
                    .served_at()
                    .ok_or_else(|| "no listener yet".to_string())
            },
        )
        .await;
        format!("http://{address}/metrics")
    }

    /// Stops the control plane, as an outage would; the node goes on without it.
    pub async fn stop_control_plane(&mut self) {
        self.plane.abort();
        let _ = (&mut self.plane).await;
    }

    /// Starts the control plane again on the same port, registry and artifacts.
    pub async fn start_control_plane(&mut self) {
        let app = Application::build(self.settings.clone())
            .await
            .expect("building the control plane again");
        self.plane = tokio::spawn(app.run_until_stopped());
    }

    /// The bus the control plane and the first node share, for putting readings on it as the
    /// gateway would.
    pub fn bus(&self) -> std::sync::Arc<dyn trellis_bus::Bus> {
        self.node_config.bus.clone().expect("the node has a bus")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.address)
    }

    pub async fn login(&self, name: &str, password: &str) -> String {
        let login = Login {
            name: name.into(),
            password: password.into(),
        };
        let session: Session = answer(
            self.client
                .post(self.url("/auth/login"))
                .json(&login)
                .send()
                .await,
        )
        .await;
        session.token
    }

    /// GETs `path` with `token`; the answer must be a success.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, token: &str) -> T {
        answer(
            self.client
                .get(self.url(path))
                .bearer_auth(token)
                .send()
                .await,
        )
        .await
    }

    /// POSTs `body` to `path` with `token`; the answer must be a success.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
        body: &impl Serialize,
    ) -> T {
        answer(
            self.client
                .post(self.url(path))
                .bearer_auth(token)
                .json(body)
                .send()
                .await,
        )
        .await
    }

    /// Uploads an app as its developer would: its manifest and its component.
    pub async fn upload_app(&self, manifest: &Path, component: &str) -> AppVersion {
        let manifest = std::fs::read(manifest)
            .unwrap_or_else(|e| panic!("reading {}: {e}", manifest.display()));
        self.upload_app_text(manifest, component).await
    }

    /// Uploads an app from its manifest's text and its component.
    pub async fn upload_app_text(
        &self,
        manifest: impl Into<Vec<u8>>,
        component: &str,
    ) -> AppVersion {
        let manifest: Vec<u8> = manifest.into();
        let form = Form::new()
            .part(
                "trellis.toml",
                Part::bytes(manifest).file_name("trellis.toml"),
            )
            .part(
                "app.wasm",
                Part::bytes(trellis_guest_artifacts::read(component)).file_name("app.wasm"),
            );
        answer(
            self.client
                .post(self.url("/apps"))
                .bearer_auth(&self.admin)
                .multipart(form)
                .send()
                .await,
        )
        .await
    }

    pub async fn add_sensor_type(&self, name: &str, value: ValueKind) {
        let kind = SensorType {
            name: name.into(),
            description: String::new(),
            unit: String::new(),
            value,
            media_type: None,
            sampling_hz: None,
        };
        let _: serde_json::Value = self.post("/sensor-types", &self.admin, &kind).await;
    }

    /// A controller type taking one command with `params`, each required.
    pub async fn add_controller_type(
        &self,
        name: &str,
        command: &str,
        params: &[(&str, ValueKind)],
    ) {
        let kind = ControllerType {
            name: name.into(),
            description: String::new(),
            commands: vec![CommandSpec {
                name: command.into(),
                description: String::new(),
                params: params
                    .iter()
                    .map(|(name, value)| CommandParam {
                        name: (*name).into(),
                        value: *value,
                        required: true,
                    })
                    .collect(),
            }],
        };
        let _: serde_json::Value = self.post("/controller-types", &self.admin, &kind).await;
    }

    /// Registers a sensor (`collection` = `sensors`) or controller (`controllers`); the answer
    /// carries its gateway token.
    pub async fn add_device(&self, collection: &str, name: &str, type_name: &str) -> Device {
        let device = NewDevice {
            name: name.into(),
            type_name: type_name.into(),
            location: Location {
                site: "north".into(),
                building: "main".into(),
                room: "room-1".into(),
                latitude: None,
                longitude: None,
            },
            labels: Default::default(),
            users: Vec::new(),
        };
        self.post(&format!("/{collection}"), &self.admin, &device)
            .await
    }

    /// Sends `method` to `path` with `token` and `body`; the answer must be a success.
    pub async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&serde_json::Value>,
    ) -> T {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        answer(request.send().await).await
    }

    pub async fn deployment(&self, id: &str) -> Deployment {
        self.get(&format!("/deployments/{id}"), &self.admin).await
    }

    /// The node as the control plane lists it.
    pub async fn node(&self) -> Node {
        self.node_named(NODE_NAME).await
    }

    /// The node called `name` as the control plane lists it.
    pub async fn node_named(&self, name: &str) -> Node {
        let nodes: Vec<Node> = self.get("/nodes", &self.admin).await;
        nodes
            .into_iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("node {name} is registered"))
    }

    /// Registers another node called `name`, as a configurer would, and starts its daemon on
    /// the same control plane and bus as the first, with its own data directory.
    pub async fn spawn_another_node(&mut self, name: &str) {
        let address = self.address.clone();
        self.spawn_another_node_at(name, &address).await;
    }

    /// [`TestNode::spawn_another_node`] with the node reaching the control plane at
    /// `control_plane` (through a proxy, say).
    pub async fn spawn_another_node_at(&mut self, name: &str, control_plane: &str) {
        let new = NewNode {
            name: name.into(),
            labels: Default::default(),
        };
        let node: Node = self.post("/nodes", &self.admin, &new).await;
        let config = NodeConfig {
            control_plane: control_plane.to_string(),
            token: node.token.expect("a new node's token"),
            data_dir: self._data.path().join(name),
            metrics: NodeMetrics::default(),
            metrics_listen: None,
            ..self.node_config.clone()
        };
        self.more_nodes
            .push(tokio::spawn(trellis_node::run(config)));
    }
}

/// The echo app's manifest as version `version`, with a `label` parameter defaulting to `label`
/// (echoed in every command, so a command tells which version sent it).
pub fn echo_manifest(version: &str, label: &str) -> String {
    let manifest = std::fs::read_to_string(workspace_file("tests/guests/echo/trellis.toml"))
        .expect("the echo manifest");
    let (top, tables) = manifest.split_once("\n[").expect("a manifest with tables");
    format!(
        "{top}\nversion = \"{version}\"\n\n[{tables}\n[config.label]\ntype = \"text\"\ndefault = \"{label}\"\n"
    )
}

/// Registers a `temperature` sensor `t1` and a `display` controller `d1` taking `echo`
/// commands, uploads each of `versions` (manifest text, component) and deploys the first,
/// with its `in` role bound to the sensor and `out` to the display. Returns the deployment,
/// the sensor and the display (with their gateway tokens).
pub async fn deploy_echo(
    node: &TestNode,
    versions: &[(String, &str)],
) -> (Deployment, Device, Device) {
    node.add_sensor_type("temperature", ValueKind::Number).await;
    node.add_controller_type(
        "display",
        "echo",
        &[
            ("sequence", ValueKind::Number),
            ("value", ValueKind::Number),
        ],
    )
    .await;
    let sensor = node.add_device("sensors", "t1", "temperature").await;
    let display = node.add_device("controllers", "d1", "display").await;
    let mut first = None;
    for (manifest, component) in versions {
        let app = node.upload_app_text(manifest.clone(), component).await;
        first.get_or_insert(app.version);
    }
    let bindings = [("in", sensor.id.as_str()), ("out", display.id.as_str())];
    let deployment = node.deploy_version("echo", first, &bindings, &[]).await;
    (deployment, sensor, display)
}

/// Waits until deployment `id` runs `version` on the node, as the control plane shows it.
pub async fn wait_running(node: &TestNode, id: &str, version: &str) -> Deployment {
    wait_for(
        Duration::from_secs(30),
        &format!("{id} running version {version}"),
        async || {
            let now = node.deployment(id).await;
            if now.state == trellis_protocol::node::InstanceState::Running && now.version == version
            {
                Ok(now)
            } else {
                Err(format!("{now:?}"))
            }
        },
    )
    .await
}

/// The JSON answer of a successful request; panics with the status and body otherwise.
async fn answer<T: DeserializeOwned>(sent: reqwest::Result<reqwest::Response>) -> T {
    let response = sent.expect("sending a request");
    let (status, url) = (response.status(), response.url().clone());
    let mut text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{url}: {status}: {text}");
    // An answer without a body (204) reads as JSON `null`.
    if text.is_empty() {
        text = "null".into();
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"))
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

/// The number in environment variable `name` (a benchmark's setting), or `default`.
pub fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A file of the workspace, by its path from the workspace root.
pub fn workspace_file(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// Calls `check` until it gives a value, for at most `limit`; `check` says what it saw instead,
/// for the message if the wait gives up.
pub async fn wait_for<T>(
    limit: Duration,
    what: &str,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let started = Instant::now();
    loop {
        match check().await {
            Ok(value) => return value,
            Err(seen) => assert!(
                started.elapsed() < limit,
                "gave up after {limit:?} waiting for {what}; last saw {seen}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
