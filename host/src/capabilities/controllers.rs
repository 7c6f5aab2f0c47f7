//! `trellis:platform/controllers`: commands to the instance's controller roles.
//!
//! A command may wait on its bus (a Kafka broker's acknowledgement), where epoch interruption
//! cannot reach the app's call. So the sink is handed the call's deadline and waits no later;
//! a send that failed at the deadline ends the app's call as a deadline miss, as a sleep does.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{HasData, Linker};

use super::{params_size, too_large};
use crate::bindings::trellis::platform::controllers as wit;
use crate::deadline_poll::DeadlineReached;
use crate::instance_state::InstanceState;
use crate::types::{Command, Error, InstanceInfo};

/// Where an instance's controller commands go: the bus topic of each bound controller.
pub trait ControllerSink: Send + Sync {
    /// Delivers `command` to the instances bound to `role`, or to the one named `instance_id`,
    /// waiting on the bus no later than `deadline` (`None`: no bound).
    fn send(
        &self,
        role: &str,
        instance_id: Option<&str>,
        command: Command,
        deadline: Option<Instant>,
    ) -> Result<(), Error>;
    /// The instances bound to `role`.
    fn instances(&self, role: &str) -> Result<Vec<InstanceInfo>, Error>;
}

/// A sink with no roles bound.
pub struct Unbound;

impl ControllerSink for Unbound {
    fn send(
        &self,
        role: &str,
        _instance_id: Option<&str>,
        _command: Command,
        _deadline: Option<Instant>,
    ) -> Result<(), Error> {
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

/// An instance's controllers, and when the call in progress must end (`None`: no bound).
struct Bounded<'a> {
    ctx: &'a ControllersCtx,
    deadline: Option<Instant>,
}

struct BoundedControllers;

impl HasData for BoundedControllers {
    type Data<'a> = Bounded<'a>;
}

impl Bounded<'_> {
    fn checked_send(
        &self,
        role: &str,
        instance_id: Option<&str>,
        command: Command,
    ) -> wasmtime::Result<Result<(), Error>> {
        let size = command.name.len() + params_size(&command.params);
        if size > self.ctx.max_message_bytes {
            return Ok(Err(too_large(
                "the command",
                size,
                self.ctx.max_message_bytes,
            )));
        }
        let sent = self
            .ctx
            .sink
            .send(role, instance_id, command, self.deadline);
        if sent.is_err() && self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(wasmtime::Error::new(DeadlineReached));
        }
        Ok(sent)
    }
}

impl wit::Host for Bounded<'_> {
    fn send(&mut self, role: String, command: Command) -> wasmtime::Result<Result<(), Error>> {
        self.checked_send(&role, None, command)
    }
    fn send_to(
        &mut self,
        role: String,
        instance_id: String,
        command: Command,
    ) -> wasmtime::Result<Result<(), Error>> {
        self.checked_send(&role, Some(&instance_id), command)
    }
    fn instances(&mut self, role: String) -> Result<Vec<InstanceInfo>, Error> {
        self.ctx.sink.instances(&role)
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<_, BoundedControllers>(linker, |s| Bounded {
        ctx: &s.controllers,
        deadline: s.call_deadline,
    })
}
