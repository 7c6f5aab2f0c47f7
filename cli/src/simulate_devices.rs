//! `trellis simulate sensor|controller`: simulated devices that use the public device protocol
//! (the gateway and a device token), as real ones would. A simulated controller keeps the state
//! its commands set and reports it, so tests and people can see what the apps did.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use reqwest::blocking::Client;
use serde_json::{Map, json};
use trellis_protocol::api::{DeliveredCommand, NewReading};
use trellis_protocol::record::CommandRecord;
use trellis_protocol::{Blob, Value};

use crate::sensor_patterns::Pattern;

#[derive(clap::Subcommand)]
pub enum SimulateCommand {
    /// A sensor that sends readings.
    Sensor {
        #[command(flatten)]
        device: DeviceArgs,
        #[command(flatten)]
        sim: SensorSim,
    },
    /// A controller that carries out its commands and reports its state.
    Controller {
        #[command(flatten)]
        device: DeviceArgs,
    },
}

#[derive(clap::Args)]
pub struct DeviceArgs {
    /// The control plane, e.g. http://127.0.0.1:7878.
    #[arg(long, env = "TRELLIS_URL", default_value = "http://127.0.0.1:7878")]
    control_plane: String,
    /// The device's token, from its registration.
    #[arg(long, env = "TRELLIS_DEVICE_TOKEN", hide_env_values = true)]
    token: String,
}

impl DeviceArgs {
    fn url(&self, path: &str) -> String {
        format!(
            "{}/api/v1/device{path}",
            self.control_plane.trim_end_matches('/')
        )
    }
}

impl DeviceArgs {
    /// A device at `control_plane` with `token`.
    pub fn new(control_plane: &str, token: &str) -> DeviceArgs {
        DeviceArgs {
            control_plane: control_plane.to_string(),
            token: token.to_string(),
        }
    }
}

/// How a simulated sensor behaves.
#[derive(clap::Args)]
pub struct SensorSim {
    /// steady (always --value), ramp (--value, then +--step each reading), noise (--value
    /// ± --step) or wave (the range such a sensor sees, by --type).
    #[arg(long, default_value = "wave")]
    pub pattern: String,
    #[arg(long, default_value_t = 21.0)]
    pub value: f64,
    #[arg(long, default_value_t = 0.5)]
    pub step: f64,
    /// The sensor's type, for the wave pattern.
    #[arg(long = "type", default_value = "temperature")]
    pub type_name: String,
    /// Readings per second.
    #[arg(long, default_value_t = 1.0)]
    pub rate_hz: f64,
    /// Stop after this many readings (default: never).
    #[arg(long)]
    pub count: Option<u64>,
    /// The first reading's sequence number.
    #[arg(long, default_value_t = 1)]
    pub first_sequence: u64,
    /// A camera: send the PNG and JPEG images in this directory in turn (by name), instead
    /// of numbers.
    #[arg(long, conflicts_with = "script")]
    pub frames: Option<PathBuf>,
    /// Send the values in this file, one JSON value a line (21.5, [1, 2], "text" or an
    /// object), in order; once through unless --count asks for more.
    #[arg(long)]
    pub script: Option<PathBuf>,
}

pub fn simulate(command: SimulateCommand) -> anyhow::Result<()> {
    match command {
        SimulateCommand::Sensor { device, sim } => run_sensor(&device, &sim, true),
        SimulateCommand::Controller { device } => run_controller(&device, true),
    }
}

/// Sends readings as `sim` says; `verbose` prints each.
pub fn run_sensor(device: &DeviceArgs, sim: &SensorSim, verbose: bool) -> anyhow::Result<()> {
    let client = crate::client::builder()?
        .timeout(Duration::from_secs(60))
        .build()?;
    let wave = Pattern::for_type(&sim.type_name);
    let value_at = |n: u64| -> anyhow::Result<f64> {
        Ok(match sim.pattern.as_str() {
            "steady" => sim.value,
            "ramp" => sim.value + sim.step * n as f64,
            // A fixed pseudo-random walk, so runs repeat.
            "noise" => sim.value + sim.step * (((n * 2654435761) % 2001) as f64 / 1000.0 - 1.0),
            "wave" => match wave.value(n) {
                trellis_host::types::Value::Number(v) => v,
                _ => sim.value,
            },
            other => anyhow::bail!("unknown pattern `{other}`: use steady, ramp, noise or wave"),
        })
    };
    let (frames, count) = match (&sim.frames, &sim.script) {
        (Some(dir), _) => (load_frames(dir)?, sim.count),
        (None, Some(file)) => {
            let script = load_script(file)?;
            let once = script.len() as u64;
            (script, sim.count.or(Some(once)))
        }
        (None, None) => (Vec::new(), sim.count),
    };
    let pause = Duration::from_secs_f64(1.0 / sim.rate_hz.max(0.001));
    let mut n = 0;
    while count.is_none_or(|c| n < c) {
        let sequence = sim.first_sequence + n;
        let (value, shown) = if frames.is_empty() {
            let number = value_at(n)?;
            (Value::Number(number), number.to_string())
        } else {
            let frame = &frames[(n % frames.len() as u64) as usize];
            (frame.value.clone(), frame.name.clone())
        };
        let reading = NewReading {
            value: serde_json::to_value(&value)?,
            sequence: Some(sequence),
            timestamp_ms: None,
        };
        send_until_accepted(&client, device, &reading)?;
        if verbose {
            println!("sent #{sequence} {shown}");
        }
        n += 1;
        std::thread::sleep(pause);
    }
    Ok(())
}

/// One value a simulated sensor sends from a file: an image, or a line of a script.
struct Frame {
    /// What to print when it is sent.
    name: String,
    /// The reading's value, as the gateway takes it.
    value: Value,
}

/// The values of a script: one JSON value a line; blank lines are skipped.
fn load_script(path: &Path) -> anyhow::Result<Vec<Frame>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--script {}", path.display()))?;
    let mut values = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let value = Value::from_json_text(line).with_context(|| {
            format!("{}:{}: not a JSON value: {line}", path.display(), index + 1)
        })?;
        values.push(Frame {
            name: line.to_string(),
            value,
        });
    }
    anyhow::ensure!(
        !values.is_empty(),
        "--script {}: no values in it",
        path.display()
    );
    Ok(values)
}

/// The PNG and JPEG images in `dir`, sorted by name.
fn load_frames(dir: &Path) -> anyhow::Result<Vec<Frame>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("--frames {}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| media_type(p).is_some())
        .collect();
    paths.sort();
    let mut frames = Vec::new();
    for path in paths {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        frames.push(Frame {
            name: path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into(),
            value: Value::Bytes(Blob {
                media_type: media_type(&path).unwrap_or_default().into(),
                data: bytes,
            }),
        });
    }
    anyhow::ensure!(
        !frames.is_empty(),
        "--frames {}: no .png, .jpg or .jpeg images there",
        dir.display()
    );
    Ok(frames)
}

fn media_type(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        _ => None,
    }
}

/// Carries out commands and reports the state they set, forever; `verbose` prints each.
pub fn run_controller(device: &DeviceArgs, verbose: bool) -> anyhow::Result<()> {
    let client = crate::client::builder()?
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut state = Map::new();
    state.insert("commands".into(), json!(0));
    report(&client, device, &state)?;
    // The delivery of the last command received: each poll acknowledges it, and a command that
    // comes again (its acknowledgement was lost) is not carried out twice.
    let mut last: Option<u64> = None;
    loop {
        let url = match last {
            Some(ack) => device.url(&format!("/commands?ack={ack}")),
            None => device.url("/commands"),
        };
        let delivered = match client
            .get(url)
            .bearer_auth(&device.token)
            .send()
            .and_then(|r| r.error_for_status())
        {
            Ok(response) => response
                .json::<Vec<DeliveredCommand>>()
                .context("reading commands")?,
            Err(e) if e.status().is_some_and(|s| s.is_client_error()) => {
                anyhow::bail!("the gateway refused this controller: {e}")
            }
            Err(e) => {
                eprintln!("control plane unreachable ({e}); trying again");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        let mut commands: Vec<CommandRecord> = Vec::new();
        for command in delivered {
            if last.is_none_or(|last| command.delivery > last) {
                last = Some(command.delivery);
                commands.push(command.record);
            }
        }
        for record in &commands {
            let command = &record.command;
            for param in &command.params {
                state.insert(param.name.clone(), param.value.to_json());
            }
            state.insert("last-command".into(), json!(command.name));
            let done = state["commands"].as_u64().unwrap_or(0) + 1;
            state.insert("commands".into(), json!(done));
            if verbose {
                let params: Vec<String> = command
                    .params
                    .iter()
                    .map(|p| format!("{}={}", p.name, p.value.to_json()))
                    .collect();
                println!(
                    "{} from {}: {}",
                    command.name,
                    record.deployment,
                    params.join(" ")
                );
            }
        }
        if !commands.is_empty() {
            report(&client, device, &state)?;
        }
    }
}

/// Posts a reading, retrying while the control plane is away or the bus is full, so no reading
/// is skipped.
fn send_until_accepted(
    client: &Client,
    device: &DeviceArgs,
    reading: &NewReading,
) -> anyhow::Result<()> {
    loop {
        match client
            .post(device.url("/readings"))
            .bearer_auth(&device.token)
            .json(reading)
            .send()
        {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) if response.status().is_client_error() => {
                let status = response.status();
                anyhow::bail!(
                    "the gateway refused a reading ({status}): {}",
                    response.text().unwrap_or_default()
                )
            }
            Ok(_) | Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

fn report(
    client: &Client,
    device: &DeviceArgs,
    state: &Map<String, serde_json::Value>,
) -> anyhow::Result<()> {
    client
        .post(device.url("/state"))
        .bearer_auth(&device.token)
        .json(state)
        .send()?
        .error_for_status()?;
    Ok(())
}
