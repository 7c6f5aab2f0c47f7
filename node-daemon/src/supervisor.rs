//! The instances this node runs, converged to an assignment set: start the new, stop the gone,
//! leave the rest alone, so applying the same set again changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use trellis_host::manifest::AppManifest;
use trellis_host::types::Param;
use trellis_host::{AppComponent, Capabilities, Host, InstanceLimits};

use crate::instance::{RunningInstance, Wiring};
use trellis_models::{AppModels, ModelCatalog};

use trellis_protocol::node::{AssignedModel, Assignment, InstanceReport, InstanceState};

pub struct Supervisor {
    host: Arc<Host>,
    bus: Option<Arc<dyn trellis_bus::Bus>>,
    tick: Duration,
    components: HashMap<String, Arc<AppComponent>>,
    running: BTreeMap<String, RunningInstance>,
    /// Assignments that could not start, with why (reported as failed).
    refused: BTreeMap<String, InstanceReport>,
    /// The models assigned apps call, by name and version, served to them through `inference`.
    models: Arc<ModelCatalog>,
    /// Each running instance's view of the models, moved to the versions its assignment names.
    app_models: HashMap<String, Arc<AppModels>>,
}

impl Supervisor {
    pub fn new(
        host: Arc<Host>,
        models: Arc<ModelCatalog>,
        bus: Option<Arc<dyn trellis_bus::Bus>>,
        tick: Duration,
    ) -> Supervisor {
        Supervisor {
            host,
            bus,
            tick,
            components: HashMap::new(),
            running: BTreeMap::new(),
            refused: BTreeMap::new(),
            models,
            app_models: HashMap::new(),
        }
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

    /// Makes the running set exactly `assignments`. Returns the instances to stop, already told
    /// to: the caller drops them (which waits for their threads) without holding the supervisor.
    pub fn apply(&mut self, assignments: &[Assignment]) -> Vec<RunningInstance> {
        let wanted: BTreeMap<&str, &Assignment> = assignments
            .iter()
            .map(|a| (a.deployment.as_str(), a))
            .collect();
        let gone: Vec<String> = self
            .running
            .iter()
            .filter(|(id, running)| {
                wanted
                    .get(id.as_str())
                    .is_none_or(|a| a.component_sha256 != running.component_sha256)
            })
            .map(|(id, _)| id.clone())
            .collect();
        let mut stopping = Vec::new();
        for id in gone {
            tracing::info!("stopping {id}");
            if let Some(running) = self.running.remove(&id) {
                running.tell_to_stop();
                stopping.push(running);
            }
            self.app_models.remove(&id);
        }
        self.refused
            .retain(|id, _| wanted.contains_key(id.as_str()));
        for (id, assignment) in wanted {
            if self.running.contains_key(id) {
                if let Some(models) = self.app_models.get(id) {
                    models.set_versions(&model_versions(assignment));
                }
                continue;
            }
            match self.start(assignment) {
                Ok((running, models)) => {
                    tracing::info!("starting {id} ({})", assignment.app);
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
            .for_app(&manifest.models, &model_versions(assignment));
        let running = RunningInstance::start(
            assignment.deployment.clone(),
            assignment.component_sha256.clone(),
            component,
            Capabilities {
                config,
                models: models.clone(),
                ..Capabilities::default()
            },
            limits,
            self.tick,
            self.bus.clone().map(|bus| Wiring {
                bus,
                sensors: assignment.sensors.clone(),
                controllers: assignment.controllers.clone(),
            }),
        );
        Ok((running, models))
    }

    /// What each instance is doing, for the heartbeat.
    pub fn report(&self) -> Vec<InstanceReport> {
        self.running
            .values()
            .map(RunningInstance::report)
            .chain(self.refused.values().cloned())
            .collect()
    }
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
