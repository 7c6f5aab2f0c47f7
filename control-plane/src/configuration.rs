//! How a control plane runs: where it listens, where it keeps its data, and its limits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything [`crate::Application::build`] needs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Where the registry lives: `sqlite://PATH` (created if missing) or `postgres://...`.
    pub database_url: String,
    /// Where artifacts and compiled components are kept.
    pub data_dir: PathBuf,
    /// The first admin's password, when the registry has no users yet. `None` makes one up and
    /// reports it once.
    pub admin_password: Option<String>,
    /// The largest upload accepted, in bytes (a whole request).
    pub max_upload_bytes: usize,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// ONNX Runtime's library for validating and serving models; `None` reads `ORT_DYLIB_PATH`,
    /// else models run in tract.
    pub onnx_runtime_library: Option<PathBuf>,
    /// How often nodes report.
    pub heartbeat_interval: Duration,
    /// Heartbeats a node may miss before it is marked down and its instances move.
    pub missed_heartbeats: u32,
    /// How often desired and actual state are compared.
    pub reconcile_interval: Duration,
    /// How often artifacts no model or app version refers to are removed (also after every
    /// deletion, and when an admin asks).
    pub collect_interval: Duration,
    /// Where readings and commands flow: `embedded` (in this process) or
    /// `kafka://HOST:PORT[,HOST:PORT...]`.
    pub bus: String,
    /// How long after an upgrade a failing new version is rolled back by the control plane
    /// itself ([`crate::lifecycle::UPGRADE_GRACE`] unless a test wants it shorter or longer).
    pub upgrade_grace: Duration,
    /// The bearer token Prometheus scrapes `/metrics` with; `None`: only admins' sessions read
    /// it on the API's listener.
    pub metrics_token: Option<String>,
    /// A listener of its own for `/metrics`, open unless `metrics_token` is set.
    pub metrics_listen: Option<SocketAddr>,
    /// How many notifications each deployment (and the platform's notices to the admins) may
    /// raise per period; the rest are held back and counted in one summary message.
    pub notify_limit: crate::notify::rate_limit::NotifyLimit,
    /// The wait before a failed notification delivery is tried again (doubling each time).
    pub notify_retry: Duration,
    /// Where people reach this control plane, for links in notifications; default
    /// `http://` and the address it listens on.
    pub public_url: Option<String>,
    /// Whether anyone, not only admins, may name a webhook on this machine or a private network
    /// (otherwise an end user could have the control plane POST to services only it can reach).
    pub allow_private_webhooks: bool,
    /// Whether a device registered without a `users` list is granted to every user (`*`),
    /// as before access was explicit; otherwise it is no end user's until a configurer adds
    /// them.
    pub open_devices: bool,
    /// How long log lines are kept.
    pub log_retention: Duration,
    /// The most the stored log lines may take (their text and labels); the oldest go first.
    pub log_max_bytes: u64,
    /// How often lines beyond the age or size limit are removed.
    pub log_retention_every: Duration,
    /// How long sensors' readings (and the commands handed to controllers) are kept.
    pub readings_retention: Duration,
    /// How often readings older than that are removed.
    pub readings_retention_every: Duration,
    /// The certificate and key to serve HTTPS with (the API, the portal and `/metrics`);
    /// `None` serves plain HTTP.
    pub tls: Option<crate::tls::TlsFiles>,
    /// TLS and SASL for the Kafka bus's clients.
    pub kafka_security: trellis_bus::KafkaSecurity,
    /// How many logins one client address and one user name may attempt.
    pub login_limit: crate::auth::login_limit::LoginLimit,
    /// The longest a request may take to arrive and be answered (long-polls, uploads and
    /// streams excepted: they have limits of their own).
    pub request_timeout: Duration,
    /// How many requests are served at once (long-polls apart); more are answered 503.
    pub max_concurrent_requests: usize,
    /// The CA certificate (PEM) nodes trust this control plane by, where the system's roots do
    /// not (`trellis up --tls self-signed`, or `--ca-cert` beside `--tls-cert`): the portal's
    /// join instructions carry it.
    pub node_ca_cert: Option<PathBuf>,
    /// How long a client may take to send a request's headers before its connection is closed.
    pub header_read_timeout: Duration,
    /// How many connections each listener keeps open at once; more wait to be accepted.
    pub max_connections: usize,
    /// The most a model package's `model.toml` may ask for (contract memory and deadline,
    /// declared tensor sizes); an upload asking more is refused.
    pub model_maxima: trellis_models::ModelMaxima,
    /// The most memory the models loaded for predictions may hold together (by their package
    /// files' size); beyond it the least recently used are dropped, to be loaded again when
    /// asked for.
    pub model_cache_bytes: u64,
    /// Where set, ONNX Runtime checks and runs each model in a worker process of its own
    /// (`trellis up` sets it), so a model that crashes it takes down only its worker.
    pub model_worker: Option<trellis_models::ModelWorker>,
}

/// The model cache's bound unless configured otherwise: 1 GiB.
pub const DEFAULT_MODEL_CACHE_BYTES: u64 = 1 << 30;

/// How long log lines are kept unless configured otherwise: a week.
pub const DEFAULT_LOG_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// The size the log is kept within unless configured otherwise: 256 MiB.
pub const DEFAULT_LOG_MAX_BYTES: u64 = 256 << 20;
/// How long readings are kept unless configured otherwise: 90 days.
pub const DEFAULT_READINGS_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// How long a request may take unless configured otherwise: 30 s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How many requests are served at once unless configured otherwise.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 512;

/// Ample for a client on a slow link to send its headers; short enough that a trickling one
/// gives up its connection soon.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Open connections per listener: devices, nodes and browsers keep theirs open, and each holds
/// a file descriptor and a little memory. Below a default `ulimit -n` of 4096 with room for
/// the database, the bus and the artifacts.
pub const DEFAULT_MAX_CONNECTIONS: usize = 3072;

impl Settings {
    /// A node's lease on its assignments: as long as it may go without an accepted heartbeat
    /// before it is down, and must stop its instances.
    pub fn lease(&self) -> Duration {
        self.heartbeat_interval * self.missed_heartbeats
    }

    /// How long after a node's last accepted heartbeat its instances may be placed elsewhere:
    /// its lease and one more heartbeat interval, for the node to have stopped them.
    pub fn replace_after(&self) -> Duration {
        self.lease() + self.heartbeat_interval
    }

    /// Defaults for one machine: `127.0.0.1:7878`, SQLite under `data_dir`.
    pub fn local(data_dir: PathBuf) -> Settings {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 7878)),
            database_url: format!("sqlite://{}", data_dir.join("trellis.db").display()),
            data_dir,
            admin_password: None,
            max_upload_bytes: 64 << 20,
            session_ttl: Duration::from_secs(12 * 3600),
            onnx_runtime_library: None,
            heartbeat_interval: Duration::from_secs(2),
            missed_heartbeats: 3,
            reconcile_interval: Duration::from_millis(500),
            collect_interval: Duration::from_secs(3600),
            bus: "embedded".into(),
            upgrade_grace: crate::lifecycle::UPGRADE_GRACE,
            metrics_token: None,
            metrics_listen: None,
            notify_limit: Default::default(),
            notify_retry: Duration::from_secs(2),
            public_url: None,
            allow_private_webhooks: false,
            open_devices: false,
            log_retention: DEFAULT_LOG_RETENTION,
            log_max_bytes: DEFAULT_LOG_MAX_BYTES,
            log_retention_every: Duration::from_secs(60),
            readings_retention: DEFAULT_READINGS_RETENTION,
            readings_retention_every: Duration::from_secs(60),
            tls: None,
            kafka_security: Default::default(),
            login_limit: Default::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            node_ca_cert: None,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            model_maxima: trellis_models::ModelMaxima::default(),
            model_cache_bytes: DEFAULT_MODEL_CACHE_BYTES,
            model_worker: None,
        }
    }
}
