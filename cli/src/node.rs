//! `trellis node`: run a node daemon; or, as a platform configurer, register a node and print
//! what its machine needs to join (`join`), list nodes, give one a new token, drain, undrain or
//! remove one.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use trellis_protocol::api::{JOIN_CA_CERT_PATH, NODE_ENV_PATH, NewNode, Node, join_instructions};

use crate::client::Api;
use crate::output::Output;
use crate::registry::parse_pair;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct NodeArgs {
    #[command(subcommand)]
    command: Option<NodeCommand>,
    /// The control plane, e.g. http://10.0.0.1:7878.
    #[arg(long, env = "TRELLIS_CONTROL_PLANE")]
    control_plane: Option<String>,
    /// The node's token, from `trellis node join` (or its registration).
    #[arg(long, env = "TRELLIS_NODE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Where the node keeps fetched and compiled components and its apps' state.
    #[arg(long, default_value = "trellis-node")]
    data_dir: PathBuf,
    /// How often each running app's `on-tick` is called, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    tick_ms: u64,
    /// How often each app's changed state is checkpointed to the control plane, in
    /// milliseconds: a deployment moved off a dead node resumes from its last checkpoint.
    #[arg(long, default_value_t = trellis_node::DEFAULT_CHECKPOINT_EVERY.as_millis() as u64)]
    checkpoint_ms: u64,
    /// The most log lines kept on disk while the control plane cannot be reached; beyond it
    /// the oldest are dropped, and the control plane is told how many.
    #[arg(long, default_value_t = trellis_node::DEFAULT_LOG_BUFFER_LINES)]
    log_buffer_lines: usize,
    /// The most bytes of readings each app instance keeps per sensor role for
    /// `sensors.history` (the newest is always kept); older ones are dropped first.
    #[arg(long, default_value_t = trellis_node::DEFAULT_READING_HISTORY_BYTES)]
    reading_history_bytes: usize,
    /// The address space of each model's ONNX Runtime worker process, in MiB: its allocations
    /// beyond it fail.
    #[arg(long, default_value_t = crate::model_worker::DEFAULT_MEMORY_MB)]
    model_worker_memory_mb: u64,
    /// Where the apps' readings come from and commands go: the control plane's
    /// `kafka://HOST:PORT`. Without it, apps here get ticks but no readings.
    #[arg(long, env = "TRELLIS_BUS")]
    bus: Option<String>,
    #[command(flatten)]
    metrics: crate::metrics_args::MetricsArgs,
    #[command(flatten)]
    kafka: crate::kafka_args::KafkaArgs,
}

#[derive(clap::Subcommand)]
enum NodeCommand {
    /// Register a node (as a platform configurer) and print the command and systemd unit that
    /// make a VM run it.
    Join {
        name: String,
        /// A label placement can match, `key=value` (repeatable).
        #[arg(long = "label", value_parser = parse_pair)]
        labels: Vec<(String, String)>,
    },
    /// List nodes: state (`up`, `down`, `draining`, `drained`...), labels, last heartbeat.
    List,
    /// Move a node's instances to other live nodes, then give it no new work (it shows
    /// `draining`, then `drained`).
    Drain {
        /// The node's name or id.
        node: String,
    },
    /// Let a drained node take work again.
    Undrain {
        /// The node's name or id.
        node: String,
    },
    /// Remove a node: its token is refused at once and its instances move to other nodes.
    Remove {
        /// The node's name or id.
        node: String,
    },
    /// A node's CPU, memory, temperature and instances at each heartbeat of the last 15 minutes.
    Load {
        /// The node's name or id.
        node: String,
    },
    /// Give a node a new token; the old one is refused at once, so its daemon must be
    /// restarted with the new one.
    RotateToken {
        /// The node's name or id.
        node: String,
    },
}

pub fn node(args: NodeArgs, output: Output) -> anyhow::Result<()> {
    if let Some(command) = args.command {
        return manage(command, output);
    }
    let control_plane = args
        .control_plane
        .context("--control-plane URL is needed (or `trellis node join` to get one)")?;
    let token = args
        .token
        .context("--token is needed: `trellis node join NAME` registers a node and prints it")?;
    run_daemon(trellis_node::NodeConfig {
        control_plane,
        token,
        data_dir: args.data_dir,
        tick: Duration::from_millis(args.tick_ms),
        checkpoint_every: Duration::from_millis(args.checkpoint_ms),
        metrics: trellis_node::NodeMetrics::default(),
        metrics_listen: args.metrics.metrics_listen,
        metrics_token: args.metrics.metrics_token,
        ca_cert: crate::client::ca_cert_flag(),
        log_buffer_lines: args.log_buffer_lines,
        reading_history_bytes: args.reading_history_bytes,
        model_worker: Some(crate::model_worker::worker(
            args.model_worker_memory_mb,
            trellis_models::ModelMaxima::default().deadline_ms,
        )?),
        // A node in its own process reaches readings through Kafka only: the embedded bus
        // lives in the control plane's process.
        bus: match args.bus.as_deref() {
            None => None,
            Some(url) if trellis_bus::is_embedded(url) => anyhow::bail!(
                "--bus embedded lives inside `trellis up`; a node process needs --bus kafka://HOST:PORT"
            ),
            Some(url) => {
                let bus = trellis_bus::connect_with(url, &args.kafka.security())?;
                bus.check()?;
                Some(bus)
            }
        },
    })
}

/// Runs a node daemon in this process until it ends.
pub fn run_daemon(config: trellis_node::NodeConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    println!("node daemon for {}", config.control_plane);
    runtime.block_on(trellis_node::run(config))
}

fn manage(command: NodeCommand, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    match command {
        NodeCommand::Join { name, labels } => join(&api, &name, labels),
        NodeCommand::List => {
            output.list(
                &api.get("/nodes")?,
                &[
                    ("ID", "/id"),
                    ("NAME", "/name"),
                    ("STATE", "/state"),
                    ("LABELS", "/labels"),
                    ("LAST SEEN", "/last_seen"),
                ],
            );
            Ok(())
        }
        NodeCommand::Drain { node } => {
            let answer = api.post(&format!("/nodes/{node}/drain"), &serde_json::json!({}))?;
            let state = answer["state"].as_str().unwrap_or("?");
            output.done(
                &answer,
                format!(
                    "{node} is {state}: it gets no new work, and its instances move as soon as                      another node can take them (`trellis node list` shows `drained` once it is empty)"
                ),
            );
            Ok(())
        }
        NodeCommand::Load { node } => {
            let load = api.get(&format!("/nodes/{node}/load"))?;
            output.list(
                &load["points"],
                &[
                    ("AT", "/at"),
                    ("CPU %", "/cpu"),
                    ("MEMORY MB", "/memory/used_mb"),
                    ("OF MB", "/memory/total_mb"),
                    ("TEMPERATURE °C", "/temperature"),
                    ("INSTANCES", "/instances"),
                ],
            );
            Ok(())
        }
        NodeCommand::Undrain { node } => {
            let answer = api.post(&format!("/nodes/{node}/undrain"), &serde_json::json!({}))?;
            output.done(&answer, format!("{node} takes work again"));
            Ok(())
        }
        NodeCommand::Remove { node } => {
            api.delete(&format!("/nodes/{node}"))?;
            println!(
                "removed node {node}: its token is refused and its instances move to other nodes;                  stop its daemon (`systemctl disable --now trellis-node`)"
            );
            Ok(())
        }
        NodeCommand::RotateToken { node } => {
            let answer = api.post(&format!("/nodes/{node}/token"), &serde_json::json!({}))?;
            let new: Node = crate::client::typed("/nodes/{id}/token", answer.clone())?;
            let token = new.token.unwrap_or_default();
            output.done(
                &answer,
                format!(
                    "new token for node {} (shown once): {token}\n\
                     Its daemon's old token is refused from now on. On its machine, set \
                     TRELLIS_NODE_TOKEN={token} in {NODE_ENV_PATH} (readable by root only), then \
                     `systemctl restart trellis-node` (or start the daemon by hand again).",
                    new.name
                ),
            );
            Ok(())
        }
    }
}

fn join(api: &Api, name: &str, labels: Vec<(String, String)>) -> anyhow::Result<()> {
    let new = NewNode {
        name: name.to_string(),
        labels: labels.into_iter().collect(),
    };
    let node: Node = api.post_as("/nodes", &new)?;
    let token = node.token.unwrap_or_default();
    let mut join = join_instructions(&api.session.url, &token, node.bus.as_deref());
    // The CA this CLI trusts the control plane by is the one the node needs too.
    let ca = crate::client::ca_cert_flag().or_else(|| api.session.ca_cert.clone());
    let ca_pem = match &ca {
        Some(ca) => Some(
            std::fs::read_to_string(ca)
                .with_context(|| format!("reading the CA certificate {}", ca.display()))?,
        ),
        None => None,
    };
    if ca_pem.is_some() {
        join = join.trusting_ca_cert();
    }
    println!(
        "registered node {name}. On the VM, as root, with the trellis binary in /usr/local/bin, \
         make its user and its token file ({}, readable by root only):\n",
        join.env_path
    );
    println!("{}\n", join.setup);
    if let Some(pem) = ca_pem {
        println!("save the control plane's CA certificate as {JOIN_CA_CERT_PATH}:\n");
        println!("{}\n", trellis_protocol::api::save_ca_cert_step(&pem));
    }
    println!("then run it by hand:\n\n  {}\n", join.command);
    println!("or as a service, {}:\n", join.unit_path);
    println!("{}", join.unit);
    println!("then: {}", join.enable);
    Ok(())
}
