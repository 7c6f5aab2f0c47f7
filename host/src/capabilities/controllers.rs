//! `trellis:platform/controllers`: commands to the instance's controller roles.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::{params_size, too_large};
use crate::bindings::trellis::platform::controllers as wit;
use crate::instance_state::InstanceState;
use crate::types::{Command, Error, InstanceInfo};

/// Where an instance's controller commands go: the bus topic of each bound controller.
pub trait ControllerSink: Send + Sync {
    /// Delivers `command` to the instances bound to `role`, or to the one named `instance_id`.
    fn send(&self, role: &str, instance_id: Option<&str>, command: Command) -> Result<(), Error>;
    /// The instances bound to `role`.
    fn instances(&self, role: &str) -> Result<Vec<InstanceInfo>, Error>;
}

/// A sink with no roles bound.
pub struct Unbound;

impl ControllerSink for Unbound {
    fn send(&self, role: &str, _instance_id: Option<&str>, _command: Command) -> Result<(), Error> {
        Err(unknown(role))
    }
    fn instances(&self, role: &str) -> Result<Vec<InstanceInfo>, Error> {
        Err(unknown(role))
    }
}

/// The error for a controller role that is not bound to this instance.
pub fn unknown(role: &str) -> Error {
    Error::UnknownRole(format!("no controller is bound to the role `{role}`"))
}

pub(crate) struct ControllersCtx {
    pub(crate) sink: Arc<dyn ControllerSink>,
    pub(crate) max_message_bytes: usize,
}

impl ControllersCtx {
    fn checked_send(
        &self,
        role: &str,
        instance_id: Option<&str>,
        command: Command,
    ) -> Result<(), Error> {
        let size = command.name.len() + params_size(&command.params);
        if size > self.max_message_bytes {
            return Err(too_large("the command", size, self.max_message_bytes));
        }
        self.sink.send(role, instance_id, command)
    }
}

impl wit::Host for ControllersCtx {
    fn send(&mut self, role: String, command: Command) -> Result<(), Error> {
        self.checked_send(&role, None, command)
    }
    fn send_to(
        &mut self,
        role: String,
        instance_id: String,
        command: Command,
    ) -> Result<(), Error> {
        self.checked_send(&role, Some(&instance_id), command)
    }
    fn instances(&mut self, role: String) -> Result<Vec<InstanceInfo>, Error> {
        self.sink.instances(&role)
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<_, HasSelf<ControllersCtx>>(linker, |s| &mut s.controllers)
}
