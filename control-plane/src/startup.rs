//! Building and running the server: database, artifact store, component host, routes, and the
//! first admin on a fresh registry.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tokio::net::TcpListener;
use trellis_host::capabilities::log::TracingLog;
use trellis_host::{Host, HostConfig};
use trellis_models::{ModelCatalog, Runtimes};

use crate::Settings;
use crate::artifacts::ArtifactStore;
use crate::auth::{Role, policy};
use crate::db;
use crate::gateway::DeviceGateway;
use crate::logs::LogService;
use crate::metrics::PlaneMetrics;
use crate::notify::Notifier;
use crate::server::ConnectionLimits;
use crate::state::{AppState, Services};

/// The name of the admin `trellis up` creates on a fresh registry.
pub const FIRST_ADMIN: &str = "admin";

/// The admin account made for a fresh registry.
#[derive(Clone, Debug)]
pub struct FirstAdmin {
    pub name: String,
    pub password: String,
    /// True when the password was made up here and must be shown to the operator once.
    pub generated: bool,
}

/// A control plane, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
    /// `/metrics` on an address of its own, when the operator asked for one.
    metrics_listener: Option<TcpListener>,
    router: Router,
    /// Set when the control plane serves HTTPS.
    tls: Option<Arc<rustls::ServerConfig>>,
    state: AppState,
    /// Where readings and commands flow, kept to share with an embedded node.
    bus: Arc<dyn trellis_bus::Bus>,
    /// Set when this start created the first admin.
    pub first_admin: Option<FirstAdmin>,
}

impl Application {
    /// Opens (or creates) the registry and artifact store and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        std::fs::create_dir_all(&settings.data_dir)?;
        // Bad certificate files stop the start with a clear error, before anything else happens.
        let tls = settings
            .tls
            .as_ref()
            .map(crate::tls::server_config)
            .transpose()?;
        let db = crate::db::connect(&settings.database_url).await?;
        let artifacts = ArtifactStore::open(&settings.data_dir.join("artifacts"))?;
        let host = Arc::new(Host::new(HostConfig {
            cache_dir: Some(settings.data_dir.join("compiled")),
            ..HostConfig::default()
        })?);
        let mut runtimes = Runtimes::new(settings.onnx_runtime_library.clone());
        if let Some(worker) = &settings.model_worker {
            runtimes = runtimes.isolated(worker.clone());
        }
        let metrics = Arc::new(PlaneMetrics::new());
        let models = ModelCatalog::new(host.clone(), Arc::new(runtimes), Arc::new(TracingLog))
            .measured_by(metrics.inference.clone())
            .bounded(settings.model_cache_bytes);
        let catalog_metrics = models.catalog_metrics();
        metrics.register(|registry| catalog_metrics.register(registry));
        let bus = trellis_bus::connect_with(&settings.bus, &settings.kafka_security)?;
        let checked = bus.clone();
        tokio::task::spawn_blocking(move || checked.check()).await??;
        let listener = TcpListener::bind(settings.listen).await?;
        let public_url = settings.public_url.clone().unwrap_or_else(|| {
            let scheme = if tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{}", listener.local_addr().expect("bound"))
        });
        let notifier = Notifier::new(
            db.clone(),
            settings.notify_limit,
            settings.notify_retry,
            public_url,
        )?;
        let logs = Arc::new(LogService::new(
            db.clone(),
            db::logs::Dialect::of(&settings.database_url),
        ));
        let readings = crate::readings::Recorder::start(db.clone());
        let live = Arc::new(crate::live::LiveHub::default());
        let state = AppState::new(Services {
            db,
            artifacts,
            host,
            models: Arc::new(models),
            settings: Arc::new(settings.clone()),
            assignments: Arc::new(tokio::sync::watch::channel(0).0),
            started_at: crate::ids::now_ms(),
            gateway: Arc::new(DeviceGateway::new(
                bus.clone(),
                metrics.gateway_readings.clone(),
                readings.clone(),
                live.clone(),
            )),
            metrics,
            notifier,
            job_queue: Arc::new(tokio::sync::Notify::new()),
            logs,
            readings,
            live,
            passwords: crate::auth::PasswordPool::per_core(),
            logins: Arc::new(crate::auth::login_limit::LoginLimiter::new(
                settings.login_limit,
            )),
            in_flight: crate::request_limits::InFlight::new(settings.max_concurrent_requests),
            sessions: Arc::default(),
            latest: Arc::default(),
        });
        crate::jobs::fail_interrupted(&state.db).await?;
        let first_admin = ensure_first_admin(&state).await?;
        crate::model_versions::record_unrecorded(&state.db).await?;
        for id in db::devices::controller_ids(&state.db).await? {
            state.gateway.watch_controller(&id).await;
        }
        let node_ca_pem = match &settings.node_ca_cert {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("reading the nodes' CA certificate {}: {e}", path.display())
            })?),
            None => None,
        };
        let router = router(state.clone(), node_ca_pem);
        let metrics_listener = match settings.metrics_listen {
            Some(address) => Some(TcpListener::bind(address).await.map_err(|e| {
                anyhow::anyhow!("listening for metrics on {address} (--metrics-listen): {e}")
            })?),
            None => None,
        };
        Ok(Application {
            listener,
            metrics_listener,
            router,
            tls,
            state,
            bus,
            first_admin,
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The URL it serves at: `https://` and its address when it serves TLS, else `http://`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr())
    }

    /// Where `/metrics` listens on its own (`--metrics-listen`), if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .map(|l| l.local_addr().expect("a bound listener has an address"))
    }

    /// Adds families to those `/metrics` serves: `trellis up` adds its embedded node's.
    pub fn register_metrics(&self, add: impl FnOnce(&mut prometheus_client::registry::Registry)) {
        self.state.metrics.register(add);
    }

    /// Where this process's predictions are counted, to share with an embedded node's models.
    pub fn inference_metrics(&self) -> trellis_models::InferenceMetrics {
        self.state.metrics.inference.clone()
    }

    /// The bus readings and commands flow on, to share with an embedded node.
    pub fn bus(&self) -> Arc<dyn trellis_bus::Bus> {
        self.bus.clone()
    }

    /// What stores the gateway's readings, for `trellis up` to flush on a clean stop.
    pub fn readings(&self) -> crate::readings::Recorder {
        self.state.readings.clone()
    }

    /// The registry's connection pool, for checks from the outside (tests, `trellis up`).
    pub fn database(&self) -> sqlx::AnyPool {
        self.state.db.clone()
    }

    /// Registers a node called `name` (or keeps the one there is) and gives it a fresh token,
    /// for the nodes `trellis up` starts itself.
    pub async fn issue_node_token(&self, name: &str) -> anyhow::Result<String> {
        crate::routes::issue_node_token(&self.state, name)
            .await
            .map_err(|e| anyhow::anyhow!("registering node {name}: {}", e.message))
    }

    /// Serves, reconciles desired with actual state, collects unused artifacts and runs
    /// prediction jobs, until the process ends.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let limits = ConnectionLimits {
            header_read_timeout: self.state.settings.header_read_timeout,
            max_connections: self.state.settings.max_connections,
        };
        let reconciler = tokio::spawn(crate::reconciler::run(self.state.clone()));
        let collector = tokio::spawn(crate::collector::run(self.state.clone()));
        let metrics = self.metrics_listener.map(|listener| {
            let router = crate::metrics::listener::router(self.state.clone());
            tokio::spawn(serve(listener, router, self.tls.clone(), limits))
        });
        let summaries = tokio::spawn(self.state.notifier.clone().run_summaries());
        let jobs = tokio::spawn(crate::jobs::run(self.state.clone()));
        let retention = tokio::spawn(crate::logs::retention::run(self.state.clone()));
        let readings_retention = tokio::spawn(crate::readings::retention::run(self.state.clone()));
        let served = serve(self.listener, self.router, self.tls.clone(), limits).await;
        self.state.readings.flush().await;
        readings_retention.abort();
        reconciler.abort();
        collector.abort();
        summaries.abort();
        jobs.abort();
        retention.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        served
    }
}

/// Serves `router` on `listener`, over TLS when `tls` is set, within `limits`.
async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    match tls {
        Some(config) => {
            let listener = crate::tls::TlsListener::new(listener, config)?;
            crate::server::serve(listener, router, limits).await;
        }
        None => crate::server::serve(listener, router, limits).await,
    }
    Ok(())
}

fn router(state: AppState, node_ca_pem: Option<String>) -> Router {
    let (api, document) = crate::routes::api();
    let api: Router<AppState> = api;
    let max_upload = state.settings.max_upload_bytes;
    let metrics = state.metrics.clone();
    let api = api
        .route(
            "/api/v1/openapi.json",
            get(move || crate::openapi::serve_document(document.clone())),
        )
        .route("/api/v1/docs", get(crate::openapi::docs_page))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            policy::authorize,
        ))
        // Before the policy: a body too large is refused before anyone's token is looked up.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::request_limits::enforce,
        ))
        .layer(DefaultBodyLimit::max(max_upload))
        .with_state(state.clone());
    // The portal calls the API above in-process, as the signed-in person.
    let portal = trellis_web::portal(trellis_web::PortalConfig {
        api: api.clone(),
        secure_cookies: state.settings.tls.is_some()
            || state
                .settings
                .public_url
                .as_deref()
                .is_some_and(|url| url.starts_with("https://")),
        session_ttl: state.settings.session_ttl,
        public_url: state.settings.public_url.clone(),
        node_ca_pem,
    });
    api.merge(portal)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            crate::error::panicked,
        ))
        // Outermost, so every answer is counted, refusals by the layers above included.
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::http::track,
        ))
}

/// On a registry without users, creates the admin with the configured password or a new one.
async fn ensure_first_admin(state: &AppState) -> anyhow::Result<Option<FirstAdmin>> {
    if db::users::count(&state.db).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match &state.settings.admin_password {
        // Set by the operator, it meets the rules every other password meets.
        Some(password) => {
            crate::routes::check_password("--admin-password", password)
                .map_err(|e| anyhow::anyhow!("creating the first admin: {}", e.message))?;
            (password.clone(), false)
        }
        None => (crate::ids::random_hex(12), true),
    };
    crate::routes::insert_user(state, FIRST_ADMIN, &password, Role::Admin)
        .await
        .map_err(|e| anyhow::anyhow!("creating the first admin: {}", e.message))?;
    Ok(Some(FirstAdmin {
        name: FIRST_ADMIN.into(),
        password,
        generated,
    }))
}
