//! Recording backends and helpers that the host's and the models' tests share: a host sized for
//! tests, a log that keeps its lines, recorded controllers and readings, and the thermostat check;
//! and the child processes of a process, for the model workers' tests.

mod processes;

pub use processes::children_with_argument;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use trellis_host::capabilities::{Capabilities, ControllerSink, LogSink, MemoryStateStore};
use trellis_host::types::{Command, Error, InstanceInfo, Level, Param, Reading, Value};
use trellis_host::{AppComponent, Host, HostConfig, InstanceLimits};

/// A host sized for tests. Its compile cache is shared by every test run, so each component is
/// compiled once per change rather than once per test.
pub fn host() -> Host {
    // Beside the test binaries (target/debug), so `cargo clean` removes it.
    let cache_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("trellis-test-compiled")))
        .unwrap_or_else(|| std::env::temp_dir().join("trellis-test-compiled"));
    Host::new(HostConfig {
        max_instances: 32,
        cache_dir: Some(cache_dir),
        ..HostConfig::default()
    })
    .expect("creating the host")
}

pub fn load(host: &Host, path: &str) -> AppComponent {
    host.load_app(&trellis_guest_artifacts::read(path))
        .unwrap_or_else(|e| panic!("loading {path}: {e}"))
}

/// Keeps every log line.
#[derive(Default)]
pub struct RecordingLog(pub Mutex<Vec<(Level, String)>>);

impl RecordingLog {
    pub fn lines(&self) -> Vec<(Level, String)> {
        self.0.lock().unwrap().clone()
    }
}

impl LogSink for RecordingLog {
    fn write(&self, level: Level, line: &str) {
        self.0.lock().unwrap().push((level, line.to_string()));
    }
}

/// Accepts the given roles and keeps every command sent to them.
pub struct RecordingControllers {
    pub roles: Vec<String>,
    pub sent: Mutex<Vec<(String, Command)>>,
}

impl RecordingControllers {
    pub fn new(roles: &[&str]) -> RecordingControllers {
        RecordingControllers {
            roles: roles.iter().map(|r| r.to_string()).collect(),
            sent: Mutex::default(),
        }
    }

    /// The commands so far as `role:name:params`, for compact assertions.
    pub fn sent(&self) -> Vec<String> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .map(|(role, c)| {
                let params: Vec<String> = c
                    .params
                    .iter()
                    .map(|p| format!("{}={}", p.name, show(&p.value)))
                    .collect();
                format!("{role}:{}:{}", c.name, params.join(","))
            })
            .collect()
    }
}

impl ControllerSink for RecordingControllers {
    fn send(
        &self,
        role: &str,
        _instance_id: Option<&str>,
        command: Command,
        _deadline: Option<Instant>,
    ) -> Result<(), Error> {
        if !self.roles.iter().any(|r| r == role) {
            return Err(trellis_host::capabilities::controllers::unknown(role));
        }
        self.sent.lock().unwrap().push((role.to_string(), command));
        Ok(())
    }

    fn instances(&self, role: &str) -> Result<Vec<InstanceInfo>, Error> {
        Ok(vec![InstanceInfo {
            id: format!("{role}-1"),
            location: "test/site/room".into(),
            labels: vec![],
        }])
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::Number(n) => n.to_string(),
        Value::Text(t) => t.clone(),
        other => format!("{other:?}"),
    }
}

/// Runs `f` `runs` times and returns how long each run took, for the benchmarks.
pub fn time_each(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let start = std::time::Instant::now();
            f();
            start.elapsed()
        })
        .collect()
}

/// Accepts every command and drops it, so a benchmark's figure is the host's and the guest's
/// cost, not a sink's.
pub struct DiscardControllers;

impl ControllerSink for DiscardControllers {
    fn send(
        &self,
        _role: &str,
        _instance: Option<&str>,
        _command: Command,
        _deadline: Option<Instant>,
    ) -> Result<(), Error> {
        Ok(())
    }

    fn instances(&self, _role: &str) -> Result<Vec<InstanceInfo>, Error> {
        Ok(vec![])
    }
}

/// Capabilities for the thermostat, recording what it does.
pub struct Recorded {
    pub caps: Capabilities,
    pub log: Arc<RecordingLog>,
    pub controllers: Arc<RecordingControllers>,
    pub state: Arc<MemoryStateStore>,
}

pub fn recorded(config: &[(&str, f64)]) -> Recorded {
    let log = Arc::new(RecordingLog::default());
    let controllers = Arc::new(RecordingControllers::new(&["fan", "ac"]));
    let state = Arc::new(MemoryStateStore::default());
    let caps = Capabilities {
        log: log.clone(),
        controllers: controllers.clone(),
        state: state.clone(),
        config: number_params(config),
        ..Capabilities::default()
    };
    Recorded {
        caps,
        log,
        controllers,
        state,
    }
}

/// Deployment parameters that are all numbers: `[("fan-above", 25.0)]`.
pub fn number_params(config: &[(&str, f64)]) -> Vec<Param> {
    config
        .iter()
        .map(|(name, n)| Param {
            name: name.to_string(),
            value: Value::Number(*n),
        })
        .collect()
}

pub fn reading(role: &str, sequence: u64, value: Value) -> Reading {
    Reading {
        instance_id: format!("{role}-1"),
        role: role.into(),
        timestamp: 1_700_000_000_000 + sequence,
        sequence,
        value,
    }
}

pub fn temperature(sequence: u64, celsius: f64) -> Reading {
    reading("temperature", sequence, Value::Number(celsius))
}

/// Limits with a short deadline, so a runaway guest costs the test little time.
pub fn quick_limits() -> InstanceLimits {
    InstanceLimits {
        call_deadline: Duration::from_millis(200),
        memory_bytes: 32 << 20,
        ..InstanceLimits::default()
    }
}

/// Runs the attack `what` (a text reading) in a fresh instance of the hostile guest `hostile`
/// while a thermostat (the component `neighbour`) runs beside it, checks the thermostat still
/// works afterwards, and returns the attack's outcome, the hostile instance's log and the
/// instance itself.
pub fn attack(
    host: &Host,
    hostile: &str,
    neighbour: &str,
    what: &str,
    limits: InstanceLimits,
) -> (
    Result<(), trellis_host::CallError>,
    Arc<RecordingLog>,
    trellis_host::AppInstance,
) {
    let neighbour_rec = recorded(&[]);
    let mut neighbour = load(host, neighbour)
        .instantiate(neighbour_rec.caps.clone(), limits.clone())
        .unwrap();
    neighbour.init().unwrap();

    let log = Arc::new(RecordingLog::default());
    let caps = Capabilities {
        log: log.clone(),
        ..Capabilities::default()
    };
    let mut instance = load(host, hostile).instantiate(caps, limits).unwrap();
    instance.init().unwrap();
    let outcome = instance.on_reading(&reading("attack", 1, Value::Text(what.into())));

    neighbour.on_reading(&temperature(1, 29.0)).unwrap();
    assert_eq!(
        neighbour_rec.controllers.sent(),
        ["fan:set-speed:speed=2", "ac:set-mode:mode=cool,setpoint=22"],
        "the neighbour stopped working after `{what}`"
    );
    (outcome, log, instance)
}

/// Starts a thermostat from `app`, sends it one hot reading, and checks it switched the room to
/// cooling: the quickest proof that a loaded component works end to end.
pub fn assert_thermostat_cools(app: &AppComponent) {
    let rec = recorded(&[]);
    let mut instance = app.instantiate(rec.caps, quick_limits()).unwrap();
    instance.init().unwrap();
    instance.on_reading(&temperature(1, 29.0)).unwrap();
    assert_eq!(
        rec.controllers.sent(),
        ["fan:set-speed:speed=2", "ac:set-mode:mode=cool,setpoint=22"]
    );
}
