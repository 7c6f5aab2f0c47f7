//! The instances this node runs, converged to an assignment set: start the new, stop the gone,
//! replace the changed (another version, parameters or bindings), leave the rest alone, so
//! applying the same set again changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use trellis_host::manifest::AppManifest;
use trellis_host::types::Param;
use trellis_host::{AppComponent, Capabilities, Host, InstanceLimits};

use crate::app_state::AppStates;
use crate::instance::{RunningInstance, StateHome, Wiring};
use crate::log_shipping::{InstanceLog, LogQueue};
use crate::notifications::Outbox;
use crate::telemetry::NodeMetrics;
use trellis_models::{AppModels, ModelCatalog};

use trellis_protocol::node::{AssignedModel, Assignment, InstanceReport, InstanceState};

pub struct Supervisor {
    host: Arc<Host>,
    bus: Option<Arc<dyn trellis_bus::Bus>>,
    tick: Duration,
    components: HashMap<String, Arc<AppComponent>>,
    running: BTreeMap<String, RunningInstance>,
    /// Instances told to stop whose threads have not ended yet. Nothing waits for them but the
    /// node's shutdown: each ends by itself once its guest's call returns (at the call's
    /// deadline at the latest), so a guest that will not return cannot hold the node.
    stopping: Vec<RunningInstance>,
    /// Assignments that could not start, with why (reported as failed).
    refused: BTreeMap<String, InstanceReport>,
    /// The models assigned apps call, by name and version, served to them through `inference`.
    models: Arc<ModelCatalog>,
    /// Each running instance's view of the models, moved to the versions its assignment names.
    app_models: HashMap<String, Arc<AppModels>>,
    /// The assignment each running or refused instance came from, without its models (those
    /// move under a running instance), to tell a changed assignment from the same one.
    assigned: HashMap<String, Assignment>,
    /// The deployments' durable app state.
    states: Arc<AppStates>,
    /// What the instances tell Prometheus.
    metrics: NodeMetrics,
    /// Where apps' notifications go; without one they are logged.
    outbox: Option<Outbox>,
    /// Where instances' log lines and events go, to be shipped.
    logs: Arc<LogQueue>,
    /// The most bytes of readings each instance keeps per role for `sensors.history`.
    history_bytes: usize,
}

impl Supervisor {
    pub fn new(
        host: Arc<Host>,
        models: Arc<ModelCatalog>,
        bus: Option<Arc<dyn trellis_bus::Bus>>,
        tick: Duration,
        states: Arc<AppStates>,
        metrics: NodeMetrics,
        logs: Arc<LogQueue>,
    ) -> Supervisor {
        Supervisor {
            host,
            bus,
            tick,
            components: HashMap::new(),
            running: BTreeMap::new(),
            stopping: Vec::new(),
            refused: BTreeMap::new(),
            models,
            app_models: HashMap::new(),
            assigned: HashMap::new(),
            states,
            metrics,
            outbox: None,
            logs,
            history_bytes: trellis_host::capabilities::DEFAULT_HISTORY_BYTES,
        }
    }

    /// Has each instance keep at most `bytes` of readings per role for `sensors.history`.
    pub fn history_bytes(mut self, bytes: usize) -> Supervisor {
        self.history_bytes = bytes;
        self
    }

    /// Sends apps' notifications to `outbox` (for the control plane) instead of the log.
    pub fn forward_notifications(mut self, outbox: Outbox) -> Supervisor {
        self.outbox = Some(outbox);
        self
    }

    /// Components this node has not loaded yet, by hash.
    pub fn missing_components<'a>(&self, assignments: &'a [Assignment]) -> Vec<&'a str> {
        assignments
            .iter()
            .map(|a| a.component_sha256.as_str())
            .filter(|sha| !self.components.contains_key(*sha))
            .collect()
    }

    /// The model versions of `assignments` not loaded here yet, once each.
    pub fn missing_models(&self, assignments: &[Assignment]) -> Vec<AssignedModel> {
        let mut missing: BTreeMap<(&str, &str), &AssignedModel> = BTreeMap::new();
        for model in assignments.iter().flat_map(|a| &a.models) {
            if self.models.get(&model.name, &model.version).is_none() {
                missing.insert((&model.name, &model.version), model);
            }
        }
        missing.into_values().cloned().collect()
    }

    /// The catalog models are loaded into. Loading takes seconds, so callers do it without
    /// holding the supervisor (heartbeats need it meanwhile).
    pub fn models(&self) -> Arc<ModelCatalog> {
        self.models.clone()
    }

    /// The host components are compiled with. Compiling takes seconds, so callers do it
    /// without holding the supervisor (heartbeats need it meanwhile).
    pub fn host(&self) -> Arc<Host> {
        self.host.clone()
    }

    /// Adds a compiled component.
    pub fn add_component(&mut self, sha256: &str, component: AppComponent) {
        self.components.insert(sha256.into(), Arc::new(component));
    }

    /// Makes the running set exactly `assignments`. Returns the deployments whose instances it
    /// told to stop; it does not wait for them to end (see [`Supervisor::still_stopping`]).
    ///
    /// An instance whose assignment changed is only stopped here: its successor starts when the
    /// set is applied again, and takes its deployment's state (and so its readings) only once
    /// the old one has let go of it, so two versions of a deployment never read them at once.
    pub fn apply(&mut self, assignments: &[Assignment]) -> Vec<String> {
        self.still_stopping();
        let wanted: BTreeMap<&str, &Assignment> = assignments
            .iter()
            .map(|a| (a.deployment.as_str(), a))
            .collect();
        let gone: Vec<String> = self
            .running
            .iter()
            .filter(|(id, running)| {
                wanted.get(id.as_str()).is_none_or(|a| {
                    a.component_sha256 != running.component_sha256
                        || self
                            .assigned
                            .get(id.as_str())
                            .is_none_or(|was| !same_instance(was, a))
                })
            })
            .map(|(id, _)| id.clone())
            .collect();
        let mut stopping = Vec::new();
        for id in &gone {
            tracing::info!("stopping {id}");
            if let Some(running) = self.running.remove(id) {
                running.tell_to_stop();
                stopping.push(id.clone());
                self.stopping.push(running);
            }
            // No longer assigned here (stopped, or moved): its consumer groups leave, so what
            // it will not read is not kept for it. A replaced version keeps them.
            if !wanted.contains_key(id.as_str())
                && let (Some(bus), Some(was)) = (&self.bus, self.assigned.get(id))
            {
                for sensor in &was.sensors {
                    bus.leave(&trellis_bus::sensor_topic(&sensor.id), id);
                }
            }
            self.app_models.remove(id);
            self.assigned.remove(id);
            self.metrics.forget_lag(id);
        }
        self.refused
            .retain(|id, _| wanted.contains_key(id.as_str()));
        self.assigned
            .retain(|id, _| wanted.contains_key(id.as_str()));
        for (id, assignment) in wanted {
            if self.running.contains_key(id) {
                if let Some(models) = self.app_models.get(id) {
                    models.set_versions(&model_versions(assignment));
                }
                continue;
            }
            if gone.iter().any(|g| g == id) {
                continue;
            }
            let mut without_models = assignment.clone();
            without_models.models.clear();
            self.assigned.insert(id.to_string(), without_models);
            match self.start(assignment) {
                Ok((running, models)) => {
                    tracing::info!("starting {id} ({} {})", assignment.app, assignment.version);
                    self.refused.remove(id);
                    self.running.insert(id.to_string(), running);
                    self.app_models.insert(id.to_string(), models);
                }
                Err(why) => {
                    let report = InstanceReport {
                        deployment: id.to_string(),
                        state: InstanceState::Failed,
                        detail: why,
                        restarts: 0,
                    };
                    self.refused.insert(id.to_string(), report);
                }
            }
        }
        // Compiled components no assignment names any more are dropped too.
        self.components
            .retain(|sha, _| assignments.iter().any(|a| &a.component_sha256 == sha));
        // Versions no assignment names any more are dropped, so the node holds only the models
        // its apps call, not every version it was ever assigned.
        self.models.retain(|name, version| {
            assignments
                .iter()
                .flat_map(|a| &a.models)
                .any(|m| m.name == name && m.version == version)
        });
        stopping
    }

    /// Starts an assignment's instance; also returns its view of the models, to move it to the
    /// versions later assignments name.
    fn start(&self, assignment: &Assignment) -> Result<(RunningInstance, Arc<AppModels>), String> {
        let component = self
            .components
            .get(&assignment.component_sha256)
            .ok_or_else(|| {
                format!(
                    "component {} is not available here",
                    assignment.component_sha256
                )
            })?
            .clone();
        let manifest =
            AppManifest::parse(&assignment.manifest).map_err(|e| format!("trellis.toml: {e}"))?;
        let config = config_values(&manifest, &assignment.config)?;
        let mut limits = InstanceLimits::default();
        if let Some(mb) = manifest.resources.memory_mb {
            limits.memory_bytes = mb as usize * (1 << 20);
        }
        let models = self
            .models
            .for_app(&manifest.model_names(), &model_versions(assignment));
        let log = Arc::new(InstanceLog::new(
            self.logs.clone(),
            &assignment.deployment,
            &assignment.version,
        ));
        let running = RunningInstance::start(
            assignment.deployment.clone(),
            assignment.component_sha256.clone(),
            component,
            Capabilities {
                config,
                models: models.clone(),
                notifications: match &self.outbox {
                    Some(outbox) => outbox.for_deployment(&assignment.deployment),
                    None => Capabilities::default().notifications,
                },
                log: log.clone(),
                ..Capabilities::default()
            },
            log,
            limits,
            self.tick,
            self.bus.clone().map(|bus| Wiring {
                bus,
                sensors: assignment.sensors.clone(),
                controllers: assignment.controllers.clone(),
                history_bytes: self.history_bytes,
            }),
            StateHome {
                states: self.states.clone(),
                quota_bytes: manifest.resources.state_quota_bytes(),
            },
            self.metrics.clone(),
        );
        Ok((running, models))
    }

    /// The deployments of `assignments` that applying them would start (or start again with
    /// another component), for fetching their state first.
    pub fn to_start<'a>(&self, assignments: &'a [Assignment]) -> Vec<&'a str> {
        assignments
            .iter()
            .filter(|a| {
                self.running
                    .get(&a.deployment)
                    .is_none_or(|r| r.component_sha256 != a.component_sha256)
            })
            .map(|a| a.deployment.as_str())
            .collect()
    }

    /// How many instances told to stop have not ended yet; forgets those that have.
    pub fn still_stopping(&mut self) -> usize {
        self.stopping.retain(|instance| !instance.has_ended());
        self.stopping.len()
    }

    /// What each instance is doing, for the heartbeat.
    pub fn report(&self) -> Vec<InstanceReport> {
        self.running
            .values()
            .map(RunningInstance::report)
            .chain(self.refused.values().cloned())
            .collect()
    }

    /// The app version of each instance [`Supervisor::report`] tells of, by deployment.
    pub fn versions(&self) -> BTreeMap<String, String> {
        self.assigned
            .iter()
            .filter(|(id, _)| self.running.contains_key(*id) || self.refused.contains_key(*id))
            .map(|(id, a)| (id.clone(), a.version.clone()))
            .collect()
    }
}

impl Drop for Supervisor {
    /// The node is shutting down: every instance is told to stop at once, then each is waited
    /// for as its field drops (each within its guest's call deadline), so they hand over their
    /// state together rather than one after another.
    fn drop(&mut self) {
        for instance in self.running.values().chain(&self.stopping) {
            instance.tell_to_stop();
        }
    }
}

/// Whether an instance started for assignment `was` still serves `now`: everything but the
/// model versions (which move under a running instance) is the same.
fn same_instance(was: &Assignment, now: &Assignment) -> bool {
    let Assignment {
        deployment,
        app,
        version,
        component_sha256,
        manifest,
        config,
        sensors,
        controllers,
        models: _,
    } = now;
    (
        &was.deployment,
        &was.app,
        &was.version,
        &was.component_sha256,
        &was.manifest,
        &was.config,
        &was.sensors,
        &was.controllers,
    ) == (
        deployment,
        app,
        version,
        component_sha256,
        manifest,
        config,
        sensors,
        controllers,
    )
}

/// The version of each model the assignment names, by name.
fn model_versions(assignment: &Assignment) -> BTreeMap<String, String> {
    assignment
        .models
        .iter()
        .map(|m| (m.name.clone(), m.version.clone()))
        .collect()
}

/// The deployment's parameter values (JSON, as the control plane stores them) as the app's
/// typed parameters.
fn config_values(
    manifest: &AppManifest,
    config: &BTreeMap<String, serde_json::Value>,
) -> Result<Vec<Param>, String> {
    let overrides: Vec<(String, String)> = config
        .iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (name.clone(), text)
        })
        .collect();
    manifest
        .config_values(&overrides)
        .map_err(|e| format!("config: {e}"))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use sha2::{Digest, Sha256};
    use trellis_host::HostConfig;
    use trellis_protocol::node::BoundDevice;

    use super::*;

    /// Ticks often enough that an instance is up quickly, rarely enough to keep the CPU free.
    const TICK: Duration = Duration::from_millis(100);
    /// How long an instance may take to start or stop on a loaded machine.
    const PATIENCE: Duration = Duration::from_secs(30);

    /// The supervisor under test: the one place that knows its constructor, without a bus (the
    /// instances only tick) and with an empty model catalog (tract only: no model is loaded).
    fn supervisor(host: Arc<Host>) -> Supervisor {
        supervisor_on(host, None)
    }

    /// [`supervisor`], its instances reading and commanding through `bus`.
    fn supervisor_on(host: Arc<Host>, bus: Option<Arc<dyn trellis_bus::Bus>>) -> Supervisor {
        let models = ModelCatalog::new(
            host.clone(),
            Arc::new(trellis_models::Runtimes::new(None)),
            Arc::new(trellis_host::capabilities::log::TracingLog),
        );
        // The stores live beside the test binary's temporary files; nothing checkpoints them.
        let states = tempfile::tempdir()
            .expect("a directory for app state")
            .keep();
        Supervisor::new(
            host,
            Arc::new(models),
            bus,
            TICK,
            Arc::new(AppStates::new(states, None)),
            crate::telemetry::NodeMetrics::default(),
            Arc::new(LogQueue::default()),
        )
    }

    /// Where compiled components are kept between runs: in the build's directory, beside the
    /// test binary (`cargo clean` removes it), so the echo app is compiled once per change of
    /// it rather than once per test.
    fn compile_cache() -> std::path::PathBuf {
        std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("trellis-node-test-compiled")))
            .unwrap_or_else(|| std::env::temp_dir().join("trellis-node-test-compiled"))
    }

    /// A host with a few instance slots and the shared compile cache.
    fn host() -> Arc<Host> {
        Arc::new(
            Host::new(HostConfig {
                cache_dir: Some(compile_cache()),
                max_instances: 8,
                ..HostConfig::default()
            })
            .expect("creating a host"),
        )
    }

    fn sha256(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// The echo test app, compiled, under its hash.
    fn echo(host: &Host) -> (String, AppComponent) {
        let bytes = trellis_guest_artifacts::read(trellis_guest_artifacts::ECHO);
        let component = host.load_app(&bytes).expect("loading the echo app");
        (sha256(&bytes), component)
    }

    /// Deployment `id` of the echo app, built from `component_sha256`, bound to nothing.
    fn assignment(id: &str, component_sha256: &str) -> Assignment {
        let manifest = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/guests/echo/trellis.toml"
        );
        Assignment {
            deployment: id.into(),
            app: "echo".into(),
            version: "0.1.0".into(),
            component_sha256: component_sha256.into(),
            manifest: std::fs::read_to_string(manifest).expect("the echo manifest"),
            config: BTreeMap::new(),
            sensors: Vec::new(),
            controllers: Vec::new(),
            models: Vec::new(),
        }
    }

    fn reported(supervisor: &Supervisor, id: &str) -> Option<InstanceReport> {
        supervisor.report().into_iter().find(|r| r.deployment == id)
    }

    /// Waits until every one of `ids` reports `running`.
    fn wait_running(supervisor: &Supervisor, ids: &[&str]) {
        let started = Instant::now();
        loop {
            let states: Vec<Option<InstanceReport>> =
                ids.iter().map(|id| reported(supervisor, id)).collect();
            if states.iter().all(|r| {
                r.as_ref()
                    .is_some_and(|r| r.state == InstanceState::Running)
            }) {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "not all of {ids:?} running after {PATIENCE:?}: {states:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Checks that the threads of the instances told to stop end in time.
    fn assert_stop(supervisor: &mut Supervisor) {
        let started = Instant::now();
        while supervisor.still_stopping() > 0 {
            assert!(
                started.elapsed() < PATIENCE,
                "the stopped instances' threads did not end within {PATIENCE:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn applying_a_set_starts_its_instances() {
        let host = host();
        let (sha, component) = echo(&host);
        let mut supervisor = supervisor(host);
        supervisor.add_component(&sha, component);
        let set = [assignment("dep_1", &sha), assignment("dep_2", &sha)];
        assert!(supervisor.apply(&set).is_empty(), "nothing ran to stop");
        wait_running(&supervisor, &["dep_1", "dep_2"]);
        let report = supervisor.report();
        assert_eq!(report.len(), 2, "{report:?}");
        assert!(report.iter().all(|r| r.restarts == 0), "{report:?}");
    }

    #[test]
    fn applying_the_same_set_again_keeps_every_instance() {
        let host = host();
        let (sha, component) = echo(&host);
        let mut supervisor = supervisor(host);
        supervisor.add_component(&sha, component);
        let set = [assignment("dep_1", &sha), assignment("dep_2", &sha)];
        supervisor.apply(&set);
        wait_running(&supervisor, &["dep_1", "dep_2"]);
        let threads = |supervisor: &Supervisor| -> Vec<std::thread::ThreadId> {
            supervisor
                .running
                .values()
                .map(RunningInstance::thread_id)
                .collect()
        };
        let before = threads(&supervisor);

        let stopping = supervisor.apply(&set);
        assert!(stopping.is_empty(), "applying it again stopped instances");
        assert_eq!(threads(&supervisor), before, "an instance was replaced");
        wait_running(&supervisor, &["dep_1", "dep_2"]);
        assert!(supervisor.report().iter().all(|r| r.restarts == 0));
    }

    #[test]
    fn a_dropped_assignment_is_stopped_and_the_rest_keep_running() {
        let host = host();
        let (sha, component) = echo(&host);
        let mut supervisor = supervisor(host);
        supervisor.add_component(&sha, component);
        supervisor.apply(&[assignment("dep_1", &sha), assignment("dep_2", &sha)]);
        wait_running(&supervisor, &["dep_1", "dep_2"]);
        let kept = supervisor.running["dep_2"].thread_id();

        let stopping = supervisor.apply(&[assignment("dep_2", &sha)]);
        assert_eq!(stopping, ["dep_1"]);
        assert_stop(&mut supervisor);
        assert!(
            reported(&supervisor, "dep_1").is_none(),
            "dep_1 still reported"
        );
        assert_eq!(supervisor.running["dep_2"].thread_id(), kept);
        wait_running(&supervisor, &["dep_2"]);

        assert_eq!(supervisor.apply(&[]).len(), 1);
        assert_stop(&mut supervisor);
        assert!(supervisor.report().is_empty(), "{:?}", supervisor.report());
    }

    #[test]
    fn a_deployment_no_longer_assigned_here_leaves_its_consumer_groups() {
        let host = host();
        let (sha, component) = echo(&host);
        let bus = Arc::new(trellis_bus::EmbeddedBus::new(100));
        let mut supervisor = supervisor_on(host, Some(bus.clone()));
        supervisor.add_component(&sha, component);
        let device = |role: &str, id: &str| BoundDevice {
            role: role.into(),
            id: id.into(),
            location: "test/site/room".into(),
            labels: vec![],
        };
        let bound = |id: &str| Assignment {
            sensors: vec![device("in", "sen_t1")],
            controllers: vec![device("out", "con_d1")],
            ..assignment(id, &sha)
        };
        let groups = || -> Vec<String> {
            let mut groups: Vec<String> = bus
                .groups(&trellis_bus::sensor_topic("sen_t1"))
                .into_iter()
                .map(|g| g.group)
                .collect();
            groups.sort();
            groups
        };
        supervisor.apply(&[bound("dep_1"), bound("dep_2")]);
        wait_running(&supervisor, &["dep_1", "dep_2"]);
        assert_eq!(groups(), ["dep_1", "dep_2"]);

        assert_eq!(supervisor.apply(&[bound("dep_2")]), ["dep_1"]);
        assert_stop(&mut supervisor);
        assert_eq!(groups(), ["dep_2"], "the stopped deployment's group stays");
    }

    #[test]
    fn a_changed_component_restarts_the_instance() {
        let host = host();
        let (old, component) = echo(&host);
        let mut supervisor = supervisor(host.clone());
        supervisor.add_component(&old, component);
        supervisor.apply(&[assignment("dep_1", &old)]);
        wait_running(&supervisor, &["dep_1"]);
        let before = supervisor.running["dep_1"].thread_id();

        // A new version of the app: the same code will do, under another hash.
        let new = sha256(b"echo, version 2");
        supervisor.add_component(&new, echo(&host).1);
        assert_eq!(supervisor.apply(&[assignment("dep_1", &new)]), ["dep_1"]);
        let stopped: Vec<&str> = supervisor
            .stopping
            .iter()
            .map(|i| i.component_sha256.as_str())
            .collect();
        assert_eq!(stopped, [old.as_str()], "the old version was not stopped");
        assert!(
            !supervisor.running.contains_key("dep_1"),
            "the new version started before the old one ended"
        );
        assert_stop(&mut supervisor);
        assert!(supervisor.apply(&[assignment("dep_1", &new)]).is_empty());
        let now = &supervisor.running["dep_1"];
        assert_eq!(now.component_sha256, new);
        assert_ne!(now.thread_id(), before, "the old instance was kept");
        wait_running(&supervisor, &["dep_1"]);
    }

    #[test]
    fn changed_parameters_or_bindings_restart_the_instance_and_models_do_not() {
        let host = host();
        let (sha, component) = echo(&host);
        let mut supervisor = supervisor(host);
        supervisor.add_component(&sha, component);
        // The echo app with a parameter to change.
        let assignment = |id: &str, sha: &str| {
            let mut labelled = assignment(id, sha);
            labelled.manifest += "\n[config.label]\ntype = \"text\"\ndefault = \"v1\"\n";
            labelled
        };
        supervisor.apply(&[assignment("dep_1", &sha)]);
        wait_running(&supervisor, &["dep_1"]);
        assert_eq!(supervisor.versions()["dep_1"], "0.1.0");

        // A model version moves under the running instance.
        let mut new_model = assignment("dep_1", &sha);
        new_model.models.push(AssignedModel {
            name: "digits".into(),
            version: "2".into(),
            config: String::new(),
            onnx_sha256: String::new(),
            contract_sha256: String::new(),
        });
        let kept = supervisor.running["dep_1"].thread_id();
        assert!(supervisor.apply(&[new_model]).is_empty());
        assert_eq!(supervisor.running["dep_1"].thread_id(), kept);

        let changes: [fn(&mut Assignment); 3] = [
            |a| {
                a.config.insert("label".into(), "v2".into());
            },
            |a| {
                a.sensors.push(BoundDevice {
                    role: "in".into(),
                    id: "sen_2".into(),
                    location: "north/main/room-1".into(),
                    labels: Vec::new(),
                })
            },
            |a| a.version = "2.0.0".into(),
        ];
        for change in changes {
            let before = supervisor.running["dep_1"].thread_id();
            let mut changed = assignment("dep_1", &sha);
            change(&mut changed);
            let stopping = supervisor.apply(std::slice::from_ref(&changed));
            assert_eq!(stopping.len(), 1, "the changed instance was not stopped");
            assert_stop(&mut supervisor);
            assert!(supervisor.apply(std::slice::from_ref(&changed)).is_empty());
            assert_ne!(supervisor.running["dep_1"].thread_id(), before);
            wait_running(&supervisor, &["dep_1"]);
            assert_eq!(supervisor.versions()["dep_1"], changed.version);
        }
    }

    /// Deployment `id` of the sleepy app, built from `component_sha256`, asleep in every tick
    /// for far longer than its deadline.
    fn sleepy_assignment(id: &str, component_sha256: &str) -> Assignment {
        let manifest = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/guests/sleepy/trellis.toml"
        );
        Assignment {
            app: "sleepy".into(),
            manifest: std::fs::read_to_string(manifest).expect("the sleepy manifest"),
            config: BTreeMap::from([("tick-sleep-seconds".into(), 30.into())]),
            ..assignment(id, component_sha256)
        }
    }

    /// Gathers the node's log lines as `(event, text)` until `until` holds for one of them, for
    /// at most `patience`; returns whether it did.
    fn logged(
        logs: &LogQueue,
        seen: &mut Vec<(Option<String>, String)>,
        patience: Duration,
        until: impl Fn(&(Option<String>, String)) -> bool,
    ) -> bool {
        let started = Instant::now();
        loop {
            seen.extend(logs.take().0.into_iter().map(|l| (l.event, l.text)));
            if seen.iter().any(&until) {
                return true;
            }
            if started.elapsed() >= patience {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn stopping_an_instance_does_not_wait_for_its_sleeping_guest() {
        let host = host();
        let bytes = trellis_guest_artifacts::read(trellis_guest_artifacts::SLEEPY);
        let component = host.load_app(&bytes).expect("loading the sleepy app");
        let sha = sha256(&bytes);
        let mut supervisor = supervisor(host);
        supervisor.add_component(&sha, component);
        let logs = supervisor.logs.clone();
        let mut seen = Vec::new();
        supervisor.apply(&[sleepy_assignment("dep_1", &sha)]);
        let asleep = logged(&logs, &mut seen, PATIENCE, |(_, text)| {
            text == "sleeping 30 s"
        });
        assert!(asleep, "the guest never went to sleep: {seen:?}");

        // Its guest sleeps in a call until that call's deadline; stopping does not wait for it.
        let asked = Instant::now();
        assert_eq!(supervisor.apply(&[]).len(), 1);
        let took = asked.elapsed();
        let stopped = |(event, _): &(Option<String>, String)| event.as_deref() == Some("stopped");
        assert!(
            !logged(&logs, &mut seen, Duration::ZERO, stopped),
            "stopping waited {took:?}, until the guest's call had ended: {seen:?}"
        );
        eprintln!("stopped in {took:?}");
        assert!(supervisor.report().is_empty(), "{:?}", supervisor.report());

        // The instance ends by itself once the call is stopped at its deadline.
        assert!(
            logged(&logs, &mut seen, PATIENCE, stopped),
            "the instance never ended: {seen:?}"
        );
        assert_stop(&mut supervisor);
    }

    #[test]
    fn an_assignment_without_its_component_is_reported_failed_naming_it() {
        let mut supervisor = supervisor(host());
        let absent = sha256(b"a component this node never got");
        let set = [assignment("dep_1", &absent)];
        assert_eq!(supervisor.missing_components(&set), [absent.as_str()]);

        assert!(supervisor.apply(&set).is_empty());
        let report = reported(&supervisor, "dep_1").expect("dep_1 is reported");
        assert_eq!(report.state, InstanceState::Failed, "{report:?}");
        assert!(
            report.detail.contains(&absent),
            "the detail does not name the component: {report:?}"
        );
        assert!(supervisor.running.is_empty());

        // Once it is no longer assigned, it is no longer reported either.
        supervisor.apply(&[]);
        assert!(supervisor.report().is_empty(), "{:?}", supervisor.report());
    }
}
