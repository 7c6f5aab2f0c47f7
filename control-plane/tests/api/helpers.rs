//! Spawns the real control plane on a random port with a fresh database (SQLite file, or a new
//! database on the PostgreSQL server the test setup started), and talks to it over HTTP.

use std::path::Path;

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use trellis_control::artifacts::ArtifactStore;
use trellis_control::{Application, Settings};

pub const ADMIN_PASSWORD: &str = "admin-password";
pub const PASSWORD: &str = "a-long-password";

/// A node's heartbeats, sent until this is dropped ([`TestApp::keep_reporting`]).
pub struct Reporting(tokio::task::JoinHandle<()>);

impl Drop for Reporting {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Which database a test runs against.
#[derive(Clone, Copy, Debug)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs each test body against SQLite and against PostgreSQL.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Db::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Db::Postgres).await
                }
            )*
        }
    };
}
pub(crate) use on_both_databases;

/// A running control plane and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub admin: String,
    pub data_dir: tempfile::TempDir,
    pub db: sqlx::AnyPool,
    /// Where `/metrics` listens on its own, when the settings asked for that.
    pub metrics_address: Option<std::net::SocketAddr>,
    /// The control plane's bus, for what apps would put on it (commands).
    pub bus: std::sync::Arc<dyn trellis_bus::Bus>,
}

/// The PostgreSQL server to make test databases on: `TRELLIS_TEST_POSTGRES` (a URL for a user
/// that may create databases), set by `scripts/with-postgres`.
fn postgres_server() -> Option<String> {
    match std::env::var("TRELLIS_TEST_POSTGRES") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("TRELLIS_REQUIRE_POSTGRES").is_some() => {
            panic!("TRELLIS_REQUIRE_POSTGRES is set but TRELLIS_TEST_POSTGRES is not")
        }
        Err(_) => None,
    }
}

async fn database_url(db: Db, data_dir: &Path) -> Option<String> {
    match db {
        Db::Sqlite => Some(format!("sqlite://{}", data_dir.join("test.db").display())),
        Db::Postgres => {
            let server = postgres_server()?;
            sqlx::any::install_default_drivers();
            let name = format!("trellis_test_{}", rand_suffix());
            let admin = sqlx::AnyPool::connect(&server)
                .await
                .expect("connecting to the test PostgreSQL server");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .expect("creating a test database");
            admin.close().await;
            let base = server.rsplit_once('/').expect("a URL with a database").0;
            Some(format!("{base}/{name}"))
        }
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{nanos}", std::process::id())
}

impl TestApp {
    /// Starts a control plane on `db`; `None` when PostgreSQL was asked for and is not set up
    /// (the test then says so and passes only if PostgreSQL is not required).
    pub async fn spawn(db: Db) -> Option<TestApp> {
        TestApp::spawn_with(db, |_| {}).await
    }

    pub async fn spawn_with(db: Db, configure: impl FnOnce(&mut Settings)) -> Option<TestApp> {
        let (built, data_dir) = TestApp::build(db, configure).await?;
        let app = built.expect("building the app");
        let address = format!("http://{}", app.local_addr());
        let pool = app.database();
        let metrics_address = app.metrics_addr();
        let bus = app.bus();
        tokio::spawn(app.run_until_stopped());
        let mut test = TestApp {
            address,
            client: reqwest::Client::new(),
            admin: String::new(),
            data_dir,
            db: pool,
            metrics_address,
            bus,
        };
        test.admin = test.login("admin", ADMIN_PASSWORD).await;
        Some(test)
    }

    /// Builds a control plane on a fresh `db` without starting it: the outcome of
    /// [`Application::build`] and the directory it keeps its data in; `None` as for
    /// [`TestApp::spawn`].
    pub async fn build(
        db: Db,
        configure: impl FnOnce(&mut Settings),
    ) -> Option<(anyhow::Result<Application>, tempfile::TempDir)> {
        let data_dir = tempfile::tempdir().unwrap();
        let Some(url) = database_url(db, data_dir.path()).await else {
            eprintln!("skipped: no PostgreSQL server (run through scripts/with-postgres)");
            return None;
        };
        let mut settings = Settings::local(data_dir.path().join("data"));
        settings.listen = "127.0.0.1:0".parse().unwrap();
        settings.database_url = url;
        settings.admin_password = Some(ADMIN_PASSWORD.into());
        configure(&mut settings);
        Some((Application::build(settings).await, data_dir))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.address)
    }

    /// Heartbeats for the node whose token is `token`, an idle node's report every `every`, as
    /// a live node's daemon sends them, until the answer is dropped. The first is sent here and
    /// must be accepted.
    pub async fn keep_reporting(&self, token: &str, every: std::time::Duration) -> Reporting {
        let report = json!({ "metrics": { "cpu_percent": 5.0, "memory_used_mb": 100.0,
            "memory_total_mb": 4000.0, "load_1m": 0.1, "performance": 10.0 }, "instances": [] });
        let (status, answer) = self.post("/node/heartbeat", token, report.clone()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (client, url, token) = (
            self.client.clone(),
            self.url("/node/heartbeat"),
            token.to_string(),
        );
        Reporting(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                // One that fails shows in the test as the node not being up.
                let _ = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&report)
                    .send()
                    .await;
            }
        }))
    }

    /// Sends `body` (JSON) to `path` with `token`; returns the status and the JSON answer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_root(method, &format!("/api/v1{path}"), token, body)
            .await
    }

    /// [`TestApp::call`] with a path from the server's root, for what lies outside `/api/v1`.
    pub async fn call_root(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.address);
        let mut request = self.client.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.expect("sending a request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Posts a multipart upload of `parts` (name, bytes).
    pub async fn upload(
        &self,
        path: &str,
        token: &str,
        parts: Vec<(&str, Vec<u8>)>,
    ) -> (StatusCode, Value) {
        let mut form = Form::new();
        for (name, bytes) in parts {
            form = form.part(
                name.to_string(),
                Part::bytes(bytes).file_name(name.to_string()),
            );
        }
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("sending an upload");
        answer(response).await
    }

    pub async fn login(&self, name: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({ "name": name, "password": password })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "logging in as {name}: {body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// Creates a user `name` with `role` and logs them in.
    pub async fn user(&self, name: &str, role: &str) -> String {
        let (status, body) = self
            .post(
                "/users",
                &self.admin,
                json!({ "name": name, "password": PASSWORD, "role": role }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "creating {name}: {body}");
        self.login(name, PASSWORD).await
    }

    /// A portal page as the holder of session `token` (sent as the portal's cookie, as a browser
    /// would): its status and HTML.
    pub async fn page(&self, path: &str, token: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .header(
                reqwest::header::COOKIE,
                format!("{}={token}", trellis_web::session::SESSION_COOKIE),
            )
            .send()
            .await
            .expect("asking for a page");
        (response.status(), response.text().await.unwrap_or_default())
    }

    /// Row counts of every table and the artifact store's blobs: what a refused request must
    /// leave exactly as it was.
    pub async fn snapshot(&self) -> (Vec<(String, i64)>, Vec<String>) {
        let mut counts = Vec::new();
        for table in [
            "users",
            "sensor_types",
            "controller_types",
            "devices",
            "nodes",
            "models",
            "apps",
            "deployments",
            "deployment_bindings",
            "deployment_events",
            "deployment_models",
            "owners",
        ] {
            let (count,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&self.db)
                .await
                .unwrap();
            counts.push((table.to_string(), count));
        }
        let store = ArtifactStore::open(&self.data_dir.path().join("data/artifacts")).unwrap();
        (counts, store.list().unwrap())
    }
}

async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// A file of the workspace, by its path from the workspace root.
pub fn workspace_file(path: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::read(root.join(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The error message of a refused request.
pub fn message(body: &Value) -> String {
    body["error"]
        .as_str()
        .unwrap_or(&body.to_string())
        .to_string()
}
