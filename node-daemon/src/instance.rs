//! One assigned app instance on its own thread: start it, call `on-tick` every tick, and when it
//! traps (or its `init` fails) start a fresh one after a backoff that doubles up to a ceiling.
//! Its state is shared with the supervisor, which reports it in each heartbeat.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use trellis_host::types::Param;
use trellis_host::{AppComponent, Capabilities, InstanceLimits};

use crate::protocol::InstanceReport;

/// The first wait before a restart; each failure in a row doubles it, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Failures in a row after which the instance is reported `failed` (it is still retried).
pub const FAILED_AFTER: u32 = 3;
/// Running this long without a failure forgives earlier ones.
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// A running instance, as the supervisor holds it.
pub struct RunningInstance {
    pub component_sha256: String,
    status: Arc<Mutex<InstanceReport>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RunningInstance {
    pub fn start(
        deployment: String,
        component_sha256: String,
        component: Arc<AppComponent>,
        config: Vec<Param>,
        limits: InstanceLimits,
        tick: Duration,
    ) -> RunningInstance {
        let status = Arc::new(Mutex::new(InstanceReport {
            deployment: deployment.clone(),
            state: "starting".into(),
            detail: String::new(),
            restarts: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (status, stop) = (status.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("instance {deployment}"))
                .spawn(move || supervise(&component, config, limits, tick, &status, &stop))
                .expect("spawning an instance thread")
        };
        RunningInstance {
            component_sha256,
            status,
            stop,
            thread: Some(thread),
        }
    }

    pub fn report(&self) -> InstanceReport {
        self.status.lock().expect("instance status lock").clone()
    }
}

impl Drop for RunningInstance {
    /// Stops the instance: its thread sees the flag within one tick (or one call's deadline).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn supervise(
    component: &AppComponent,
    config: Vec<Param>,
    limits: InstanceLimits,
    tick: Duration,
    status: &Mutex<InstanceReport>,
    stop: &AtomicBool,
) {
    let set = |state: &str, detail: &str, restart: bool| {
        let mut status = status.lock().expect("instance status lock");
        status.state = state.into();
        status.detail = detail.into();
        if restart {
            status.restarts += 1;
        }
    };
    let mut failures_in_a_row = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let caps = Capabilities {
            config: config.clone(),
            ..Capabilities::default()
        };
        let started = Instant::now();
        let failure = match component.instantiate(caps, limits.clone()) {
            Err(e) => e.to_string(),
            Ok(mut instance) => match instance.init() {
                Err(e) => e.to_string(),
                Ok(()) => {
                    set("running", "", false);
                    run(&mut instance, tick, stop, &set)
                }
            },
        };
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if started.elapsed() >= STABLE_AFTER {
            failures_in_a_row = 0;
        }
        failures_in_a_row += 1;
        let state = if failures_in_a_row >= FAILED_AFTER {
            "failed"
        } else {
            "restarting"
        };
        tracing::warn!("instance failed ({failures_in_a_row} in a row): {failure}");
        set(state, &failure, true);
        let backoff = FIRST_BACKOFF
            .saturating_mul(1 << (failures_in_a_row - 1).min(16))
            .min(MAX_BACKOFF);
        sleep_unless_stopped(backoff, stop);
    }
}

/// Ticks the instance until it traps (returning the error) or the stop flag is set.
fn run(
    instance: &mut trellis_host::AppInstance,
    tick: Duration,
    stop: &AtomicBool,
    set: &dyn Fn(&str, &str, bool),
) -> String {
    loop {
        sleep_unless_stopped(tick, stop);
        if stop.load(Ordering::Relaxed) {
            return String::new();
        }
        if let Err(e) = instance.on_tick() {
            if !e.instance_survives() {
                return e.to_string();
            }
            // The app reported an error of its own and goes on: keep it running, say why.
            set("running", &e.to_string(), false);
        }
    }
}

fn sleep_unless_stopped(duration: Duration, stop: &AtomicBool) {
    let until = Instant::now() + duration;
    while !stop.load(Ordering::Relaxed) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}
