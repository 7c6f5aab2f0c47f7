//! The instances this node runs, converged to an assignment set: start the new, stop the gone,
//! leave the rest alone, so applying the same set again changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use trellis_host::manifest::AppManifest;
use trellis_host::types::Param;
use trellis_host::{AppComponent, Capabilities, Host, InstanceLimits};

use crate::instance::{RunningInstance, Wiring};
use trellis_models::{ModelCatalog, ModelPipeline};

use crate::protocol::{AssignedModel, Assignment, InstanceReport};

pub struct Supervisor {
    host: Arc<Host>,
    bus: Option<Arc<dyn trellis_bus::Bus>>,
    tick: Duration,
    components: HashMap<String, Arc<AppComponent>>,
    running: BTreeMap<String, RunningInstance>,
    /// Assignments that could not start, with why (reported as failed).
    refused: BTreeMap<String, InstanceReport>,
    /// The models assigned apps call, served to them through `inference`.
    catalog: ModelCatalog,
    /// The artifacts (onnx, contract) each loaded model came from.
    loaded_models: HashMap<String, (String, String)>,
}

impl Supervisor {
    pub fn new(
        host: Arc<Host>,
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
            catalog: ModelCatalog::default(),
            loaded_models: HashMap::new(),
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

    /// The models of `assignments` not loaded here yet (or loaded from other artifacts).
    pub fn missing_models(&self, assignments: &[Assignment]) -> Vec<AssignedModel> {
        let mut missing: BTreeMap<&str, &AssignedModel> = BTreeMap::new();
        for model in assignments.iter().flat_map(|a| &a.models) {
            let artifacts = (model.onnx_sha256.clone(), model.contract_sha256.clone());
            if self.loaded_models.get(&model.name) != Some(&artifacts) {
                missing.insert(&model.name, model);
            }
        }
        missing.into_values().cloned().collect()
    }

    /// Adds a loaded model, replacing an older version of the same name.
    pub fn add_model(&mut self, model: &AssignedModel, pipeline: ModelPipeline) {
        self.catalog.insert(pipeline);
        self.loaded_models.insert(
            model.name.clone(),
            (model.onnx_sha256.clone(), model.contract_sha256.clone()),
        );
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
        }
        self.refused
            .retain(|id, _| wanted.contains_key(id.as_str()));
        for (id, assignment) in wanted {
            if self.running.contains_key(id) {
                continue;
            }
            match self.start(assignment) {
                Ok(running) => {
                    tracing::info!("starting {id} ({})", assignment.app);
                    self.refused.remove(id);
                    self.running.insert(id.to_string(), running);
                }
                Err(why) => {
                    let report = InstanceReport {
                        deployment: id.to_string(),
                        state: "failed".into(),
                        detail: why,
                        restarts: 0,
                    };
                    self.refused.insert(id.to_string(), report);
                }
            }
        }
        stopping
    }

    fn start(&self, assignment: &Assignment) -> Result<RunningInstance, String> {
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
        Ok(RunningInstance::start(
            assignment.deployment.clone(),
            assignment.component_sha256.clone(),
            component,
            Capabilities {
                config,
                models: self.catalog.for_app(&manifest.models),
                ..Capabilities::default()
            },
            limits,
            self.tick,
            self.bus.clone().map(|bus| Wiring {
                bus,
                sensors: assignment.sensors.clone(),
                controllers: assignment.controllers.clone(),
            }),
        ))
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
