//! A real control plane and a real node daemon in the test's own process: the control plane on a
//! free port of 127.0.0.1 with a fresh SQLite registry, the node on a tokio task sharing its
//! embedded bus, both with their data in a temporary directory. What the node does is observed
//! the way an operator or a device would observe it, through the REST API.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use trellis_control::{Application, Settings};
use trellis_node::NodeConfig;
use trellis_protocol::api::{
    AppVersion, CommandParam, CommandSpec, ControllerType, Deployment, Device, Location, Login,
    NewDevice, Node, SensorType, Session, ValueKind,
};

pub const ADMIN_PASSWORD: &str = "admin-password";
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
    /// How the node was started, to start it again.
    config: NodeConfig,
    /// Dropped last: the registry, the artifacts and the node's cache live here.
    _data: tempfile::TempDir,
}

/// Starts a control plane and one node daemon joined to it, and logs in as the admin.
pub async fn spawn_node() -> TestNode {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut settings = Settings::local(data.path().join("plane"));
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.admin_password = Some(ADMIN_PASSWORD.into());
    settings.heartbeat_interval = HEARTBEAT;
    settings.missed_heartbeats = MISSED_HEARTBEATS;
    settings.reconcile_interval = RECONCILE;
    let app = Application::build(settings)
        .await
        .expect("building the control plane");
    let address = format!("http://{}", app.local_addr());
    let config = NodeConfig {
        control_plane: address.clone(),
        token: app.issue_node_token(NODE_NAME).await.expect("a node token"),
        data_dir: data.path().join("node"),
        tick: TICK,
        bus: Some(app.bus()),
        checkpoint_every: CHECKPOINT,
    };
    let plane = tokio::spawn(app.run_until_stopped());
    let node = tokio::spawn(trellis_node::run(config.clone()));
    let mut test = TestNode {
        address,
        client: reqwest::Client::new(),
        admin: String::new(),
        plane,
        node,
        config,
        _data: data,
    };
    test.admin = test.login("admin", ADMIN_PASSWORD).await;
    test
}

impl Drop for TestNode {
    /// Stops both; what they still run (instance threads, the node's heartbeats) ends with the
    /// test's runtime, which drops their tasks.
    fn drop(&mut self) {
        self.node.abort();
        self.plane.abort();
    }
}

impl TestNode {
    /// Stops the node daemon and starts a new one with the same token and data directory, as
    /// an operator restarting its process would. The old one's instances stop as it goes; the
    /// new one's wait for their state stores until then.
    pub async fn restart_node(&mut self) {
        self.node.abort();
        let _ = (&mut self.node).await;
        self.node = tokio::spawn(trellis_node::run(self.config.clone()));
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

    pub async fn deployment(&self, id: &str) -> Deployment {
        self.get(&format!("/deployments/{id}"), &self.admin).await
    }

    /// The node as the control plane lists it.
    pub async fn node(&self) -> Node {
        let nodes: Vec<Node> = self.get("/nodes", &self.admin).await;
        nodes
            .into_iter()
            .find(|n| n.name == NODE_NAME)
            .expect("the test node is registered")
    }
}

/// The JSON answer of a successful request; panics with the status and body otherwise.
async fn answer<T: DeserializeOwned>(sent: reqwest::Result<reqwest::Response>) -> T {
    let response = sent.expect("sending a request");
    let (status, url) = (response.status(), response.url().clone());
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{url}: {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"))
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
