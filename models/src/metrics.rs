//! What a process's models tell Prometheus: requests and latency of each model version in its
//! runtime, how long a call waited for a contract instance, and how many rows each batched run
//! took. The families are handles, so
//! the catalog and every pipeline it loads record into the ones the process registered.
//! Labels are model names and versions the process has loaded, so their number stays bounded.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// One model version in one runtime.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    pub model: String,
    pub version: String,
    pub runtime: String,
}

/// A prediction's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub model: String,
    pub version: String,
    pub runtime: String,
    /// `ok` or `error`.
    pub outcome: String,
}

/// How a call got its contract instance: `reused` from the pool, or `started` because the pool
/// was empty (the call waited for a new instance).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    pub model: String,
    pub version: String,
    pub source: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// The inference families; cheap to clone (each is a handle).
#[derive(Clone, Debug)]
pub struct InferenceMetrics {
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) latency: Histograms<ModelLabels>,
    pub(crate) contract_waits: Histograms<PoolLabels>,
    pub(crate) batch_rows: Histograms<ModelLabels>,
}

/// From 100 µs to about 13 s: a contract instance from the pool takes microseconds, a large
/// model seconds.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 4.0, 9))
}

/// 1 to 1024 rows, by powers of two: `[batching] max-batch` is at most 1024.
fn rows() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 11))
}

impl Default for InferenceMetrics {
    fn default() -> InferenceMetrics {
        InferenceMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(seconds),
            contract_waits: Family::new_with_constructor(seconds),
            batch_rows: Family::new_with_constructor(rows),
        }
    }
}

impl InferenceMetrics {
    /// Adds the families to `registry` (once per registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "trellis_inference_requests",
            "Predictions by model, version, runtime and outcome",
            self.requests.clone(),
        );
        registry.register(
            "trellis_inference_duration_seconds",
            "Time of a whole prediction (preprocess, model, postprocess)",
            self.latency.clone(),
        );
        registry.register(
            "trellis_contract_pool_wait_seconds",
            "Time a prediction waited for a contract instance, by where it came from",
            self.contract_waits.clone(),
        );
        registry.register(
            "trellis_inference_batch_rows",
            "Rows in each run of a model that batches its callers ([batching] in model.toml)",
            self.batch_rows.clone(),
        );
    }
}

/// One pipeline's series in the inference families, looked up once when it is measured: a
/// prediction then records without building labels, hashing them or locking a family. The
/// families never drop a series, so a handle stays the one that is scraped.
#[derive(Clone, Debug)]
pub(crate) struct PipelineMeters {
    pub ok: Counter,
    pub failed: Counter,
    pub latency: Histogram,
    pub contract_reused: Histogram,
    pub contract_started: Histogram,
    /// Only for a model that batches, so others export no empty series.
    pub batch_rows: Option<Histogram>,
}

impl InferenceMetrics {
    /// The series of model `labels`' version; `batches` where it gathers callers into batches.
    pub(crate) fn for_pipeline(&self, labels: &ModelLabels, batches: bool) -> PipelineMeters {
        let requests = |outcome: &str| {
            self.requests
                .get_or_create(&RequestLabels {
                    model: labels.model.clone(),
                    version: labels.version.clone(),
                    runtime: labels.runtime.clone(),
                    outcome: outcome.into(),
                })
                .clone()
        };
        let waits = |source: &str| {
            self.contract_waits
                .get_or_create(&PoolLabels {
                    model: labels.model.clone(),
                    version: labels.version.clone(),
                    source: source.into(),
                })
                .clone()
        };
        PipelineMeters {
            ok: requests("ok"),
            failed: requests("error"),
            latency: self.latency.get_or_create(labels).clone(),
            contract_reused: waits("reused"),
            contract_started: waits("started"),
            batch_rows: batches.then(|| self.batch_rows.get_or_create(labels).clone()),
        }
    }
}

/// One model version.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    pub model: String,
    pub version: String,
}

/// What one catalog does with its models: loads, evictions and the memory it holds (by its
/// estimate). Kept apart from [`InferenceMetrics`], which a control plane shares with its
/// embedded node: these describe one catalog, the control plane's.
#[derive(Clone, Debug, Default)]
pub struct CatalogMetrics {
    pub(crate) loads: Family<VersionLabels, Counter>,
    pub(crate) evictions: Family<VersionLabels, Counter>,
    pub(crate) held_bytes: Gauge,
}

impl CatalogMetrics {
    /// Adds the families to `registry` (once per registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "trellis_model_loads",
            "Model versions checked and loaded into a runtime, by model and version",
            self.loads.clone(),
        );
        registry.register(
            "trellis_model_evictions",
            "Model versions dropped from the model cache to stay within its bound",
            self.evictions.clone(),
        );
        registry.register(
            "trellis_model_cache_bytes",
            "Estimated memory of the model versions the cache holds (their package files' size)",
            self.held_bytes.clone(),
        );
    }
}
