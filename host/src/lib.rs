//! The Trellis component host: runs apps and model contracts as sandboxed WebAssembly components
//! against the `trellis:platform` WIT package.
//!
//! One [`Host`] per process owns the wasmtime engine (component model, pooling allocator, epoch
//! interruption), the on-disk cache of compiled components and the linker. [`Host::load_app`]
//! checks that a component implements the `app` world and prepares it once; each
//! [`AppComponent::instantiate`] then gives a sandboxed [`AppInstance`] wired to the
//! [`Capabilities`] the caller supplies: where its sensor readings come from, where its
//! controller commands go, and so on.
//!
//! Each WIT interface is implemented in its own module under [`capabilities`], against a small
//! backend trait, so the node daemon and the embedded mode plug in real backends and tests plug in
//! recording ones.

mod app;
mod bindings;
pub mod capabilities;
mod compile_cache;
mod contract;
mod deadline_poll;
mod engine;
mod error;
mod guest_output;
mod instance_state;
mod limits;
pub mod manifest;
mod protocol_types;
mod sandbox;
mod world_check;

pub use app::{AppComponent, AppInstance};
pub use capabilities::Capabilities;
pub use compile_cache::CacheOutcome;
pub use contract::{ContractComponent, ContractInstance};
pub use engine::{Host, HostConfig};
pub use error::{CallError, LoadError};
pub use limits::InstanceLimits;

/// The WIT types shared by apps, contracts and backends.
pub mod types {
    pub use crate::bindings::trellis::platform::log::Level;
    pub use crate::bindings::trellis::platform::notify::Urgency;
    pub use crate::bindings::trellis::platform::types::{
        Blob, Command, Error, InstanceInfo, Param, Reading, Tensor, TensorType, Value,
    };
}

/// The version of the `trellis:platform` WIT package this host implements.
pub const WIT_PACKAGE: &str = "trellis:platform@0.1.0";
