//! What a node reports of itself: CPU and memory use, load, CPU temperature where the OS
//! exposes it, and a performance figure measured once at start.

use std::time::Instant;

use sha2::{Digest, Sha256};
use sysinfo::{Components, System};

use trellis_protocol::node::Metrics;

/// Samples the machine.
pub struct Probe {
    system: System,
    components: Components,
    performance: f64,
}

impl Probe {
    /// Starts sampling and runs the start-up benchmark.
    pub fn new() -> Probe {
        let mut system = System::new();
        system.refresh_cpu_usage();
        system.refresh_memory();
        Probe {
            system,
            components: Components::new_with_refreshed_list(),
            performance: benchmark(),
        }
    }

    /// Current figures (CPU use is measured since the previous sample).
    pub fn sample(&mut self) -> Metrics {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.components.refresh(false);
        let temperature_c = self
            .components
            .iter()
            .filter_map(|c| c.temperature())
            .filter(|t| t.is_finite())
            .map(f64::from)
            .reduce(f64::max);
        Metrics {
            cpu_percent: f64::from(self.system.global_cpu_usage()),
            memory_used_mb: self.system.used_memory() as f64 / 1048576.0,
            memory_total_mb: self.system.total_memory() as f64 / 1048576.0,
            load_1m: System::load_average().one,
            temperature_c,
            performance: self.performance,
        }
    }
}

/// MB/s of SHA-256 over 4 MiB: a fixed piece of CPU work, so faster machines score higher. The
/// best of several runs, so a moment of contention at start does not mark a node slow for good.
fn benchmark() -> f64 {
    let data = vec![0x5au8; 4 << 20];
    let fastest = (0..7)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(Sha256::digest(&data));
            let took = started.elapsed();
            std::thread::sleep(std::time::Duration::from_millis(20));
            took
        })
        .min()
        .unwrap_or_default();
    4.0 / fastest.as_secs_f64().max(1e-6)
}
