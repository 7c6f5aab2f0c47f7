//! `trellis:platform/sensors`: readings of the instance's sensor roles.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::trellis::platform::sensors as wit;
use crate::instance_state::InstanceState;
use crate::types::{Error, InstanceInfo, Reading};

/// Where an instance's sensor readings come from: the node's view of its bound instances.
pub trait SensorSource: Send + Sync {
    /// The most recent reading of any instance bound to `role`.
    fn latest(&self, role: &str) -> Result<Option<Reading>, Error>;
    /// Up to `max` recent readings of the instances bound to `role`, oldest first.
    fn history(&self, role: &str, max: u32) -> Result<Vec<Reading>, Error>;
    /// The instances bound to `role`.
    fn instances(&self, role: &str) -> Result<Vec<InstanceInfo>, Error>;
}

/// A source with no roles bound.
pub struct Unbound;

impl SensorSource for Unbound {
    fn latest(&self, role: &str) -> Result<Option<Reading>, Error> {
        Err(unknown(role))
    }
    fn history(&self, role: &str, _max: u32) -> Result<Vec<Reading>, Error> {
        Err(unknown(role))
    }
    fn instances(&self, role: &str) -> Result<Vec<InstanceInfo>, Error> {
        Err(unknown(role))
    }
}

/// The error for a sensor role that is not bound to this instance.
pub fn unknown(role: &str) -> Error {
    Error::UnknownRole(format!("no sensor is bound to the role `{role}`"))
}

pub(crate) struct SensorsCtx {
    pub(crate) source: Arc<dyn SensorSource>,
}

impl wit::Host for SensorsCtx {
    fn latest(&mut self, role: String) -> Result<Option<Reading>, Error> {
        self.source.latest(&role)
    }
    fn history(&mut self, role: String, max: u32) -> Result<Vec<Reading>, Error> {
        self.source.history(&role, max)
    }
    fn instances(&mut self, role: String) -> Result<Vec<InstanceInfo>, Error> {
        self.source.instances(&role)
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<_, HasSelf<SensorsCtx>>(linker, |s| &mut s.sensors)
}
