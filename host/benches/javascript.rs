//! Prints what a JavaScript app costs the host, for the JavaScript thermostat: compiling versus
//! loading a cached component, instantiating from a prepared component, one `on-reading` that
//! sends commands, and the least linear memory an instance runs in.
//!
//! Run with `cargo bench -p trellis-host --bench javascript`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use trellis_guest_artifacts::{CLASSROOM_THERMOSTAT_JS, read};
use trellis_host::capabilities::{Capabilities, ControllerSink};
use trellis_host::types::{Command, Error, InstanceInfo, Reading, Value};
use trellis_host::{AppComponent, Host, HostConfig, InstanceLimits};

/// Drops every command, so the figure is the host's and the guest's cost, not a sink's.
struct Discard;

impl ControllerSink for Discard {
    fn send(&self, _role: &str, _instance: Option<&str>, _command: Command) -> Result<(), Error> {
        Ok(())
    }
    fn instances(&self, _role: &str) -> Result<Vec<InstanceInfo>, Error> {
        Ok(vec![])
    }
}

fn main() {
    let cache = tempfile::tempdir().unwrap();
    let config = HostConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..HostConfig::default()
    };
    let component = read(CLASSROOM_THERMOSTAT_JS);
    let uncached = Host::new(HostConfig {
        cache_dir: None,
        ..config.clone()
    })
    .unwrap();
    let compile = time_each(2, || {
        uncached.load_app(&component).unwrap();
    });
    let host = Host::new(config).unwrap();
    host.load_app(&component).unwrap();
    let cached = time_each(10, || {
        host.load_app(&component).unwrap();
    });
    println!(
        "JavaScript thermostat component ({:.1} MiB)",
        component.len() as f64 / (1 << 20) as f64
    );
    report("  cold compile", &compile);
    report("  load from compile cache", &cached);

    let app = host.load_app(&component).unwrap();
    let caps = Capabilities {
        controllers: Arc::new(Discard),
        ..Capabilities::default()
    };
    let limits = InstanceLimits::default();
    let instantiate = time_each(200, || {
        drop(app.instantiate(caps.clone(), limits.clone()).unwrap());
    });
    report("instantiate from a prepared component", &instantiate);

    let mut instance = app.instantiate(caps.clone(), limits).unwrap();
    instance.init().unwrap();
    let mut sequence = 0;
    // Alternating hot and cool, so every reading changes the mode and sends two commands.
    let round_trip = time_each(5_000, || {
        sequence += 1;
        let celsius = if sequence % 2 == 0 { 20.0 } else { 29.0 };
        instance
            .on_reading(&temperature(sequence, celsius))
            .unwrap();
    });
    report("on-reading round trip with two commands", &round_trip);

    let least = (1..=256u64)
        .find(|mib| runs_within(&app, &caps, mib << 20))
        .expect("the thermostat runs within 256 MiB");
    println!("least linear memory an instance runs in: {least} MiB");
}

/// Whether an instance limited to `bytes` of memory starts and handles a reading.
fn runs_within(app: &AppComponent, caps: &Capabilities, bytes: u64) -> bool {
    let limits = InstanceLimits {
        memory_bytes: bytes as usize,
        ..InstanceLimits::default()
    };
    let Ok(mut instance) = app.instantiate(caps.clone(), limits) else {
        return false;
    };
    instance.init().is_ok() && instance.on_reading(&temperature(1, 29.0)).is_ok()
}

fn temperature(sequence: u64, celsius: f64) -> Reading {
    Reading {
        instance_id: "bench-1".into(),
        role: "temperature".into(),
        timestamp: 0,
        sequence,
        value: Value::Number(celsius),
    }
}

fn time_each(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect()
}

fn report(what: &str, samples: &[Duration]) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what}: p50 {:?}, p99 {:?} ({} runs)",
        at(0.5),
        at(0.99),
        sorted.len()
    );
}
