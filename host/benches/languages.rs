//! Prints what each guest language costs: the same thermostat written in Rust, Python and
//! JavaScript, each measured for component size, cold compile, load from the compile cache,
//! instantiation from the prepared component, memory held after `init`, and one `on-reading`
//! that changes the mode (two controller commands and a state write). One Markdown table.
//!
//! Run with `cargo bench -p trellis-host --bench languages` (a release build).

use std::sync::Arc;
use std::time::Duration;

use trellis_guest_artifacts::{
    CLASSROOM_THERMOSTAT, CLASSROOM_THERMOSTAT_JS, CLASSROOM_THERMOSTAT_PYTHON, read,
};
use trellis_host::capabilities::{Capabilities, MemoryStateStore};
use trellis_host::types::{Reading, Value};
use trellis_host::{Host, HostConfig, InstanceLimits};
use trellis_host_test_support::{DiscardControllers, time_each};

const THERMOSTATS: &[(&str, &str)] = &[
    ("Rust", CLASSROOM_THERMOSTAT),
    ("Python", CLASSROOM_THERMOSTAT_PYTHON),
    ("JavaScript", CLASSROOM_THERMOSTAT_JS),
];

fn main() {
    let cache = tempfile::tempdir().unwrap();
    let config = HostConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..HostConfig::default()
    };
    let uncached = Host::new(HostConfig {
        cache_dir: None,
        ..config.clone()
    })
    .unwrap();
    let host = Host::new(config).unwrap();
    let limits = InstanceLimits::default();

    println!(
        "| language | component | cold compile | load from cache (p50) | instantiate (p50) | memory after init | on-reading with commands (p50) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for &(language, path) in THERMOSTATS {
        let bytes = read(path);
        let compile = time_each(2, || {
            uncached.load_app(&bytes).unwrap();
        });
        host.load_app(&bytes).unwrap();
        let load = time_each(5, || {
            host.load_app(&bytes).unwrap();
        });
        let app = host.load_app(&bytes).unwrap();
        let caps = || Capabilities {
            controllers: Arc::new(DiscardControllers),
            state: Arc::new(MemoryStateStore::default()),
            ..Capabilities::default()
        };
        let instantiate = time_each(200, || {
            drop(app.instantiate(caps(), limits.clone()).unwrap());
        });

        let mut instance = app.instantiate(caps(), limits.clone()).unwrap();
        instance.init().unwrap();
        let memory = instance.memory_in_use();
        let mut sequence = 0u64;
        let on_reading = time_each(2_000, || {
            sequence += 1;
            // Alternating hot and cool: every reading switches the mode.
            let celsius = if sequence.is_multiple_of(2) {
                29.0
            } else {
                20.0
            };
            let reading = Reading {
                instance_id: "bench-1".into(),
                role: "temperature".into(),
                timestamp: sequence,
                sequence,
                value: Value::Number(celsius),
            };
            instance.on_reading(&reading).unwrap();
        });
        println!(
            "| {language} | {:.1} MB | {:.2} s | {} | {} | {:.1} MiB | {} |",
            bytes.len() as f64 / 1e6,
            p50(&compile).as_secs_f64(),
            show(p50(&load)),
            show(p50(&instantiate)),
            memory as f64 / (1 << 20) as f64,
            show(p50(&on_reading)),
        );
    }
}

fn p50(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn show(d: Duration) -> String {
    if d >= Duration::from_millis(1) {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.0} µs", d.as_secs_f64() * 1e6)
    }
}
