//! What a node reports of itself: CPU and memory use, load, CPU temperature where the OS
//! exposes it (hardware monitors through sysinfo, and Linux's thermal zones, which boards
//! such as the Raspberry Pi expose instead), and a performance figure measured once at start.

use std::path::Path;
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
            .chain(thermal_zones(Path::new(THERMAL_ZONES)))
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

/// Where Linux lists its thermal zones.
const THERMAL_ZONES: &str = "/sys/class/thermal";

/// The temperature of each thermal zone under `dir` (`thermal_zone*/temp`, in millidegrees
/// Celsius); none where there are none.
fn thermal_zones(dir: &Path) -> Vec<f64> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("thermal_zone"))
        .filter_map(|e| std::fs::read_to_string(e.path().join("temp")).ok())
        .filter_map(|text| text.trim().parse::<f64>().ok())
        .map(|millidegrees| millidegrees / 1000.0)
        .filter(|celsius| celsius.is_finite())
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thermal_zones_are_read_in_millidegrees_and_other_entries_ignored() {
        let dir = tempfile::tempdir().unwrap();
        for (zone, temp) in [("thermal_zone0", "45500\n"), ("thermal_zone1", "61250")] {
            std::fs::create_dir(dir.path().join(zone)).unwrap();
            std::fs::write(dir.path().join(zone).join("temp"), temp).unwrap();
        }
        std::fs::create_dir(dir.path().join("cooling_device0")).unwrap();
        std::fs::write(dir.path().join("cooling_device0/temp"), "99000").unwrap();
        let mut zones = thermal_zones(dir.path());
        zones.sort_by(f64::total_cmp);
        assert_eq!(zones, [45.5, 61.25]);
        assert!(thermal_zones(&dir.path().join("missing")).is_empty());
    }
}
