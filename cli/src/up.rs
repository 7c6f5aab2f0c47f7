//! `trellis up`: the control plane on this machine, with nothing else installed (SQLite file,
//! artifact store and compiled-component cache under one data directory).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use trellis_control::auth::login_limit::LoginLimit;
use trellis_control::{Application, Settings};

#[derive(clap::Args)]
pub struct UpArgs {
    /// Where the registry, artifacts and compiled components live.
    #[arg(long, default_value = "trellis-data")]
    data_dir: PathBuf,
    /// Address to serve the API on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// The registry database: `sqlite://FILE` or `postgres://...`. Default: SQLite in the data
    /// directory.
    #[arg(long, env = "TRELLIS_DATABASE_URL")]
    database: Option<String>,
    /// The first admin's password on a fresh registry. Default: one is made up and printed once.
    #[arg(long, env = "TRELLIS_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Largest upload accepted, in MiB.
    #[arg(long, default_value_t = 64)]
    max_upload_mb: usize,
    /// Local nodes: one runs in this process, the rest as `trellis node` processes (0: none;
    /// nodes on other machines join with `trellis node join`).
    #[arg(long, default_value_t = 1)]
    nodes: u32,
    /// How often nodes report, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    heartbeat_ms: u64,
    /// Heartbeats a node may miss before its instances move elsewhere.
    #[arg(long, default_value_t = 3)]
    missed_heartbeats: u32,
    /// How often each running app's `on-tick` is called on the local nodes, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    tick_ms: u64,
    /// How often the local nodes checkpoint each app's changed state to the control plane, in
    /// milliseconds.
    #[arg(long, default_value_t = trellis_node::DEFAULT_CHECKPOINT_EVERY.as_millis() as u64)]
    checkpoint_ms: u64,
    /// Where readings and commands flow: `embedded` (in this process; each topic keeps up to
    /// 10,000 readings for its slowest reader, `embedded?max-messages=N` sets another bound) or
    /// `kafka://HOST:PORT[,HOST:PORT...]`, which node processes can reach too.
    #[arg(long, env = "TRELLIS_BUS", default_value = "embedded")]
    bus: String,
    /// How many notifications each deployment may send a minute; the rest are held back and
    /// counted in one summary message.
    #[arg(long, default_value_t = 10)]
    notify_per_minute: u32,
    /// Where people reach this control plane, for the links in notifications (default: the
    /// address it listens on).
    #[arg(long, env = "TRELLIS_PUBLIC_URL")]
    public_url: Option<String>,
    /// Let end users name webhooks on this machine or a private network (admins always may).
    #[arg(long)]
    allow_private_webhooks: bool,
    /// Register devices given no users list for every user (`*`), as before access was
    /// explicit; by default such a device is no end user's until a configurer adds them.
    #[arg(long)]
    open_devices: bool,
    /// How long log lines are kept, in hours.
    #[arg(long, default_value_t = trellis_control::DEFAULT_LOG_RETENTION.as_secs() / 3600)]
    log_retention_hours: u64,
    /// The most the stored log lines may take, in MiB; beyond it the oldest go first.
    #[arg(long, default_value_t = trellis_control::DEFAULT_LOG_MAX_BYTES >> 20)]
    log_max_mb: u64,
    /// How long sensors' readings (and controllers' commands) are kept, in days.
    #[arg(long, default_value_t = trellis_control::DEFAULT_READINGS_RETENTION.as_secs() / 86_400)]
    readings_retention_days: u64,
    /// How long a request may take to arrive and be answered, in seconds (uploads and
    /// long-polls get longer); a slower one is answered 408.
    #[arg(long, default_value_t = trellis_control::DEFAULT_REQUEST_TIMEOUT.as_secs())]
    request_timeout_s: u64,
    /// How many API requests are served at once (long-polls apart); more are answered 503.
    #[arg(long, default_value_t = trellis_control::DEFAULT_MAX_CONCURRENT_REQUESTS)]
    max_concurrent_requests: usize,
    /// How many connections the API keeps open at once (devices, nodes and browsers hold
    /// theirs); more wait to be accepted until one closes. Keep it below `ulimit -n`.
    #[arg(long, default_value_t = trellis_control::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Login attempts one client address may make at once; then one more a second (429).
    #[arg(long, default_value_t = LoginLimit::default().per_address.burst)]
    login_attempts_per_address: u32,
    /// Login attempts for one user name at once; then one more every 6 s (429).
    #[arg(long, default_value_t = LoginLimit::default().per_name.burst)]
    login_attempts_per_name: u32,
    /// The most memory a model package's contract may ask for (`limits.memory-mb` in
    /// model.toml), in MiB; an upload asking more is refused.
    #[arg(long, default_value_t = trellis_models::ModelMaxima::default().memory_mb)]
    max_model_memory_mb: u32,
    /// The longest deadline a model package may ask for (`limits.deadline-ms`), in
    /// milliseconds.
    #[arg(long, default_value_t = trellis_models::ModelMaxima::default().deadline_ms)]
    max_model_deadline_ms: u64,
    /// The largest tensor a model package may declare in model.toml, in MiB.
    #[arg(long, default_value_t = trellis_models::ModelMaxima::default().tensor_bytes >> 20)]
    max_model_tensor_mb: u64,
    /// The most memory the models loaded for predictions may hold together, in MiB (estimated
    /// by their package files); beyond it the least recently used are dropped until asked for.
    #[arg(long, default_value_t = trellis_control::DEFAULT_MODEL_CACHE_BYTES >> 20)]
    model_cache_mb: u64,
    /// The address space of each model's ONNX Runtime worker process, in MiB: its allocations
    /// beyond it fail. A model run may take at most --max-model-deadline-ms.
    #[arg(long, default_value_t = crate::model_worker::DEFAULT_MEMORY_MB)]
    model_worker_memory_mb: u64,
    /// Set up a demo on a fresh registry: a classroom at two sites with simulated devices, the
    /// example models and the smart-classroom app deployed at both.
    #[arg(long)]
    demo: bool,
    /// For --demo: the repository's examples directory.
    #[arg(long, default_value = "examples")]
    examples: PathBuf,
    /// For --demo: where the built example components are. Default:
    /// $CARGO_TARGET_DIR/wasm32-wasip2/release.
    #[arg(long)]
    components: Option<PathBuf>,
    #[command(flatten)]
    metrics: crate::metrics_args::MetricsArgs,
    #[command(flatten)]
    kafka: crate::kafka_args::KafkaArgs,
    /// Serve HTTPS (API, portal, /metrics) with this certificate: PEM, the server's first, then
    /// its chain. Needs --tls-key.
    #[arg(long, requires = "tls_key", conflicts_with = "tls")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// `self-signed`: serve HTTPS with a certificate signed by a CA made for this control plane
    /// on its first start and kept in DATA_DIR/tls; nodes and CLIs trust that CA (`ca.pem`) with
    /// --ca-cert.
    #[arg(long, value_enum)]
    tls: Option<TlsMode>,
    /// With --tls self-signed: a name (DNS name or IP address) nodes and people reach this
    /// control plane by, for its certificate beside localhost, 127.0.0.1 and this host's name
    /// (repeatable).
    #[arg(long = "tls-name", requires = "tls")]
    tls_names: Vec<String>,
}

/// How `trellis up --tls` gets its certificate.
#[derive(Clone, Copy, clap::ValueEnum)]
enum TlsMode {
    /// A CA and server certificate of its own, made once under the data directory.
    SelfSigned,
}

pub fn up(args: UpArgs) -> anyhow::Result<()> {
    let mut settings = Settings::local(args.data_dir);
    settings.listen = args.listen;
    if let Some(database) = args.database {
        settings.database_url = database;
    }
    settings.admin_password = args.admin_password;
    settings.max_upload_bytes = args.max_upload_mb << 20;
    settings.heartbeat_interval = Duration::from_millis(args.heartbeat_ms);
    settings.missed_heartbeats = args.missed_heartbeats;
    settings.bus = args.bus.clone();
    settings.kafka_security = args.kafka.security();
    settings.metrics_token = args.metrics.metrics_token.clone();
    settings.metrics_listen = args.metrics.metrics_listen;
    settings.notify_limit = trellis_control::notify::rate_limit::NotifyLimit {
        count: args.notify_per_minute.max(1),
        per: Duration::from_secs(60),
    };
    settings.public_url = args.public_url;
    settings.allow_private_webhooks = args.allow_private_webhooks;
    settings.open_devices = args.open_devices;
    settings.log_retention = Duration::from_secs(args.log_retention_hours.saturating_mul(3600));
    settings.log_max_bytes = args.log_max_mb.saturating_mul(1 << 20);
    settings.readings_retention =
        Duration::from_secs(args.readings_retention_days.saturating_mul(86_400));
    // The CA the nodes started here trust: the one made for a self-signed setup, else the one
    // given with --ca-cert (a private CA that signed --tls-cert).
    let mut ca_cert = crate::client::ca_cert_flag();
    if let Some(TlsMode::SelfSigned) = args.tls {
        let mut names: Vec<String> = trellis_control::tls::self_signed::host_name()
            .into_iter()
            .collect();
        if !args.listen.ip().is_unspecified() {
            names.push(args.listen.ip().to_string());
        }
        names.extend(args.tls_names.iter().cloned());
        let made =
            trellis_control::tls::self_signed::ensure(&settings.data_dir.join("tls"), &names)?;
        settings.tls = Some(made.server);
        ca_cert = Some(std::path::absolute(&made.ca_cert)?);
        crate::client::trust(ca_cert.clone());
    } else if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        settings.tls = Some(trellis_control::tls::TlsFiles { cert, key });
    }
    settings.node_ca_cert = ca_cert.clone();
    settings.request_timeout = Duration::from_secs(args.request_timeout_s.max(1));
    settings.max_concurrent_requests = args.max_concurrent_requests.max(1);
    settings.max_connections = args.max_connections.max(1);
    settings.login_limit.per_address.burst = args.login_attempts_per_address.max(1);
    settings.login_limit.per_name.burst = args.login_attempts_per_name.max(1);
    settings.model_maxima = trellis_models::ModelMaxima {
        memory_mb: args.max_model_memory_mb,
        deadline_ms: args.max_model_deadline_ms,
        tensor_bytes: args.max_model_tensor_mb.saturating_mul(1 << 20),
    };
    settings.model_cache_bytes = args.model_cache_mb.saturating_mul(1 << 20);
    settings.model_worker = Some(crate::model_worker::worker(
        args.model_worker_memory_mb,
        args.max_model_deadline_ms,
    )?);
    let data_dir = settings.data_dir.clone();
    let tick = Duration::from_millis(args.tick_ms);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let app = Application::build(settings.clone()).await?;
        let url = app.url();
        println!("Trellis control plane on {url}");
        let login_ca = match (&args.tls, &ca_cert) {
            (Some(TlsMode::SelfSigned), Some(ca)) => {
                println!(
                    "  TLS CA certificate: {} (CLIs and nodes trust it with --ca-cert)",
                    ca.display()
                );
                format!(" --ca-cert {}", ca.display())
            }
            _ => String::new(),
        };
        println!("  portal: {url}/ (in a browser; sign in with a user's name and password)");
        println!("  API docs: {url}/api/v1/docs");
        println!("  registry: {}", redact(&settings.database_url));
        let scheme = if settings.tls.is_some() { "https" } else { "http" };
        match (app.metrics_addr(), &settings.metrics_token) {
            (Some(address), None) => println!("  metrics: {scheme}://{address}/metrics"),
            (Some(address), Some(_)) => {
                println!("  metrics: {scheme}://{address}/metrics and {url}/metrics (metrics token)")
            }
            (None, Some(_)) => println!("  metrics: {url}/metrics (metrics token)"),
            (None, None) => println!("  metrics: {url}/metrics (an admin's session)"),
        }
        if let Some(admin) = &app.first_admin {
            if admin.generated {
                println!(
                    "  first admin: `{}`, password `{}` (shown once; log in with `trellis{login_ca} login --url {url} --user {}`)",
                    admin.name, admin.password, admin.name
                );
            } else {
                println!("  first admin: `{}` with the password you set", admin.name);
            }
        }
        let mut children = LocalNodes(Vec::new());
        for i in 1..=args.nodes {
            let name = format!("local-{i}");
            let token = app.issue_node_token(&name).await?;
            let config = trellis_node::NodeConfig {
                control_plane: url.clone(),
                token,
                data_dir: data_dir.join("nodes").join(&name),
                tick,
                checkpoint_every: Duration::from_millis(args.checkpoint_ms),
                log_buffer_lines: trellis_node::DEFAULT_LOG_BUFFER_LINES,
                reading_history_bytes: trellis_node::DEFAULT_READING_HISTORY_BYTES,
                model_worker: settings.model_worker.clone(),
                // The embedded node shares the control plane's bus; node processes reach
                // Kafka themselves.
                bus: (i == 1).then(|| app.bus()),
                // The embedded node's instances are counted on the control plane's `/metrics`,
                // its predictions with the control plane's.
                metrics: trellis_node::NodeMetrics::with_inference(app.inference_metrics()),
                metrics_listen: None,
                metrics_token: None,
                ca_cert: ca_cert.clone(),
            };
            if i == 1 {
                app.register_metrics(|registry| config.metrics.register_instances(registry));
                println!("  node {name}: in this process");
                tokio::spawn(async move {
                    if let Err(e) = trellis_node::run(config).await {
                        eprintln!("the embedded node stopped: {e:#}");
                    }
                });
            } else {
                let mut command = std::process::Command::new(std::env::current_exe()?);
                command
                    .arg("--log-format")
                    .arg(crate::logging::format_arg());
                if let Some(ca) = &config.ca_cert {
                    command.arg("--ca-cert").arg(ca);
                }
                command.arg("node");
                if !trellis_bus::is_embedded(&args.bus) {
                    command.arg("--bus").arg(&args.bus);
                }
                let child = command
                    .arg("--control-plane")
                    .arg(&config.control_plane)
                    .arg("--data-dir")
                    .arg(&config.data_dir)
                    .arg("--tick-ms")
                    .arg(args.tick_ms.to_string())
                    .arg("--checkpoint-ms")
                    .arg(args.checkpoint_ms.to_string())
                    .env("TRELLIS_NODE_TOKEN", &config.token)
                    .envs(args.kafka.env())
                    .stdout(std::process::Stdio::null())
                    .spawn()?;
                println!("  node {name}: process {}", child.id());
                children.0.push(child);
            }
        }
        if args.demo {
            let admin = app.first_admin.clone().context(
                "--demo sets up a fresh registry: use an empty --data-dir",
            )?;
            let files = crate::demo::DemoFiles {
                examples: args.examples.clone(),
                components: args.components.clone().unwrap_or_else(crate::demo::default_components),
            };
            let demo_url = url.clone();
            std::thread::spawn(move || {
                match crate::demo::start(&demo_url, &admin.password, &files) {
                    Ok(message) => println!("{message}"),
                    Err(e) => eprintln!("the demo could not start: {e:#}"),
                }
            });
        }
        let readings = app.readings();
        tokio::select! {
            served = app.run_until_stopped() => served?,
            _ = tokio::signal::ctrl_c() => println!("stopping"),
        }
        // Readings accepted just before the stop are stored before the process ends.
        readings.flush().await;
        anyhow::Ok(())
    })
}

/// The node processes `trellis up` started, stopped with it.
struct LocalNodes(Vec<std::process::Child>);

impl Drop for LocalNodes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A database URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}
