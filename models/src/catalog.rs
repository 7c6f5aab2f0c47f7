//! The models loaded in this process, by name and version: each version is loaded once, however
//! many callers ask for it at the same moment, and then served to all of them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use trellis_host::Host;
use trellis_host::capabilities::LogSink;

use crate::app_models::AppModels;
use crate::backend::Runtimes;
use crate::error::ModelError;
use crate::metrics::InferenceMetrics;
use crate::package::ModelPackage;
use crate::pipeline::ModelPipeline;

/// The one place a process keeps its loaded models, keyed by name and version, with what it
/// needs to load more: the host compiles the contracts, the runtimes run the models, and the
/// contracts' log lines go to one sink. The control plane and the node daemon share it, so both
/// load a model version once and serve it to every caller.
pub struct ModelCatalog {
    host: Arc<Host>,
    runtimes: Arc<Runtimes>,
    log: Arc<dyn LogSink>,
    loaded: Arc<Loaded>,
    /// Where every pipeline loaded here records its predictions.
    metrics: InferenceMetrics,
}

/// The model versions by (name, version): shared with every app's view, which looks its models
/// up here on each call.
#[derive(Default)]
pub(crate) struct Loaded {
    slots: Mutex<HashMap<(String, String), Slot>>,
}

/// One model version's place: empty until a load of it succeeds. Its lock is held while it
/// loads, so callers of the same version wait for that one load and share it, and callers of
/// other versions do not wait at all.
type Slot = Arc<Mutex<Option<Arc<ModelPipeline>>>>;

impl ModelCatalog {
    /// An empty catalog that loads contracts with `host` and models with `runtimes`, and sends
    /// each contract's log lines to `log`.
    pub fn new(host: Arc<Host>, runtimes: Arc<Runtimes>, log: Arc<dyn LogSink>) -> ModelCatalog {
        ModelCatalog {
            host,
            runtimes,
            log,
            loaded: Arc::default(),
            metrics: InferenceMetrics::default(),
        }
    }

    /// The same catalog, with every model it loads recording its predictions into `metrics`.
    pub fn measured_by(mut self, metrics: InferenceMetrics) -> ModelCatalog {
        self.metrics = metrics;
        self
    }

    /// The loaded version `version` of model `name`, loading it first if this is the first ask:
    /// `package` is called only then, and only once however many threads ask for the same
    /// version at the same moment; the others wait and share the one load. A failed load is not
    /// kept, so the next caller tries again. This blocks while loading (seconds, for a large
    /// model): async callers run it with `spawn_blocking`.
    pub fn get_or_load<E: From<ModelError>>(
        &self,
        name: &str,
        version: &str,
        package: impl FnOnce() -> Result<ModelPackage, E>,
    ) -> Result<Arc<ModelPipeline>, E> {
        let slot = self.loaded.slot(name, version);
        let mut loaded = lock(&slot);
        if let Some(pipeline) = loaded.as_ref() {
            return Ok(pipeline.clone());
        }
        let pipeline = Arc::new(self.load(package()?)?);
        *loaded = Some(pipeline.clone());
        Ok(pipeline)
    }

    /// Checks and loads a package without keeping it, for a caller that keeps it only once
    /// something else has succeeded too (an upload, once it is stored), through
    /// [`ModelCatalog::insert`].
    pub fn load(&self, package: ModelPackage) -> Result<ModelPipeline, ModelError> {
        let mut pipeline =
            ModelPipeline::load(&self.host, &self.runtimes, package, self.log.clone())?;
        pipeline.measure_into(self.metrics.clone());
        Ok(pipeline)
    }

    /// Keeps a loaded model under the name and version of its `model.toml`, replacing any model
    /// of that name and version.
    pub fn insert(&self, pipeline: ModelPipeline) -> Arc<ModelPipeline> {
        let pipeline = Arc::new(pipeline);
        let config = pipeline.config();
        *lock(&self.loaded.slot(&config.name, &config.version)) = Some(pipeline.clone());
        pipeline
    }

    /// Version `version` of model `name`, if it is loaded. Waits while that version is loading.
    pub fn get(&self, name: &str, version: &str) -> Option<Arc<ModelPipeline>> {
        self.loaded.get(name, version)
    }

    /// Drops every model version `keep` refuses, so a node holds only what its assignments
    /// name. A caller in the middle of a prediction keeps its model until it is done.
    pub fn retain(&self, keep: impl Fn(&str, &str) -> bool) {
        lock(&self.loaded.slots).retain(|(name, version), _| keep(name, version));
    }

    /// What an app may call: the models its manifest lists (`listed`), each at the version
    /// `versions` (name → version) names. A listed model without a version here is answered as
    /// unknown, like one that is not loaded; the view can be moved to new versions later
    /// ([`AppModels::set_versions`]).
    pub fn for_app(
        &self,
        listed: &[String],
        versions: &BTreeMap<String, String>,
    ) -> Arc<AppModels> {
        Arc::new(AppModels::new(self.loaded.clone(), listed, versions))
    }
}

impl Loaded {
    /// The slot of a model version, made empty if it has none yet.
    fn slot(&self, name: &str, version: &str) -> Slot {
        lock(&self.slots)
            .entry((name.to_string(), version.to_string()))
            .or_default()
            .clone()
    }

    /// The loaded model version, if any.
    pub(crate) fn get(&self, name: &str, version: &str) -> Option<Arc<ModelPipeline>> {
        let slot = lock(&self.slots)
            .get(&(name.to_string(), version.to_string()))
            .cloned()?;
        lock(&slot).clone()
    }
}

/// A lock that a panic elsewhere does not spoil: a slot is only ever set to a loaded model, so
/// whatever a panicking loader left behind is still consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
