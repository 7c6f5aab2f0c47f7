//! `trellis:platform/config`: the deployment's parameters.

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::trellis::platform::config as wit;
use crate::instance_state::InstanceState;
use crate::types::{Param, Value};

pub(crate) struct ConfigCtx {
    pub(crate) params: Vec<Param>,
}

impl wit::Host for ConfigCtx {
    fn get(&mut self, name: String) -> Option<Value> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.clone())
    }
    fn all(&mut self) -> Vec<Param> {
        self.params.clone()
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<_, HasSelf<ConfigCtx>>(linker, |s| &mut s.config)
}
