//! One assigned app instance on its own thread: start it, call `on-tick` every tick, and when it
//! traps (or its `init` fails) start a fresh one after a backoff that doubles up to a ceiling.
//! Its status is shared with the supervisor, which reports it in each heartbeat. Its app state
//! is its deployment's durable store: each call's writes are kept (with the reading's offset)
//! once it returns and dropped if it traps, and readings already in the state are skipped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use trellis_bus::Bus;
use trellis_host::capabilities::StateStore;
use trellis_host::{AppComponent, Capabilities, InstanceLimits};

use trellis_host::capabilities::RecentReadings;
use trellis_protocol::node::{BoundDevice, InstanceReport, InstanceState};

use crate::app_state::{AppStates, DeploymentStore};
use crate::log_shipping::InstanceLog;
use crate::telemetry::{DeploymentLabels, GroupLabels, NodeMetrics};
use crate::wiring::{Arrived, BusControllers, ReadingFeed, recent_readings};
use trellis_protocol::logs::LogLevel;

/// Where an instance keeps its app state: its deployment's store among the node's, and the
/// quota the app's manifest sets.
#[derive(Clone)]
pub struct StateHome {
    pub states: Arc<AppStates>,
    pub quota_bytes: usize,
}

/// What connects an instance to the data plane.
#[derive(Clone)]
pub struct Wiring {
    pub bus: Arc<dyn Bus>,
    pub sensors: Vec<BoundDevice>,
    pub controllers: Vec<BoundDevice>,
    /// The most bytes of readings kept per role for `sensors.history`.
    pub history_bytes: usize,
}

/// The first wait before a restart; each failure in a row doubles it, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Failures in a row after which the instance is reported `failed` (it is still retried).
pub const FAILED_AFTER: u32 = 3;
/// The most readings already waiting that are handled before the state is written: one write
/// for the run rather than one a reading, and a run short enough (about a millisecond of
/// thermostat calls) that ticks and the stop flag are not kept waiting.
const READINGS_PER_WRITE: usize = 256;
/// The wait before trying an unreachable bus again.
const BUS_RETRY: Duration = Duration::from_secs(1);
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
    // Each is one part of what an instance runs with; a struct for them would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        deployment: String,
        component_sha256: String,
        component: Arc<AppComponent>,
        base: Capabilities,
        log: Arc<InstanceLog>,
        limits: InstanceLimits,
        tick: Duration,
        wiring: Option<Wiring>,
        home: StateHome,
        metrics: NodeMetrics,
    ) -> RunningInstance {
        let status = Arc::new(Mutex::new(InstanceReport {
            deployment: deployment.clone(),
            state: InstanceState::Starting,
            detail: String::new(),
            restarts: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (status, stop) = (status.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("instance {deployment}"))
                .spawn(move || {
                    let measured = Measured::of(&metrics, &deployment);
                    let run = Run {
                        deployment: &deployment,
                        measured: &measured,
                        home: &home,
                        component: &component,
                        limits,
                        tick,
                        status: &status,
                        stop: &stop,
                        log: &log,
                    };
                    run.supervise(base, wiring)
                })
                .expect("spawning an instance thread")
        };
        RunningInstance {
            component_sha256,
            status,
            stop,
            thread: Some(thread),
        }
    }

    /// Asks the instance's thread to stop; it ends by itself once its guest's call in progress
    /// returns (at the call's deadline at the latest). Dropping the instance waits for that.
    pub fn tell_to_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether its thread has ended (so dropping the instance does not wait).
    pub fn has_ended(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    pub fn report(&self) -> InstanceReport {
        self.status.lock().expect("instance status lock").clone()
    }

    /// The thread the instance runs on: a restarted instance is a new thread, so tests tell a
    /// kept instance from a replaced one by it.
    #[cfg(test)]
    pub fn thread_id(&self) -> std::thread::ThreadId {
        self.thread
            .as_ref()
            .expect("a running instance has its thread")
            .thread()
            .id()
    }
}

impl Drop for RunningInstance {
    /// Stops the instance and waits for its thread, which sees the flag within one tick (or
    /// one call's deadline) and hands over its state. Only the node's shutdown waits so; the
    /// supervisor keeps instances told to stop until they have ended (see `Supervisor::apply`).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An instance's data plane, kept across restarts so its readings resume where they were.
struct Plane {
    sensors: Arc<RecentReadings>,
    controllers: Arc<BusControllers>,
    feed: ReadingFeed,
}

impl Plane {
    fn new(wiring: &Wiring, deployment: &str) -> Result<Plane, String> {
        Ok(Plane {
            feed: ReadingFeed::new(wiring.bus.as_ref(), deployment, &wiring.sensors)
                .map_err(|e| format!("subscribing to its sensors: {e}"))?,
            sensors: Arc::new(
                recent_readings(&wiring.sensors).with_max_bytes(wiring.history_bytes),
            ),
            controllers: Arc::new(BusControllers::new(
                wiring.bus.clone(),
                deployment.to_string(),
                wiring.controllers.clone(),
            )),
        })
    }
}

/// This deployment's series in the node's families, looked up once per instance.
struct Measured {
    handled: prometheus_client::metrics::counter::Counter,
    on_reading: prometheus_client::metrics::histogram::Histogram,
    reading_age: prometheus_client::metrics::histogram::Histogram,
    traps: prometheus_client::metrics::counter::Counter,
    restarts: prometheus_client::metrics::counter::Counter,
    bus_lag: prometheus_client::metrics::gauge::Gauge,
    bus_dropped: prometheus_client::metrics::gauge::Gauge,
}

impl Measured {
    fn of(metrics: &NodeMetrics, deployment: &str) -> Measured {
        let labels = DeploymentLabels {
            deployment: deployment.to_string(),
        };
        let group = GroupLabels {
            group: deployment.to_string(),
        };
        Measured {
            handled: metrics.handled.get_or_create_owned(&labels),
            on_reading: metrics.on_reading.get_or_create_owned(&labels),
            reading_age: metrics.reading_age.get_or_create_owned(&labels),
            traps: metrics.traps.get_or_create_owned(&labels),
            restarts: metrics.restarts.get_or_create_owned(&labels),
            bus_lag: metrics.bus_lag.get_or_create_owned(&group),
            bus_dropped: metrics.bus_dropped.get_or_create_owned(&group),
        }
    }
}

/// What an instance thread runs with.
struct Run<'a> {
    deployment: &'a str,
    measured: &'a Measured,
    home: &'a StateHome,
    component: &'a AppComponent,
    limits: InstanceLimits,
    tick: Duration,
    status: &'a Mutex<InstanceReport>,
    stop: &'a AtomicBool,
    /// Its log lines and lifecycle events, on their way to the control plane.
    log: &'a InstanceLog,
}

impl Run<'_> {
    fn set(&self, state: InstanceState, detail: &str, restart: bool) {
        let mut status = self.status.lock().expect("instance status lock");
        let restarted = status.restarts > 0
            && !status.detail.is_empty()
            && matches!(
                status.state,
                InstanceState::Restarting | InstanceState::Failed
            );
        // Running again after a failure, it keeps saying why it restarted: the failure is
        // visible for the backoff only, which a heartbeat or a reader can easily miss.
        status.detail = if state == InstanceState::Running && detail.is_empty() && restarted {
            format!("running again after: {}", status.detail)
        } else {
            detail.into()
        };
        status.state = state;
        if restart {
            status.restarts += 1;
        }
    }

    /// Takes its deployment's state store (once a previous instance of the deployment has let
    /// go of it), connects the instance to its sensors and controllers (waiting for a bus that
    /// cannot be reached yet), then starts it, and again after each failure, until told to
    /// stop; then hands its state to the control plane and lets the bus forget what that holds.
    fn supervise(&self, base: Capabilities, wiring: Option<Wiring>) {
        let lease = loop {
            let leased = self
                .home
                .states
                .lease(self.deployment, self.home.quota_bytes, self.stop);
            match leased {
                Ok(Some(lease)) => break lease,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!("{}: {e}", self.deployment);
                    self.set(InstanceState::Restarting, &e, false);
                    sleep_unless_stopped(BUS_RETRY, self.stop);
                    if self.stop.load(Ordering::Relaxed) {
                        return;
                    }
                }
            }
        };
        let store = lease.store();
        let mut plane: Option<Plane> = None;
        if let Some(wiring) = &wiring {
            // The app has not failed while the bus is away: neither a restart nor `failed`.
            while plane.is_none() && !self.stop.load(Ordering::Relaxed) {
                match Plane::new(wiring, self.deployment) {
                    Ok(connected) => plane = Some(connected),
                    Err(e) => {
                        tracing::warn!("waiting for the bus: {e}");
                        self.set(
                            InstanceState::Restarting,
                            &format!("waiting for the bus: {e}"),
                            false,
                        );
                        sleep_unless_stopped(BUS_RETRY, self.stop);
                    }
                }
            }
        }
        let mut failures_in_a_row = 0u32;
        while !self.stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let failure = self.start(&base, plane.as_mut(), store);
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            if started.elapsed() >= STABLE_AFTER {
                failures_in_a_row = 0;
            }
            failures_in_a_row += 1;
            let state = if failures_in_a_row >= FAILED_AFTER {
                InstanceState::Failed
            } else {
                InstanceState::Restarting
            };
            tracing::warn!("instance failed ({failures_in_a_row} in a row): {failure}");
            self.set(state, &failure, true);
            self.measured.restarts.inc();
            self.log.event("trapped", LogLevel::Error, &failure);
            let wait = backoff(failures_in_a_row);
            self.log.event(
                "restarted",
                LogLevel::Warn,
                &format!(
                    "restarting after {} ms ({failures_in_a_row} failure(s) in a row)",
                    wait.as_millis()
                ),
            );
            sleep_unless_stopped(wait, self.stop);
        }
        self.log.event("stopped", LogLevel::Info, "stopped");
        // The hand-over point: the last reading in hand is committed; once the control plane
        // holds it, the bus may forget it.
        self.home.states.last_checkpoint(self.deployment, store);
        if let Some(plane) = plane.as_mut() {
            release(plane, store, &self.home.states);
        }
    }

    /// One life of the instance, with its deployment's state and config and models as
    /// assigned; returns why it ended.
    fn start(
        &self,
        base: &Capabilities,
        plane: Option<&mut Plane>,
        store: &Arc<DeploymentStore>,
    ) -> String {
        let mut caps = Capabilities {
            config: base.config.clone(),
            models: base.models.clone(),
            notifications: base.notifications.clone(),
            log: base.log.clone(),
            state: store.clone() as Arc<dyn StateStore>,
            ..Capabilities::default()
        };
        if let Some(plane) = &plane {
            caps.sensors = plane.sensors.clone();
            caps.controllers = plane.controllers.clone();
        }
        match self.component.instantiate(caps, self.limits.clone()) {
            Err(e) => e.to_string(),
            Ok(mut instance) => match instance.init() {
                Err(e) => {
                    store.discard();
                    e.to_string()
                }
                Ok(()) => {
                    if let Err(e) = store.commit(None) {
                        return format!("saving its state: {e:?}");
                    }
                    self.set(InstanceState::Running, "", false);
                    self.log.event("started", LogLevel::Info, "started");
                    let set = |state: InstanceState, detail: &str, restart: bool| {
                        self.set(state, detail, restart)
                    };
                    let state = Kept {
                        store,
                        states: &self.home.states,
                    };
                    let calls = Calls {
                        tick: self.tick,
                        stop: self.stop,
                        set: &set,
                        measured: self.measured,
                    };
                    run(&mut instance, plane, &state, &calls)
                }
            },
        }
    }
}

/// How an instance's calls are made and told of: its tick, its stop flag, where its state is
/// reported, and its series.
#[derive(Clone, Copy)]
struct Calls<'a> {
    tick: Duration,
    stop: &'a AtomicBool,
    set: &'a dyn Fn(InstanceState, &str, bool),
    measured: &'a Measured,
}

/// An instance's state store, and the node's stores it belongs to.
struct Kept<'a> {
    store: &'a DeploymentStore,
    states: &'a AppStates,
}

/// Lets the bus forget the readings the state holds: those of the last checkpoint the control
/// plane accepted (a node taking the deployment over starts from it), or, with no control plane
/// taking checkpoints, those applied here.
fn release(plane: &mut Plane, store: &DeploymentStore, states: &AppStates) {
    let through = if states.checkpointing() {
        store.accepted_offsets()
    } else {
        store.offsets()
    };
    plane.feed.release(&through);
}

/// Feeds the instance its readings and ticks until it traps (returning the error) or the stop
/// flag is set. A reading already in the state (delivered again) is skipped. The state writes a
/// call made are kept with the reading's offset once it returns, whatever it returned, so a
/// reading that makes the app trap is not fed to it forever; a trap drops its writes. The
/// readings already waiting are handled as a run, whose state is written once at its end.
fn run(
    instance: &mut trellis_host::AppInstance,
    mut plane: Option<&mut Plane>,
    state: &Kept,
    calls: &Calls,
) -> String {
    let Calls {
        tick,
        stop,
        set,
        measured,
    } = *calls;
    let store = state.store;
    loop {
        let next_tick = Instant::now() + tick;
        while let Some(left) = next_tick.checked_duration_since(Instant::now()) {
            if stop.load(Ordering::Relaxed) {
                return String::new();
            }
            let wait = left.min(Duration::from_millis(50));
            let Some(plane) = plane.as_deref_mut() else {
                std::thread::sleep(wait);
                continue;
            };
            // A run of readings already waiting is handled with one write of the state.
            let mut next = plane.feed.next(wait);
            let mut handled = 0;
            while let Some(arrived) = next.take() {
                if let Err(why) = handle(instance, plane, store, arrived, calls) {
                    return match store.flush() {
                        Ok(()) => why,
                        Err(e) => format!("{why}; then saving its state: {e:?}"),
                    };
                }
                handled += 1;
                if handled < READINGS_PER_WRITE && !stop.load(Ordering::Relaxed) {
                    next = plane.feed.next(Duration::ZERO);
                }
            }
            if let Err(e) = store.flush() {
                return format!("saving its state: {e:?}");
            }
            release(plane, store, state.states);
            if let Some(lag) = plane.feed.lag() {
                measured.bus_lag.set(i64::try_from(lag).unwrap_or(i64::MAX));
            }
            if let Some(dropped) = plane.feed.dropped() {
                measured
                    .bus_dropped
                    .set(i64::try_from(dropped).unwrap_or(i64::MAX));
            }
        }
        if stop.load(Ordering::Relaxed) {
            return String::new();
        }
        let ticked = instance.on_tick();
        match ticked {
            Err(e) if !e.instance_survives() => {
                measured.traps.inc();
                store.discard();
                return e.to_string();
            }
            // The app reported an error of its own and goes on: keep it running, say why.
            Err(e) => set(InstanceState::Running, &e.to_string(), false),
            Ok(()) => {}
        }
        if let Err(e) = store.commit(None) {
            return format!("saving its state: {e:?}");
        }
    }
}

/// Hands `arrived` to the app, unless the state already has it, and applies what the call
/// wrote with the reading's offset (a malformed record's offset alone). `Err` says why the
/// instance ends: its app trapped, and the call's writes were dropped.
fn handle(
    instance: &mut trellis_host::AppInstance,
    plane: &mut Plane,
    store: &DeploymentStore,
    arrived: Arrived,
    calls: &Calls,
) -> Result<(), String> {
    if store.applied(&arrived.topic, arrived.offset) {
        return Ok(());
    }
    let position = Some((arrived.topic.as_str(), arrived.offset));
    let reading = match arrived.reading {
        Ok(reading) => reading,
        Err(why) => {
            tracing::warn!("skipping {why}");
            store.apply(position);
            return Ok(());
        }
    };
    plane.sensors.record(&reading);
    calls
        .measured
        .reading_age
        .observe(age_seconds(reading.timestamp));
    let started = Instant::now();
    let handled = instance.on_reading(&reading);
    calls
        .measured
        .on_reading
        .observe(started.elapsed().as_secs_f64());
    calls.measured.handled.inc();
    let trapped = handled.as_ref().is_err_and(|e| !e.instance_survives());
    if trapped {
        calls.measured.traps.inc();
        store.discard();
    }
    store.apply(position);
    match handled {
        Err(e) if trapped => Err(e.to_string()),
        Err(e) => {
            (calls.set)(InstanceState::Running, &e.to_string(), false);
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

/// How long ago `timestamp_ms` was by this machine's clock; 0 for a time ahead of it (a device
/// whose clock runs fast).
fn age_seconds(timestamp_ms: u64) -> f64 {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    now_ms.saturating_sub(timestamp_ms) as f64 / 1000.0
}

/// The wait before the next start after `failures_in_a_row` failures: [`FIRST_BACKOFF`] after
/// the first, doubled for each one after it, never more than [`MAX_BACKOFF`].
fn backoff(failures_in_a_row: u32) -> Duration {
    // Past 2^16 times the first wait the ceiling has long been reached; capping the exponent
    // keeps the shift and the multiplication in range for any count.
    let doublings = failures_in_a_row.saturating_sub(1).min(16);
    FIRST_BACKOFF
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The waits after 1, 2, ... `n` failures in a row.
    fn waits(n: u32) -> Vec<Duration> {
        (1..=n).map(backoff).collect()
    }

    #[test]
    fn the_first_restart_waits_the_first_backoff() {
        assert_eq!(backoff(1), FIRST_BACKOFF);
        // No failure yet is not a longer wait than one failure.
        assert!(backoff(0) <= backoff(1));
    }

    #[test]
    fn each_failure_in_a_row_doubles_the_wait_until_the_ceiling() {
        let waits = waits(64);
        for pair in waits.windows(2) {
            let (before, after) = (pair[0], pair[1]);
            assert!(
                after == before * 2 || (after == MAX_BACKOFF && before * 2 >= MAX_BACKOFF),
                "{before:?} was followed by {after:?}"
            );
        }
        // It doubled at least once before reaching the ceiling, so the doubling was seen.
        assert!(waits.iter().filter(|w| **w < MAX_BACKOFF).count() >= 2);
    }

    #[test]
    fn the_wait_reaches_the_ceiling_and_stays_there() {
        let waits = waits(64);
        assert!(waits.iter().all(|w| *w <= MAX_BACKOFF), "{waits:?}");
        let reached = waits
            .iter()
            .position(|w| *w == MAX_BACKOFF)
            .expect("the ceiling is reached");
        assert!(
            waits[reached..].iter().all(|w| *w == MAX_BACKOFF),
            "{waits:?}"
        );
    }

    #[test]
    fn any_number_of_failures_waits_the_ceiling_without_overflowing() {
        for failures in [
            31,
            32,
            33,
            63,
            64,
            65,
            1000,
            u32::MAX / 2,
            u32::MAX - 1,
            u32::MAX,
        ] {
            assert_eq!(backoff(failures), MAX_BACKOFF, "after {failures} failures");
        }
    }
}
