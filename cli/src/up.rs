//! `trellis up`: the control plane on this machine, with nothing else installed (SQLite file,
//! artifact store and compiled-component cache under one data directory).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

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
    /// Where readings and commands flow: `embedded` (in this process) or
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
    /// How long log lines are kept, in hours.
    #[arg(long, default_value_t = trellis_control::DEFAULT_LOG_RETENTION.as_secs() / 3600)]
    log_retention_hours: u64,
    /// The most the stored log lines may take, in MiB; beyond it the oldest go first.
    #[arg(long, default_value_t = trellis_control::DEFAULT_LOG_MAX_BYTES >> 20)]
    log_max_mb: u64,
    /// How long sensors' readings (and controllers' commands) are kept, in days.
    #[arg(long, default_value_t = trellis_control::DEFAULT_READINGS_RETENTION.as_secs() / 86_400)]
    readings_retention_days: u64,
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
    settings.metrics_token = args.metrics.metrics_token.clone();
    settings.metrics_listen = args.metrics.metrics_listen;
    settings.notify_limit = trellis_control::notify::rate_limit::NotifyLimit {
        count: args.notify_per_minute.max(1),
        per: Duration::from_secs(60),
    };
    settings.public_url = args.public_url;
    settings.allow_private_webhooks = args.allow_private_webhooks;
    settings.log_retention = Duration::from_secs(args.log_retention_hours.saturating_mul(3600));
    settings.log_max_bytes = args.log_max_mb.saturating_mul(1 << 20);
    settings.readings_retention =
        Duration::from_secs(args.readings_retention_days.saturating_mul(86_400));
    let data_dir = settings.data_dir.clone();
    let tick = Duration::from_millis(args.tick_ms);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let app = Application::build(settings.clone()).await?;
        let url = format!("http://{}", app.local_addr());
        println!("Trellis control plane on {url}");
        println!("  portal: {url}/ (in a browser; sign in with a user's name and password)");
        println!("  API docs: {url}/api/v1/docs");
        println!("  registry: {}", redact(&settings.database_url));
        match (app.metrics_addr(), &settings.metrics_token) {
            (Some(address), None) => println!("  metrics: http://{address}/metrics"),
            (Some(address), Some(_)) => {
                println!("  metrics: http://{address}/metrics and {url}/metrics (metrics token)")
            }
            (None, Some(_)) => println!("  metrics: {url}/metrics (metrics token)"),
            (None, None) => println!("  metrics: {url}/metrics (an admin's session)"),
        }
        if let Some(admin) = &app.first_admin {
            if admin.generated {
                println!(
                    "  first admin: `{}`, password `{}` (shown once; log in with `trellis login --url {url} --user {}`)",
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
                // The embedded node shares the control plane's bus; node processes reach
                // Kafka themselves.
                bus: (i == 1).then(|| app.bus()),
                // The embedded node's instances are counted on the control plane's `/metrics`,
                // its predictions with the control plane's.
                metrics: trellis_node::NodeMetrics::with_inference(app.inference_metrics()),
                metrics_listen: None,
                metrics_token: None,
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
                    .arg(crate::logging::format_arg())
                    .arg("node");
                if args.bus != "embedded" {
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
