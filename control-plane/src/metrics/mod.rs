//! What the control plane tells Prometheus, at `GET /metrics` in the text format (0.0.4): HTTP
//! requests by route and status ([`http`]), readings the device gateway took per sensor,
//! predictions per model (the model catalog records them), and, read from the registry at each
//! scrape, every node's heartbeat age and last reported CPU, memory and temperature, and the
//! instances by state. `trellis up` adds its embedded node's families to the same registry.
//!
//! Labels are route templates, sensor ids, node names and model versions: things an operator
//! registered, never raw URIs or values, so the number of series stays bounded.

pub mod http;
pub mod listener;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use trellis_models::InferenceMetrics;
use trellis_protocol::node::NodeReport;

use crate::db;
use crate::error::ApiResult;
use crate::ids::now_ms;
use crate::state::AppState;

/// The `Content-Type` of the text format.
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route's template (`/api/v1/sensors/{id}`), or `unmatched`.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SensorLabels {
    pub sensor: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NodeLabels {
    pub node: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    process: String,
}

type FloatGauges<L> = Family<L, Gauge<f64, AtomicU64>>;

/// The control plane's families and the registry they are encoded from.
pub struct PlaneMetrics {
    registry: Mutex<Registry>,
    pub http_requests: Family<RequestLabels, Counter>,
    pub http_latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub gateway_readings: Family<SensorLabels, Counter>,
    pub inference: InferenceMetrics,
    heartbeat_age: FloatGauges<NodeLabels>,
    node_cpu: FloatGauges<NodeLabels>,
    node_memory_used: FloatGauges<NodeLabels>,
    node_memory_total: FloatGauges<NodeLabels>,
    node_temperature: FloatGauges<NodeLabels>,
    instances: Family<StateLabels, Gauge>,
}

/// From 1 ms to about 16 s (a long-poll waits up to 20 s and lands in `+Inf`).
fn request_seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl PlaneMetrics {
    pub fn new() -> PlaneMetrics {
        let metrics = PlaneMetrics {
            registry: Mutex::new(Registry::default()),
            http_requests: Family::default(),
            http_latency: Family::new_with_constructor(request_seconds),
            gateway_readings: Family::default(),
            inference: InferenceMetrics::default(),
            heartbeat_age: Family::default(),
            node_cpu: Family::default(),
            node_memory_used: Family::default(),
            node_memory_total: Family::default(),
            node_temperature: Family::default(),
            instances: Family::default(),
        };
        metrics.register(|registry| {
            let build: Family<BuildLabels, Gauge> = Family::default();
            build
                .get_or_create(&BuildLabels {
                    version: env!("CARGO_PKG_VERSION").into(),
                    process: "control-plane".into(),
                })
                .set(1);
            registry.register(
                "trellis_build_info",
                "Always 1; the labels say which version of which process this is",
                build,
            );
            registry.register(
                "trellis_http_requests",
                "HTTP requests answered, by method, route template and status",
                metrics.http_requests.clone(),
            );
            registry.register(
                "trellis_http_request_duration_seconds",
                "Time to answer an HTTP request, by method and route template",
                metrics.http_latency.clone(),
            );
            registry.register(
                "trellis_gateway_readings",
                "Readings the device gateway put on the bus, by sensor",
                metrics.gateway_readings.clone(),
            );
            metrics.inference.register(registry);
            registry.register(
                "trellis_node_heartbeat_age_seconds",
                "Time since each node's last heartbeat",
                metrics.heartbeat_age.clone(),
            );
            registry.register(
                "trellis_node_cpu_ratio",
                "CPU use each node last reported (0 to 1)",
                metrics.node_cpu.clone(),
            );
            registry.register(
                "trellis_node_memory_used_bytes",
                "Memory in use each node last reported",
                metrics.node_memory_used.clone(),
            );
            registry.register(
                "trellis_node_memory_total_bytes",
                "Memory each node last reported it has",
                metrics.node_memory_total.clone(),
            );
            registry.register(
                "trellis_node_temperature_celsius",
                "CPU temperature each node last reported, where its OS exposes one",
                metrics.node_temperature.clone(),
            );
            registry.register(
                "trellis_instances",
                "Instances of live deployments, by state, as the control plane holds them",
                metrics.instances.clone(),
            );
        });
        metrics
    }

    /// Adds families to the registry `/metrics` encodes (an embedded node's, say).
    pub fn register(&self, add: impl FnOnce(&mut Registry)) {
        add(&mut self.registry.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Reads what the registry knows of nodes and instances now, then encodes every family.
    pub async fn render(&self, state: &AppState) -> ApiResult<String> {
        self.sample_registry(state).await?;
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
            .map_err(crate::error::ApiError::internal)?;
        Ok(text)
    }

    async fn sample_registry(&self, state: &AppState) -> ApiResult<()> {
        let nodes = db::nodes::list(&state.db).await?;
        let by_state = db::instances::count_by_state(&state.db).await?;
        let now = now_ms();
        // Cleared first, so a removed node or an emptied state leaves no stale series.
        for family in [
            &self.heartbeat_age,
            &self.node_cpu,
            &self.node_memory_used,
            &self.node_memory_total,
            &self.node_temperature,
        ] {
            family.clear();
        }
        self.instances.clear();
        for node in nodes {
            let labels = NodeLabels { node: node.name };
            if let Some(seen) = node.last_seen {
                let age = (now - seen).max(0) as f64 / 1000.0;
                self.heartbeat_age.get_or_create(&labels).set(age);
            }
            let report = node
                .report
                .and_then(|r| serde_json::from_str::<NodeReport>(&r).ok());
            if let Some(NodeReport { metrics, .. }) = report {
                self.node_cpu
                    .get_or_create(&labels)
                    .set(metrics.cpu_percent / 100.0);
                self.node_memory_used
                    .get_or_create(&labels)
                    .set(metrics.memory_used_mb * 1048576.0);
                self.node_memory_total
                    .get_or_create(&labels)
                    .set(metrics.memory_total_mb * 1048576.0);
                if let Some(celsius) = metrics.temperature_c {
                    self.node_temperature.get_or_create(&labels).set(celsius);
                }
            }
        }
        for (state, count) in by_state {
            self.instances
                .get_or_create(&StateLabels { state })
                .set(count);
        }
        Ok(())
    }
}

impl Default for PlaneMetrics {
    fn default() -> PlaneMetrics {
        PlaneMetrics::new()
    }
}

/// The metrics of a process, shared by every handler.
pub type SharedMetrics = Arc<PlaneMetrics>;
