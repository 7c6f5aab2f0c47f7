//! One module per `trellis:platform` interface. Each defines the backend trait the embedder
//! implements, the per-instance context that implements the generated `Host` trait on top of it,
//! and its `add_to_linker`. [`Capabilities`] bundles the backends one instance uses.

pub mod config;
pub mod controllers;
pub mod inference;
pub mod log;
pub mod notify;
mod recent_readings;
pub mod sensors;
pub mod state;

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::trellis::platform::types as wit_types;
use crate::instance_state::InstanceState;
use crate::types::{Param, Value};

pub use controllers::ControllerSink;
pub use inference::ModelRuntime;
pub use log::LogSink;
pub use notify::{LogNotifications, NotificationSink};
pub use recent_readings::{DEFAULT_HISTORY_BYTES, HISTORY, RecentReadings};
pub use sensors::SensorSource;
pub use state::{MemoryStateStore, StateStore};

/// The backends one app instance talks to. The defaults bind nothing: every role is unknown, no
/// model is available, logs and notifications go to `tracing`, and state lives in memory.
#[derive(Clone)]
pub struct Capabilities {
    /// Where readings of the instance's sensor roles come from.
    pub sensors: Arc<dyn SensorSource>,
    /// Where commands to the instance's controller roles go.
    pub controllers: Arc<dyn ControllerSink>,
    /// The models the instance may call.
    pub models: Arc<dyn ModelRuntime>,
    /// The instance's log, which also receives its stdout and stderr.
    pub log: Arc<dyn LogSink>,
    /// The instance's private key-value store.
    pub state: Arc<dyn StateStore>,
    /// Messages to the user who deployed the app.
    pub notifications: Arc<dyn NotificationSink>,
    /// The deployment's parameters, defaults filled in.
    pub config: Vec<Param>,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            sensors: Arc::new(sensors::Unbound),
            controllers: Arc::new(controllers::Unbound),
            models: Arc::new(inference::NoModels),
            log: Arc::new(log::TracingLog),
            state: Arc::new(MemoryStateStore::default()),
            notifications: Arc::new(notify::LogNotifications(Arc::new(log::TracingLog))),
            config: Vec::new(),
        }
    }
}

impl wit_types::Host for InstanceState {}

/// Adds every `trellis:platform` interface of the `app` world to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wit_types::add_to_linker::<_, HasSelf<InstanceState>>(linker, |s| s)?;
    sensors::add_to_linker(linker)?;
    controllers::add_to_linker(linker)?;
    inference::add_to_linker(linker)?;
    log::add_to_linker(linker)?;
    state::add_to_linker(linker)?;
    notify::add_to_linker(linker)?;
    config::add_to_linker(linker)?;
    Ok(())
}

/// Adds the interfaces a model contract may import: the shared types and `log`, nothing else.
pub(crate) fn add_contract_imports_to_linker(
    linker: &mut Linker<InstanceState>,
) -> wasmtime::Result<()> {
    wit_types::add_to_linker::<_, HasSelf<InstanceState>>(linker, |s| s)?;
    log::add_to_linker(linker)
}

/// About how many bytes a value takes, for size limits on what guests hand to the host.
pub(crate) fn value_size(value: &Value) -> usize {
    match value {
        Value::Number(_) => 8,
        Value::Numbers(n) => n.len() * 8,
        Value::Text(t) | Value::Json(t) => t.len(),
        Value::Bytes(b) => b.media_type.len() + b.data.len(),
    }
}

/// About how many bytes a list of parameters takes.
pub(crate) fn params_size(params: &[Param]) -> usize {
    params
        .iter()
        .map(|p| p.name.len() + value_size(&p.value))
        .sum()
}

/// The error a guest gets for handing the host more than `limit` bytes.
pub(crate) fn too_large(what: &str, bytes: usize, limit: usize) -> crate::types::Error {
    crate::types::Error::LimitExceeded(format!("{what} is {bytes} bytes; the limit is {limit}"))
}
