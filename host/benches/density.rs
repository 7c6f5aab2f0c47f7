//! Prints how densely one process holds apps: N instances (`DENSITY_INSTANCES`, default 10,000)
//! of the Rust classroom thermostat, each started and `init`ed, then each fed a reading a second
//! for `DENSITY_SECONDS` (default 10): the resident memory each instance adds, how fast they
//! are instantiated, and the p50 and p99 of `on-reading` at that load. The pooling allocator is
//! sized for N instances of the thermostat's manifest (`memory-mb = 16`), as a node sizes it
//! from the manifests it runs.
//!
//! Run with `cargo bench -p trellis-host --bench density`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use trellis_guest_artifacts::{CLASSROOM_THERMOSTAT, read};
use trellis_host::capabilities::{Capabilities, MemoryStateStore};
use trellis_host::types::{Reading, Value};
use trellis_host::{Host, HostConfig, InstanceLimits};
use trellis_host_test_support::DiscardControllers;

/// The thermostat's `[resources] memory-mb`.
const MEMORY_MB: usize = 16;

fn main() {
    let count: usize = setting("DENSITY_INSTANCES", 10_000);
    let seconds: u64 = setting("DENSITY_SECONDS", 10);
    let host = Host::new(HostConfig {
        max_instances: u32::try_from(count).expect("a count of instances"),
        max_memory_bytes: MEMORY_MB << 20,
        ..HostConfig::default()
    })
    .expect("a host sized for the instances");
    let app = host.load_app(&read(CLASSROOM_THERMOSTAT)).unwrap();
    let limits = InstanceLimits {
        memory_bytes: MEMORY_MB << 20,
        ..InstanceLimits::default()
    };

    let before = resident_bytes();
    let started = Instant::now();
    let mut instances = Vec::with_capacity(count);
    for _ in 0..count {
        let caps = Capabilities {
            controllers: Arc::new(DiscardControllers),
            state: Arc::new(MemoryStateStore::default()),
            ..Capabilities::default()
        };
        let mut instance = app.instantiate(caps, limits.clone()).unwrap();
        instance.init().unwrap();
        instances.push(instance);
    }
    let instantiating = started.elapsed();
    let held = resident_bytes().saturating_sub(before);

    // Each instance a reading a second: one pass over all of them a second, then a rest.
    let mut calls = Vec::with_capacity(count * seconds as usize);
    let mut sequence = 0u64;
    for second in 0..seconds {
        let pass = Instant::now();
        for (i, instance) in instances.iter_mut().enumerate() {
            sequence += 1;
            let reading = Reading {
                instance_id: format!("thermostat-{i}"),
                role: "temperature".into(),
                timestamp: sequence,
                sequence: second + 1,
                // Hot and cool in turn: each reading switches the mode and sends commands.
                value: Value::Number(if (i as u64 + second).is_multiple_of(2) {
                    29.0
                } else {
                    20.0
                }),
            };
            let call = Instant::now();
            instance.on_reading(&reading).unwrap();
            calls.push(call.elapsed());
        }
        if let Some(rest) = Duration::from_secs(1).checked_sub(pass.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    calls.sort();
    let at = |q: f64| calls[((calls.len() - 1) as f64 * q).round() as usize];
    println!(
        "| thermostats (Rust) | resident per instance | instantiate + init | on-reading p50 | p99 | readings/s offered |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| {count} | {:.0} KiB ({:.2} GiB in all) | {:.0}/s | {:?} | {:?} | {count} |",
        held as f64 / count as f64 / 1024.0,
        held as f64 / (1u64 << 30) as f64,
        count as f64 / instantiating.as_secs_f64(),
        at(0.5),
        at(0.99),
    );
    // For scripts/bench's table of every goal's figures.
    println!(
        "figure: 3. density | {count} thermostats in one host: resident per instance, instantiate + init, on-reading p99 | {:.0} KiB, {:.0}/s, {:?}",
        held as f64 / count as f64 / 1024.0,
        count as f64 / instantiating.as_secs_f64(),
        at(0.99),
    );
}

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The process's resident set, from `/proc/self/statm` (pages).
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
