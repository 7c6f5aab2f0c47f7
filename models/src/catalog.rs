//! The models loaded in this process, by name and version: each version is loaded once, however
//! many callers ask for it at the same moment, and then served to all of them. A bounded catalog
//! (the control plane's) drops the least recently used versions beyond its memory bound; the
//! next caller of one loads it again.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use trellis_host::Host;
use trellis_host::capabilities::LogSink;

use crate::app_models::AppModels;
use crate::backend::Runtimes;
use crate::error::ModelError;
use crate::metrics::{CatalogMetrics, InferenceMetrics, VersionLabels};
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
    /// The most memory the loaded versions may hold together (by their estimate), if bounded.
    bound: Option<u64>,
    /// Loads, evictions and the memory held.
    catalog_metrics: CatalogMetrics,
}

/// The model versions by (name, version): shared with every app's view, which looks its models
/// up here on each call.
#[derive(Default)]
pub(crate) struct Loaded {
    slots: Mutex<HashMap<Key, Entry>>,
    /// Ticks on every use, so the entry with the oldest tick is the least recently used.
    clock: AtomicU64,
}

type Key = (String, String);

struct Entry {
    slot: Slot,
    /// The clock when this version was last asked for.
    used: u64,
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
            bound: None,
            catalog_metrics: CatalogMetrics::default(),
        }
    }

    /// The same catalog, holding loaded versions within `bytes` of memory (by
    /// [`ModelPipeline::memory_estimate`]): beyond it, the least recently used versions are
    /// dropped. The version just loaded or used is always kept, even alone above the bound.
    pub fn bounded(mut self, bytes: u64) -> ModelCatalog {
        self.bound = Some(bytes);
        self
    }

    /// Where this catalog counts its loads and evictions, for a process to register.
    pub fn catalog_metrics(&self) -> CatalogMetrics {
        self.catalog_metrics.clone()
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
        drop(loaded);
        self.keep_within_bound(&(name.to_string(), version.to_string()));
        Ok(pipeline)
    }

    /// Checks and loads a package without keeping it, for a caller that keeps it only once
    /// something else has succeeded too (an upload, once it is stored), through
    /// [`ModelCatalog::insert`].
    pub fn load(&self, package: ModelPackage) -> Result<ModelPipeline, ModelError> {
        let labels = VersionLabels {
            model: package.config.name.clone(),
            version: package.config.version.clone(),
        };
        let mut pipeline =
            ModelPipeline::load(&self.host, &self.runtimes, package, self.log.clone())?;
        pipeline.measure_into(self.metrics.clone());
        self.catalog_metrics.loads.get_or_create(&labels).inc();
        Ok(pipeline)
    }

    /// Keeps a loaded model under the name and version of its `model.toml`, replacing any model
    /// of that name and version.
    pub fn insert(&self, pipeline: ModelPipeline) -> Arc<ModelPipeline> {
        let pipeline = Arc::new(pipeline);
        let key = (
            pipeline.config().name.clone(),
            pipeline.config().version.clone(),
        );
        *lock(&self.loaded.slot(&key.0, &key.1)) = Some(pipeline.clone());
        self.keep_within_bound(&key);
        pipeline
    }

    /// Version `version` of model `name`, if it is loaded. Waits while that version is loading.
    pub fn get(&self, name: &str, version: &str) -> Option<Arc<ModelPipeline>> {
        self.loaded.get(name, version)
    }

    /// Version `version` of model `name`, if it is loaded and not loading: never waits, so an
    /// async caller may ask without leaving its thread.
    pub fn try_get(&self, name: &str, version: &str) -> Option<Arc<ModelPipeline>> {
        self.loaded.try_get(name, version)
    }

    /// Drops every model version `keep` refuses, so a node holds only what its assignments
    /// name. A caller in the middle of a prediction keeps its model until it is done.
    pub fn retain(&self, keep: impl Fn(&str, &str) -> bool) {
        lock(&self.loaded.slots).retain(|(name, version), _| keep(name, version));
        self.keep_within_bound(&(String::new(), String::new()));
    }

    /// Drops the least recently used versions other than `keep` until the loaded ones fit the
    /// bound, and records the memory held. A version still loading is neither counted nor
    /// dropped (its loader holds its slot); a caller in the middle of a prediction keeps its
    /// model until it is done.
    fn keep_within_bound(&self, keep: &Key) {
        let mut slots = lock(&self.loaded.slots);
        // (key, last use, estimate) of every loaded version.
        let mut held: Vec<(Key, u64, u64)> = slots
            .iter()
            .filter_map(|(key, entry)| {
                let pipeline = entry.slot.try_lock().ok()?.clone()?;
                Some((key.clone(), entry.used, pipeline.memory_estimate()))
            })
            .collect();
        let mut total: u64 = held.iter().map(|(_, _, bytes)| bytes).sum();
        if let Some(bound) = self.bound {
            held.sort_by_key(|(_, used, _)| *used);
            for (key, _, bytes) in held {
                if total <= bound {
                    break;
                }
                if &key == keep {
                    continue;
                }
                slots.remove(&key);
                total -= bytes;
                self.catalog_metrics
                    .evictions
                    .get_or_create(&VersionLabels {
                        model: key.0,
                        version: key.1,
                    })
                    .inc();
            }
        }
        self.catalog_metrics
            .held_bytes
            .set(i64::try_from(total).unwrap_or(i64::MAX));
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
    /// The slot of a model version, made empty if it has none yet; counts as a use of it.
    fn slot(&self, name: &str, version: &str) -> Slot {
        let used = self.tick();
        let mut slots = lock(&self.slots);
        let entry = slots
            .entry((name.to_string(), version.to_string()))
            .or_insert_with(|| Entry {
                slot: Slot::default(),
                used,
            });
        entry.used = used;
        entry.slot.clone()
    }

    /// The loaded model version, if any, waiting while it loads; counts as a use of it.
    pub(crate) fn get(&self, name: &str, version: &str) -> Option<Arc<ModelPipeline>> {
        let slot = self.used_slot(name, version)?;
        lock(&slot).clone()
    }

    /// The loaded model version, if any and not loading; counts as a use of it.
    pub(crate) fn try_get(&self, name: &str, version: &str) -> Option<Arc<ModelPipeline>> {
        let slot = self.used_slot(name, version)?;
        slot.try_lock().ok()?.clone()
    }

    /// The existing slot of a model version, marked as used now.
    fn used_slot(&self, name: &str, version: &str) -> Option<Slot> {
        let used = self.tick();
        let mut slots = lock(&self.slots);
        let entry = slots.get_mut(&(name.to_string(), version.to_string()))?;
        entry.used = used;
        Some(entry.slot.clone())
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }
}

/// A lock that a panic elsewhere does not spoil: a slot is only ever set to a loaded model, so
/// whatever a panicking loader left behind is still consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
