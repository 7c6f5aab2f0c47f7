//! A loaded app component and its running instances.

use wasmtime::component::InstancePre;

use crate::bindings::{App, AppPre};
use crate::capabilities::Capabilities;
use crate::compile_cache::CacheOutcome;
use crate::engine::HostConfig;
use crate::error::{CallError, LoadError};
use crate::instance_state::InstanceState;
use crate::limits::InstanceLimits;
use crate::sandbox::Sandbox;
use crate::types::Reading;
use crate::world_check::APP_WORLD;

/// An app component, compiled, checked against the `app` world and linked: instantiating it
/// costs microseconds.
pub struct AppComponent {
    pre: AppPre<InstanceState>,
    cache: CacheOutcome,
    host: HostConfig,
}

impl AppComponent {
    pub(crate) fn new(
        pre: InstancePre<InstanceState>,
        cache: CacheOutcome,
        host: HostConfig,
    ) -> Result<AppComponent, LoadError> {
        // Type-checks every export's signature against the world.
        let pre = AppPre::new(pre).map_err(|e| LoadError::WorldMismatch {
            world: APP_WORLD,
            problems: format!("{e:#}"),
        })?;
        Ok(AppComponent { pre, cache, host })
    }

    /// Whether this component was compiled now or loaded from the compile cache.
    pub fn cache_outcome(&self) -> CacheOutcome {
        self.cache
    }

    /// Starts a sandboxed instance wired to `caps`, within `limits`. Call [`AppInstance::init`]
    /// before anything else.
    pub fn instantiate(
        &self,
        caps: Capabilities,
        limits: InstanceLimits,
    ) -> Result<AppInstance, CallError> {
        let (sandbox, bindings) =
            Sandbox::start(self.pre.engine(), &self.host, caps, limits, |store| {
                self.pre.instantiate(store)
            })?;
        Ok(AppInstance { sandbox, bindings })
    }
}

/// One running app instance. A call that traps stops the instance for good; the caller starts a
/// fresh one (which is cheap) if it wants to go on.
pub struct AppInstance {
    sandbox: Sandbox,
    bindings: App,
}

impl AppInstance {
    /// Calls the app's `init` export with the deployment's parameters.
    pub fn init(&mut self) -> Result<(), CallError> {
        let config = self.sandbox.store.data().config.params.clone();
        let app = &self.bindings;
        self.sandbox
            .call("init", |store| app.call_init(store, &config))
    }

    /// Hands one sensor reading to the app.
    pub fn on_reading(&mut self, reading: &Reading) -> Result<(), CallError> {
        let app = &self.bindings;
        self.sandbox
            .call("on-reading", |store| app.call_on_reading(store, reading))
    }

    /// Calls the app's `on-tick` export.
    pub fn on_tick(&mut self) -> Result<(), CallError> {
        let app = &self.bindings;
        self.sandbox
            .call("on-tick", |store| app.call_on_tick(store))
    }

    /// True once a call has trapped; every later call returns [`CallError::Stopped`].
    pub fn is_stopped(&self) -> bool {
        self.sandbox.is_stopped()
    }

    /// Bytes of linear memory the instance holds now (what it costs a node, besides the
    /// compiled code every instance of the component shares).
    pub fn memory_in_use(&self) -> usize {
        self.sandbox.memory_in_use()
    }
}
