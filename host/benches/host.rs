//! Prints how fast the host is: compiling versus loading a cached component, instantiating from
//! a prepared component, and one `on-reading` round trip that sends one controller command.
//!
//! Run with `cargo bench -p trellis-host --bench host`.

use std::sync::Arc;
use std::time::Duration;

use trellis_guest_artifacts::{CLASSROOM_THERMOSTAT, ECHO, read};
use trellis_host::capabilities::Capabilities;
use trellis_host::types::{Reading, Value};
use trellis_host::{Host, HostConfig, InstanceLimits};
use trellis_host_test_support::{DiscardControllers, time_each};

fn main() {
    let cache = tempfile::tempdir().unwrap();
    let config = HostConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..HostConfig::default()
    };
    let thermostat = read(CLASSROOM_THERMOSTAT);

    let uncached = Host::new(HostConfig {
        cache_dir: None,
        ..config.clone()
    })
    .unwrap();
    let compile = time_each(3, || {
        uncached.load_app(&thermostat).unwrap();
    });
    let host = Host::new(config).unwrap();
    host.load_app(&thermostat).unwrap();
    let cached = time_each(10, || {
        host.load_app(&thermostat).unwrap();
    });
    println!("thermostat component ({} KiB)", thermostat.len() / 1024);
    report("  cold compile", &compile);
    report("  load from compile cache", &cached);

    let echo = host.load_app(&read(ECHO)).unwrap();
    let caps = Capabilities {
        controllers: Arc::new(DiscardControllers),
        ..Capabilities::default()
    };
    let limits = InstanceLimits::default();

    let instantiate = time_each(5_000, || {
        drop(echo.instantiate(caps.clone(), limits.clone()).unwrap());
    });
    report("instantiate from a prepared component", &instantiate);

    let mut instance = echo.instantiate(caps, limits).unwrap();
    instance.init().unwrap();
    let mut sequence = 0;
    let mut reading = Reading {
        instance_id: "bench-1".into(),
        role: "in".into(),
        timestamp: 0,
        sequence: 0,
        value: Value::Number(21.5),
    };
    let round_trip = time_each(100_000, || {
        sequence += 1;
        reading.sequence = sequence;
        instance.on_reading(&reading).unwrap();
    });
    report("on-reading round trip with one command", &round_trip);
    let total: Duration = round_trip.iter().sum();
    println!(
        "  throughput: {:.0} readings/s on one core",
        round_trip.len() as f64 / total.as_secs_f64()
    );
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
