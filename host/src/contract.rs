//! A loaded model contract and its instances: the sandboxed pre- and post-processing around a
//! model.

use std::sync::Arc;

use wasmtime::component::InstancePre;

use crate::bindings::contract::{Contract, ContractPre};
use crate::capabilities::{Capabilities, LogSink, value_size};
use crate::compile_cache::CacheOutcome;
use crate::engine::HostConfig;
use crate::error::{CallError, LoadError};
use crate::instance_state::InstanceState;
use crate::limits::InstanceLimits;
use crate::sandbox::Sandbox;
use crate::types::{Tensor, Value};
use crate::world_check::CONTRACT_WORLD;

/// A contract component, compiled, checked against the `contract` world and linked.
pub struct ContractComponent {
    pre: ContractPre<InstanceState>,
    cache: CacheOutcome,
    host: HostConfig,
}

impl ContractComponent {
    pub(crate) fn new(
        pre: InstancePre<InstanceState>,
        cache: CacheOutcome,
        host: HostConfig,
    ) -> Result<ContractComponent, LoadError> {
        let pre = ContractPre::new(pre).map_err(|e| LoadError::WorldMismatch {
            world: CONTRACT_WORLD,
            problems: format!("{e:#}"),
        })?;
        Ok(ContractComponent { pre, cache, host })
    }

    /// Whether this component was compiled now or loaded from the compile cache.
    pub fn cache_outcome(&self) -> CacheOutcome {
        self.cache
    }

    /// Starts a sandboxed instance whose log goes to `log`. A contract sees nothing else.
    pub fn instantiate(
        &self,
        log: Arc<dyn LogSink>,
        limits: InstanceLimits,
    ) -> Result<ContractInstance, CallError> {
        let caps = Capabilities {
            log,
            ..Capabilities::default()
        };
        let (sandbox, bindings) =
            Sandbox::start(self.pre.engine(), &self.host, caps, limits, |store| {
                self.pre.instantiate(store)
            })?;
        Ok(ContractInstance { sandbox, bindings })
    }
}

/// One running contract instance.
pub struct ContractInstance {
    sandbox: Sandbox,
    bindings: Contract,
}

impl ContractInstance {
    /// Turns an input into the model's input tensors.
    pub fn preprocess(&mut self, input: &Value) -> Result<Vec<Tensor>, CallError> {
        let contract = &self.bindings;
        let tensors = self
            .sandbox
            .call("preprocess", |store| contract.call_preprocess(store, input))?;
        let bytes = tensors.iter().map(|t| t.data.len()).sum();
        self.check_size("preprocess", bytes)?;
        Ok(tensors)
    }

    /// Turns the model's output tensors into the answer.
    pub fn postprocess(&mut self, outputs: &[Tensor]) -> Result<Value, CallError> {
        let contract = &self.bindings;
        let answer = self.sandbox.call("postprocess", |store| {
            contract.call_postprocess(store, outputs)
        })?;
        self.check_size("postprocess", value_size(&answer))?;
        Ok(answer)
    }

    /// True once a call has trapped; every later call returns [`CallError::Stopped`].
    pub fn is_stopped(&self) -> bool {
        self.sandbox.is_stopped()
    }

    fn check_size(&self, export: &str, bytes: usize) -> Result<(), CallError> {
        let limit = self.sandbox.limits().max_message_bytes;
        if bytes > limit {
            return Err(CallError::ResultTooLarge {
                export: export.into(),
                bytes,
                limit,
            });
        }
        Ok(())
    }
}
