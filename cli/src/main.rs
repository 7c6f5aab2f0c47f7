//! `trellis`: the one binary of the platform.

mod bindable;
mod client;
mod collect;
mod console;
mod demo;
mod deploy;
mod deployment;
mod jobs;
mod kafka_args;
mod logging;
mod login;
mod logs;
mod metrics_args;
mod model_try;
mod model_worker;
mod node;
mod notify;
mod output;
mod push;
mod readings;
mod registry;
mod run;
mod schedule;
mod sensor_history;
mod sensor_patterns;
mod sessions;
mod simulate_devices;
mod status;
mod up;
mod users;
mod watch;
// Starting a project and building it into a component.
mod build;
mod new;

use clap::{Parser, Subcommand};

use crate::output::Output;

#[derive(Parser)]
#[command(
    name = "trellis",
    version,
    about = "Run IoT and AI apps as sandboxed WebAssembly components"
)]
struct Cli {
    /// Print the API's JSON instead of tables, for scripts.
    #[arg(long, global = true)]
    json: bool,
    /// How the process's own log (on stderr) is written; `RUST_LOG` filters it, e.g.
    /// `RUST_LOG=trellis_node=debug`.
    #[arg(long, global = true, value_enum, default_value_t = logging::LogFormat::Text)]
    log_format: logging::LogFormat,
    /// A CA certificate (PEM) to trust for the control plane's HTTPS, beside the public roots:
    /// the `ca.pem` that `trellis up --tls self-signed` printed. `trellis login` remembers it;
    /// `trellis node` (the daemon) trusts it.
    #[arg(long, global = true, env = "TRELLIS_CA_CERT")]
    ca_cert: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one app component on this machine against simulated (or recorded) sensor readings,
    /// printing its logs, state changes and controller commands as they happen.
    Run(run::RunArgs),
    /// Start an app or a model contract in Rust, Python or JavaScript: a folder that builds and
    /// runs as it is written.
    New(new::NewArgs),
    /// Build the app or contract project in DIR (default: here) into a component with its
    /// language's toolchain, and print the component's path and size.
    Build(build::BuildArgs),
    /// Start the control plane on this machine (SQLite and local files; nothing else needed).
    Up(Box<up::UpArgs>),
    /// Run a node daemon that runs what the control plane assigns it (`trellis node join`
    /// registers a node and prints how a VM joins; `list`, `drain`, `undrain`, `remove` and
    /// `rotate-token` manage nodes).
    Node(node::NodeArgs),
    /// Log in to a control plane; later commands use the saved session.
    Login(login::LoginArgs),
    /// Users (admins), and your own password.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Your login sessions (anyone's, for admins): list them, end one.
    #[command(subcommand)]
    Session(sessions::SessionCommand),
    /// Sensor types: what a reading carries.
    #[command(subcommand)]
    SensorType(registry::SensorTypeCommand),
    /// Controller types: the commands they accept.
    #[command(subcommand)]
    ControllerType(registry::ControllerTypeCommand),
    /// Sensor instances at locations.
    #[command(subcommand)]
    Sensor(registry::DeviceCommand),
    /// Controller instances at locations.
    #[command(subcommand)]
    Controller(registry::DeviceCommand),
    /// Model packages (data scientists).
    #[command(subcommand)]
    Model(push::ModelCommand),
    /// App components (app developers).
    #[command(subcommand)]
    App(push::AppCommand),
    /// What you may bind into a deployment (end users): the instances of a type you may use,
    /// or the places holding them (--places).
    Bindable(bindable::BindableArgs),
    /// Deploy an app, bound to sensors and controllers, on a schedule (end users).
    Deploy(deploy::DeployArgs),
    /// One deployment's life: list, show, stop, start, delete, set, history, upgrade, rollback.
    #[command(subcommand)]
    Deployment(deployment::DeploymentCommand),
    /// What is deployed, where, and in what state.
    Status,
    /// Remove now the stored artifacts no model or app version refers to (admins; this also
    /// runs hourly and after every deletion).
    Collect,
    /// Simulated sensors and controllers that talk to the device gateway.
    #[command(subcommand)]
    Simulate(simulate_devices::SimulateCommand),
    /// Notifications: the SMTP server (admins), who gets a deployment's notifications by
    /// e-mail and signed webhook (its owner), and what was delivered.
    #[command(subcommand)]
    Notify(notify::NotifyCommand),
    /// Prediction jobs: a CSV or zip of inputs through a model in the background (submit, list,
    /// status, cancel, results).
    #[command(subcommand)]
    Job(jobs::JobCommand),
    /// Log lines and lifecycle events you may read: filter them, follow them (-f), or download
    /// them (--format ndjson|csv).
    Logs(logs::LogsArgs),
    // Readings history and the places instances are at.
    /// A sensor's stored readings over a range, downsampled to the points asked for.
    Readings(sensor_history::ReadingsArgs),
    /// Every site, building and room with instances, and how many of each type are there.
    Locations,
    // Live views: follow what happens now; preview a schedule.
    /// Print the live events of the sensors, controllers, deployments, nodes and models named,
    /// as they happen (one line each, or --json).
    Watch(watch::WatchArgs),
    /// Schedules: preview a cron expression's next start times.
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// Serve one model in ONNX Runtime to the process that started this one, over stdin and
    /// stdout: what `trellis up` and `trellis node` run each model in.
    #[command(hide = true)]
    ModelWorker,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::install(cli.log_format);
    client::trust(cli.ca_cert);
    let output = Output { json: cli.json };
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::New(args) => new::new(args),
        Command::Build(args) => build::build(args, output),
        Command::Up(args) => up::up(*args),
        Command::Node(args) => node::node(args, output),
        Command::Login(args) => login::login(args),
        Command::User(command) => users::user(command, output),
        Command::Session(command) => sessions::session(command, output),
        Command::SensorType(command) => registry::sensor_type(command, output),
        Command::ControllerType(command) => registry::controller_type(command, output),
        Command::Sensor(command) => registry::device("sensors", command, output),
        Command::Controller(command) => registry::device("controllers", command, output),
        Command::Model(command) => push::model(command, output),
        Command::App(command) => push::app(command, output),
        Command::Bindable(args) => bindable::bindable(args, output),
        Command::Deploy(args) => deploy::deploy(args, output),
        Command::Deployment(command) => deployment::deployment(command, output),
        Command::Status => status::status(output),
        Command::Collect => collect::collect(output),
        Command::Simulate(command) => simulate_devices::simulate(command),
        Command::Notify(command) => notify::notify(command, output),
        Command::Job(command) => jobs::job(command, output),
        Command::Logs(args) => logs::logs(args, output),
        Command::Readings(args) => sensor_history::readings(args, output),
        Command::Locations => sensor_history::locations(output),
        Command::Watch(args) => watch::watch(args, output),
        Command::Schedule(command) => schedule::schedule(command, output),
        Command::ModelWorker => trellis_models::serve_model_worker(),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
