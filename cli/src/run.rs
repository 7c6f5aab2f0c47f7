//! `trellis run`: an app developer's local loop, the way `spin up` is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use trellis_host::capabilities::{
    Capabilities, LogNotifications, MemoryStateStore, RecentReadings,
};
use trellis_host::manifest::AppManifest;
use trellis_host::types::{InstanceInfo, Reading};
use trellis_host::{AppComponent, AppInstance, CacheOutcome, Host, HostConfig, InstanceLimits};

use crate::console::{Console, ConsoleControllers, ConsoleLog, WatchedState, show};
use crate::readings::{self, Recorded};
use crate::sensor_patterns::Pattern;

#[derive(clap::Args)]
pub struct RunArgs {
    /// The app component (a .wasm file built for wasm32-wasip2 or by `cargo component build`).
    app: PathBuf,
    /// The app's manifest. Default: `trellis.toml` in the current directory.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Replay readings from a JSON-lines file instead of simulating them.
    #[arg(long)]
    readings: Option<PathBuf>,
    /// Simulated readings per sensor role.
    #[arg(long, default_value_t = 24)]
    count: u64,
    /// Pause between readings, in milliseconds.
    #[arg(long, default_value_t = 200)]
    interval_ms: u64,
    /// Call `on-tick` after every N readings (0: never).
    #[arg(long, default_value_t = 0)]
    tick_every: u64,
    /// Set a parameter, e.g. `--set fan-above=25` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_assignment)]
    set: Vec<(String, String)>,
    /// Where compiled components are cached. Default: ~/.cache/trellis/compiled.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

fn parse_assignment(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.trim().to_string(), value.to_string()))
        .ok_or_else(|| format!("`{text}` should look like NAME=VALUE"))
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let manifest = load_manifest(args.manifest.as_deref())?;
    let config = manifest
        .config_values(&args.set)
        .map_err(anyhow::Error::msg)?;
    let bytes =
        std::fs::read(&args.app).with_context(|| format!("reading {}", args.app.display()))?;

    let console = Console::new();
    let host = Host::new(HostConfig {
        cache_dir: Some(cache_dir(args.cache_dir)),
        ..HostConfig::default()
    })?;
    let started = Instant::now();
    let app = host
        .load_app(&bytes)
        .with_context(|| format!("loading {}", args.app.display()))?;
    let how = match app.cache_outcome() {
        CacheOutcome::Compiled => "compiled",
        CacheOutcome::Loaded => "loaded from the compile cache",
    };
    console.event(
        "loaded",
        &format!("{} ({how} in {:?})", args.app.display(), started.elapsed()),
    );

    let sensors = Arc::new(RecentReadings::new(simulated_instances(&manifest.sensors)));
    let controllers = Arc::new(ConsoleControllers {
        console: console.clone(),
        roles: simulated_instances(&manifest.controllers),
        sent: AtomicUsize::new(0),
    });
    let log = Arc::new(ConsoleLog(console.clone()));
    let caps = Capabilities {
        sensors: sensors.clone(),
        controllers: controllers.clone(),
        log: log.clone(),
        state: Arc::new(WatchedState {
            console: console.clone(),
            inner: MemoryStateStore::default(),
        }),
        notifications: Arc::new(LogNotifications(log)),
        config,
        ..Capabilities::default()
    };
    let mut limits = InstanceLimits::default();
    if let Some(mb) = manifest.resources.memory_mb {
        limits.memory_bytes = mb as usize * (1 << 20);
    }

    let mut instance = start(&app, &caps, &limits)?;
    if args.readings.is_none() {
        for (role, spec) in &manifest.sensors {
            console.event(
                "simulate",
                &format!("{role}: {}", Pattern::for_type(&spec.kind).description),
            );
        }
    }
    let plan = match &args.readings {
        Some(path) => readings::load(path)?,
        None => simulated_readings(&manifest, args.count),
    };
    if plan.is_empty() {
        bail!(
            "nothing to send: the manifest declares no sensor roles and no --readings file was given"
        );
    }

    let mut sequences: BTreeMap<String, u64> = BTreeMap::new();
    let mut failures = 0;
    for (n, recorded) in plan.into_iter().enumerate() {
        let instance_id = recorded
            .instance
            .unwrap_or_else(|| simulated_id(&recorded.role));
        let sequence = sequences.entry(instance_id.clone()).or_default();
        *sequence += 1;
        let reading = Reading {
            instance_id,
            role: recorded.role,
            timestamp: now_ms(),
            sequence: *sequence,
            value: recorded.value,
        };
        console.event(
            "reading",
            &format!(
                "{}/{} #{} {}",
                reading.role,
                reading.instance_id,
                reading.sequence,
                show(&reading.value)
            ),
        );
        sensors.record(&reading);
        failures += report(&console, instance.on_reading(&reading));
        if args.tick_every > 0 && (n as u64 + 1).is_multiple_of(args.tick_every) {
            failures += report(&console, instance.on_tick());
        }
        if instance.is_stopped() {
            console.event("restart", "starting a fresh instance after the trap");
            instance = start(&app, &caps, &limits)?;
        }
        std::thread::sleep(Duration::from_millis(args.interval_ms));
    }
    let commands = controllers.sent.load(Ordering::Relaxed);
    console.event(
        "done",
        &format!(
            "{} readings, {commands} commands, {failures} failed calls",
            sequences.values().sum::<u64>()
        ),
    );
    if failures > 0 {
        bail!("{failures} calls into the app failed (see above)");
    }
    Ok(())
}

fn start(
    app: &AppComponent,
    caps: &Capabilities,
    limits: &InstanceLimits,
) -> anyhow::Result<AppInstance> {
    let mut instance = app.instantiate(caps.clone(), limits.clone())?;
    instance.init().context("the app's init failed")?;
    Ok(instance)
}

fn report(console: &Console, result: Result<(), trellis_host::CallError>) -> usize {
    match result {
        Ok(()) => 0,
        Err(error) => {
            console.event("error", &error.to_string());
            1
        }
    }
}

fn load_manifest(path: Option<&Path>) -> anyhow::Result<AppManifest> {
    let path = path.unwrap_or(Path::new("trellis.toml"));
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading the app manifest {} (pass --manifest PATH to name another)",
            path.display()
        )
    })?;
    AppManifest::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn cache_dir(chosen: Option<PathBuf>) -> PathBuf {
    chosen.unwrap_or_else(|| {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        home.join(".cache/trellis/compiled")
    })
}

fn simulated_id(role: &str) -> String {
    format!("sim-{role}-1")
}

/// One simulated instance per role, in a simulated room.
fn simulated_instances<R>(roles: &BTreeMap<String, R>) -> BTreeMap<String, Vec<InstanceInfo>> {
    roles
        .keys()
        .map(|role| {
            let info = InstanceInfo {
                id: simulated_id(role),
                location: "local/dev/room-1".into(),
                labels: vec![],
            };
            (role.clone(), vec![info])
        })
        .collect()
}

/// `count` readings of every sensor role, interleaved.
fn simulated_readings(manifest: &AppManifest, count: u64) -> Vec<Recorded> {
    let patterns: Vec<(String, Pattern)> = manifest
        .sensors
        .iter()
        .map(|(role, spec)| (role.clone(), Pattern::for_type(&spec.kind)))
        .collect();
    (0..count)
        .flat_map(|n| {
            patterns.iter().map(move |(role, pattern)| Recorded {
                role: role.clone(),
                instance: None,
                value: pattern.value(n),
            })
        })
        .collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
