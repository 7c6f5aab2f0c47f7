//! The instances this node runs, converged to an assignment set: start the new, stop the gone,
//! leave the rest alone, so applying the same set again changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use trellis_host::manifest::AppManifest;
use trellis_host::types::Param;
use trellis_host::{AppComponent, Host, InstanceLimits};

use crate::instance::RunningInstance;
use crate::protocol::{Assignment, InstanceReport};

pub struct Supervisor {
    host: Arc<Host>,
    tick: Duration,
    components: HashMap<String, Arc<AppComponent>>,
    running: BTreeMap<String, RunningInstance>,
    /// Assignments that could not start, with why (reported as failed).
    refused: BTreeMap<String, InstanceReport>,
}

impl Supervisor {
    pub fn new(host: Arc<Host>, tick: Duration) -> Supervisor {
        Supervisor {
            host,
            tick,
            components: HashMap::new(),
            running: BTreeMap::new(),
            refused: BTreeMap::new(),
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

    /// Compiles (or loads from the compile cache) a fetched component.
    pub fn add_component(&mut self, sha256: &str, bytes: &[u8]) -> Result<(), String> {
        let component = self.host.load_app(bytes).map_err(|e| e.to_string())?;
        self.components.insert(sha256.into(), Arc::new(component));
        Ok(())
    }

    /// Makes the running set exactly `assignments`.
    pub fn apply(&mut self, assignments: &[Assignment]) {
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
        for id in gone {
            tracing::info!("stopping {id}");
            self.running.remove(&id);
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
            config,
            limits,
            self.tick,
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
