//! A loaded app component and its running instances.

use std::time::Duration;

use wasmtime::component::InstancePre;
use wasmtime::{Store, Trap, WasmBacktrace};

use crate::bindings::{App, AppPre};
use crate::capabilities::Capabilities;
use crate::compile_cache::CacheOutcome;
use crate::engine::HostConfig;
use crate::error::{CallError, LoadError};
use crate::instance_state::InstanceState;
use crate::limits::InstanceLimits;
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
        if limits.memory_bytes > self.host.max_memory_bytes {
            return Err(CallError::ResourceLimit {
                export: "instantiate".into(),
                detail: format!(
                    "asked for {} bytes of memory; this host allows at most {}",
                    limits.memory_bytes, self.host.max_memory_bytes
                ),
            });
        }
        let deadline_ticks = deadline_ticks(limits.call_deadline, self.host.epoch_tick);
        let mut store = Store::new(self.pre.engine(), InstanceState::new(caps, &limits));
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(deadline_ticks);
        match self.pre.instantiate(&mut store) {
            Ok(bindings) => Ok(AppInstance {
                store,
                bindings,
                limits,
                deadline_ticks,
                stopped: false,
            }),
            Err(error) => Err(explain(
                &mut store,
                "instantiate",
                error,
                limits.call_deadline,
            )),
        }
    }
}

/// One running app instance. A call that traps stops the instance for good; the caller starts a
/// fresh one (which is cheap) if it wants to go on.
pub struct AppInstance {
    store: Store<InstanceState>,
    bindings: App,
    limits: InstanceLimits,
    deadline_ticks: u64,
    stopped: bool,
}

impl AppInstance {
    /// Calls the app's `init` export with the deployment's parameters.
    pub fn init(&mut self) -> Result<(), CallError> {
        let config = self.store.data().config.params.clone();
        self.call("init", |app, store| app.call_init(store, &config))
    }

    /// Hands one sensor reading to the app.
    pub fn on_reading(&mut self, reading: &Reading) -> Result<(), CallError> {
        self.call("on-reading", |app, store| {
            app.call_on_reading(store, reading)
        })
    }

    /// Calls the app's `on-tick` export.
    pub fn on_tick(&mut self) -> Result<(), CallError> {
        self.call("on-tick", |app, store| app.call_on_tick(store))
    }

    /// True once a call has trapped; every later call returns [`CallError::Stopped`].
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    fn call(
        &mut self,
        export: &str,
        call: impl FnOnce(&App, &mut Store<InstanceState>) -> wasmtime::Result<Result<(), String>>,
    ) -> Result<(), CallError> {
        if self.stopped {
            return Err(CallError::Stopped);
        }
        self.store.data_mut().limiter.take_refusal();
        self.store.data().stderr.take_recent();
        self.store.set_epoch_deadline(self.deadline_ticks);
        match call(&self.bindings, &mut self.store) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) if message.len() > self.limits.max_message_bytes => {
                Err(CallError::ResultTooLarge {
                    export: export.into(),
                    bytes: message.len(),
                    limit: self.limits.max_message_bytes,
                })
            }
            Ok(Err(message)) => Err(CallError::Failed {
                export: export.into(),
                message,
            }),
            Err(error) => {
                self.stopped = true;
                Err(explain(
                    &mut self.store,
                    export,
                    error,
                    self.limits.call_deadline,
                ))
            }
        }
    }
}

/// The function that fills the top of the backtrace, if one does: the mark of runaway recursion.
fn repeating_function(backtrace: &WasmBacktrace) -> Option<String> {
    const REPEATS: usize = 16;
    let frames = backtrace.frames();
    let first = frames.first()?.func_name()?;
    let repeats = frames
        .iter()
        .take(REPEATS)
        .all(|f| f.func_name() == Some(first));
    (frames.len() >= REPEATS && repeats).then(|| format!("{:#}", rustc_demangle::demangle(first)))
}

/// Enough epoch ticks that a call gets at least its whole deadline.
fn deadline_ticks(deadline: Duration, tick: Duration) -> u64 {
    let tick = tick.as_nanos().max(1);
    (deadline.as_nanos().div_ceil(tick) + 1) as u64
}

/// Turns a wasmtime error into the limit or trap that caused it.
fn explain(
    store: &mut Store<InstanceState>,
    export: &str,
    error: wasmtime::Error,
    deadline: Duration,
) -> CallError {
    let export = export.to_string();
    if let Some(detail) = store.data_mut().limiter.take_refusal() {
        return CallError::ResourceLimit { export, detail };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => CallError::DeadlineExceeded { export, deadline },
        Some(Trap::StackOverflow) => CallError::StackExhausted { export },
        Some(trap) => {
            let mut message = trap.to_string();
            let said = store.data().stderr.take_recent();
            if !said.is_empty() {
                message.push_str("; the guest said: ");
                message.push_str(&said.join(" | "));
            }
            if let Some(backtrace) = error.downcast_ref::<WasmBacktrace>() {
                if let Some(function) = repeating_function(backtrace) {
                    message.push_str(&format!(
                        " (runaway recursion in `{function}` overflowing the guest's stack?)"
                    ));
                }
                message.push_str(&format!("\n{backtrace}"));
            }
            CallError::Trap { export, message }
        }
        None => CallError::Trap {
            export,
            message: format!("{error:#}"),
        },
    }
}
