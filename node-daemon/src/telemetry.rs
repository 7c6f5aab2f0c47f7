//! What a node tells Prometheus: per deployment, the readings handled, how long `on-reading`
//! took, traps and restarts, and how far its reader is behind on the bus (where the bus can
//! tell); the node's instances by state; and the machine's CPU, memory and temperature as the
//! heartbeat samples them. Labels are deployment ids and instance states, bounded by what the
//! node is assigned.
//!
//! The families are handles: the instances record into them, and the node's own `/metrics`
//! ([`crate::metrics_endpoint`]) or, in `trellis up`, the control plane's encodes them.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use trellis_models::InferenceMetrics;
use trellis_protocol::node::{InstanceReport, Metrics};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeploymentLabels {
    pub deployment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroupLabels {
    /// The consumer group: a deployment reads as a group named after it.
    pub group: String,
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

type FloatGauge = Gauge<f64, AtomicU64>;

/// A node's families; cheap to clone (each is a handle).
#[derive(Clone, Debug)]
pub struct NodeMetrics {
    pub(crate) handled: Family<DeploymentLabels, Counter>,
    pub(crate) on_reading: Family<DeploymentLabels, Histogram, fn() -> Histogram>,
    pub(crate) reading_age: Family<DeploymentLabels, Histogram, fn() -> Histogram>,
    pub(crate) traps: Family<DeploymentLabels, Counter>,
    pub(crate) restarts: Family<DeploymentLabels, Counter>,
    pub(crate) bus_lag: Family<GroupLabels, Gauge>,
    pub(crate) bus_dropped: Family<GroupLabels, Gauge>,
    instances: Family<StateLabels, Gauge>,
    cpu: FloatGauge,
    memory_used: FloatGauge,
    memory_total: FloatGauge,
    /// Without labels; a family so that a machine without a sensor reports no series at all
    /// rather than 0 °C.
    temperature: Family<Vec<(String, String)>, FloatGauge>,
    /// The node's models record their predictions here.
    pub inference: InferenceMetrics,
    /// Where the node's `/metrics` listener was bound, once it is.
    served_at: Arc<Mutex<Option<SocketAddr>>>,
}

/// From 100 µs to about 1.6 s, past the 1 s deadline of a call.
fn call_seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

/// From 0.5 ms to about a minute, half again each step: fine enough to tell a reading handled
/// in 2 ms from one in 3 ms, wide enough for a reader that fell far behind.
fn age_seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 1.5, 29))
}

impl Default for NodeMetrics {
    fn default() -> NodeMetrics {
        NodeMetrics::with_inference(InferenceMetrics::default())
    }
}

impl NodeMetrics {
    /// Fresh families, with the models' predictions recorded into `inference` (the control
    /// plane's, for the node `trellis up` embeds).
    pub fn with_inference(inference: InferenceMetrics) -> NodeMetrics {
        NodeMetrics {
            handled: Family::default(),
            on_reading: Family::new_with_constructor(call_seconds),
            reading_age: Family::new_with_constructor(age_seconds),
            traps: Family::default(),
            restarts: Family::default(),
            bus_lag: Family::default(),
            bus_dropped: Family::default(),
            instances: Family::default(),
            cpu: FloatGauge::default(),
            memory_used: FloatGauge::default(),
            memory_total: FloatGauge::default(),
            temperature: Family::default(),
            inference,
            served_at: Arc::default(),
        }
    }

    /// Adds what the node's instances do to `registry`: the families `trellis up` adds to its
    /// control plane's, which reports the machine and the models itself.
    pub fn register_instances(&self, registry: &mut Registry) {
        registry.register(
            "trellis_readings_handled",
            "Readings a deployment's app instance handled on this node",
            self.handled.clone(),
        );
        registry.register(
            "trellis_on_reading_duration_seconds",
            "Time of each on-reading call, by deployment",
            self.on_reading.clone(),
        );
        registry.register(
            "trellis_reading_age_seconds",
            "How old each reading was when its app's on-reading began: the node's clock less \
             the reading's timestamp (the device's, or the gateway's when the device sent none)",
            self.reading_age.clone(),
        );
        registry.register(
            "trellis_instance_traps",
            "Calls that trapped (the instance was dropped), by deployment",
            self.traps.clone(),
        );
        registry.register(
            "trellis_instance_restarts",
            "Instances started again after a failure, by deployment",
            self.restarts.clone(),
        );
        registry.register(
            "trellis_bus_lag_readings",
            "Readings on a deployment's sensor topics its consumer group has not read yet \
             (only where the bus can tell without a round trip: the embedded bus)",
            self.bus_lag.clone(),
        );
        registry.register(
            "trellis_bus_dropped_readings",
            "Readings the embedded bus let go before a deployment's consumer group read them \
             (its topic's bound was reached), since the group joined",
            self.bus_dropped.clone(),
        );
        registry.register(
            "trellis_node_instances",
            "This node's instances by state, as of its last heartbeat",
            self.instances.clone(),
        );
    }

    /// Everything a standalone node serves at its own `/metrics`: the instances' families,
    /// the machine, the models' predictions and the build.
    pub fn register_all(&self, registry: &mut Registry) {
        self.register_instances(registry);
        self.inference.register(registry);
        registry.register(
            "trellis_node_cpu_ratio",
            "CPU use of this machine (0 to 1), as of the last heartbeat",
            self.cpu.clone(),
        );
        registry.register(
            "trellis_node_memory_used_bytes",
            "Memory in use on this machine, as of the last heartbeat",
            self.memory_used.clone(),
        );
        registry.register(
            "trellis_node_memory_total_bytes",
            "Memory of this machine",
            self.memory_total.clone(),
        );
        registry.register(
            "trellis_node_temperature_celsius",
            "The hottest CPU or thermal zone temperature, where the OS exposes one",
            self.temperature.clone(),
        );
        let build: Family<BuildLabels, Gauge> = Family::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").into(),
                process: "node".into(),
            })
            .set(1);
        registry.register(
            "trellis_build_info",
            "Always 1; the labels say which version of which process this is",
            build,
        );
    }

    /// Takes in a heartbeat's sample and instance states.
    pub(crate) fn observe(&self, machine: &Metrics, instances: &[InstanceReport]) {
        self.cpu.set(machine.cpu_percent / 100.0);
        self.memory_used.set(machine.memory_used_mb * 1048576.0);
        self.memory_total.set(machine.memory_total_mb * 1048576.0);
        self.temperature.clear();
        if let Some(celsius) = machine.temperature_c {
            self.temperature.get_or_create(&Vec::new()).set(celsius);
        }
        self.instances.clear();
        for report in instances {
            self.instances
                .get_or_create(&StateLabels {
                    state: report.state.as_str().into(),
                })
                .inc();
        }
    }

    /// Where the node's `/metrics` listener is bound, once it is (`None` without one).
    pub fn served_at(&self) -> Option<SocketAddr> {
        *self
            .served_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_served_at(&self, address: SocketAddr) {
        *self
            .served_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(address);
    }

    /// Forgets the lag and drops of a deployment that no longer runs here, so they do not stay
    /// frozen.
    pub(crate) fn forget_lag(&self, deployment: &str) {
        let group = GroupLabels {
            group: deployment.to_string(),
        };
        self.bus_lag.remove(&group);
        self.bus_dropped.remove(&group);
    }
}
