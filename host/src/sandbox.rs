//! One sandboxed store and the rules every call into it follows, whatever the world: limits, a
//! deadline per call, and errors that explain a trap as the limit or mistake behind it.

use std::time::{Duration, Instant};

use wasmtime::{Engine, Store, Trap, WasmBacktrace};

use crate::capabilities::Capabilities;
use crate::engine::HostConfig;
use crate::error::CallError;
use crate::instance_state::InstanceState;
use crate::limits::InstanceLimits;

pub(crate) struct Sandbox {
    pub(crate) store: Store<InstanceState>,
    limits: InstanceLimits,
    deadline_ticks: u64,
    stopped: bool,
}

impl Sandbox {
    /// A fresh store with `caps` and `limits`; `instantiate` creates the instance inside it.
    pub(crate) fn start<B>(
        engine: &Engine,
        host: &HostConfig,
        caps: Capabilities,
        limits: InstanceLimits,
        instantiate: impl FnOnce(&mut Store<InstanceState>) -> wasmtime::Result<B>,
    ) -> Result<(Sandbox, B), CallError> {
        if limits.memory_bytes > host.max_memory_bytes {
            return Err(CallError::ResourceLimit {
                export: "instantiate".into(),
                detail: format!(
                    "asked for {} bytes of memory; this host allows at most {}",
                    limits.memory_bytes, host.max_memory_bytes
                ),
            });
        }
        let deadline_ticks = deadline_ticks(limits.call_deadline, host.epoch_tick);
        let mut store = Store::new(engine, InstanceState::new(caps, &limits));
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(deadline_ticks);
        store.data_mut().call_deadline = Instant::now().checked_add(limits.call_deadline);
        match instantiate(&mut store) {
            Ok(bindings) => Ok((
                Sandbox {
                    store,
                    limits,
                    deadline_ticks,
                    stopped: false,
                },
                bindings,
            )),
            Err(error) => Err(explain(
                &mut store,
                "instantiate",
                error,
                limits.call_deadline,
            )),
        }
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Calls an export that returns `result<R, string>`, within the deadline. A trap stops the
    /// sandbox for good; an error the guest returns does not.
    pub(crate) fn call<R>(
        &mut self,
        export: &str,
        call: impl FnOnce(&mut Store<InstanceState>) -> wasmtime::Result<Result<R, String>>,
    ) -> Result<R, CallError> {
        if self.stopped {
            return Err(CallError::Stopped);
        }
        self.store.data_mut().limiter.take_refusal();
        self.store.data().stderr.forget_recent();
        self.store.set_epoch_deadline(self.deadline_ticks);
        self.store.data_mut().call_deadline = Instant::now().checked_add(self.limits.call_deadline);
        match call(&mut self.store) {
            Ok(Ok(result)) => Ok(result),
            // An engine inside the guest (JavaScript, Python) turns refused memory into an
            // exception, which reaches here as the guest's error: the limit is the cause, and a
            // heap that ran out is not to be trusted with further calls.
            Ok(Err(message)) if self.store.data().limiter.has_refusal() => {
                self.stopped = true;
                let refusal = self.store.data_mut().limiter.take_refusal();
                Err(CallError::ResourceLimit {
                    export: export.into(),
                    detail: format!(
                        "{} (the guest then failed with: {})",
                        refusal.unwrap_or_default(),
                        crate::capabilities::log::cut_line(&message, 200)
                    ),
                })
            }
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

    /// Bytes of linear memory the instance holds now.
    pub(crate) fn memory_in_use(&self) -> usize {
        self.store.data().limiter.memory_in_use()
    }

    pub(crate) fn limits(&self) -> &InstanceLimits {
        &self.limits
    }
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
    // Out of time in guest code (the epoch) or waiting in the host (`wasi:io/poll`): one miss.
    if error.is::<crate::deadline_poll::DeadlineReached>() {
        return CallError::DeadlineExceeded { export, deadline };
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

#[cfg(test)]
mod tests {
    use wasm_encoder::{
        Component, InstanceSection, MemorySection, MemoryType, Module, ModuleArg, ModuleSection,
    };
    use wasmtime::component::Linker;

    use super::*;
    use crate::Host;

    const MIB: u64 = 1 << 20;

    /// A component of `memories` core instances of one module that defines a linear memory of
    /// `mib` MiB, as the text format writes it:
    ///
    /// ```wat
    /// (component
    ///   (core module $m (memory <mib × 16 pages>))
    ///   (core instance (instantiate $m))   ;; `memories` times
    /// )
    /// ```
    fn component_with_memories(memories: u32, mib: u64) -> Vec<u8> {
        let mut memory = MemorySection::new();
        memory.memory(MemoryType {
            minimum: mib * MIB / 65536,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        let mut module = Module::new();
        module.section(&memory);
        let mut instances = InstanceSection::new();
        for _ in 0..memories {
            instances.instantiate(0, Vec::<(&str, ModuleArg)>::new());
        }
        let mut component = Component::new();
        component
            .section(&ModuleSection(&module))
            .section(&instances);
        component.finish()
    }

    /// Starts `bytes` in a sandbox within `memory_bytes`.
    fn start(host: &Host, bytes: &[u8], memory_bytes: usize) -> Result<(), CallError> {
        let engine = host.engine();
        let component = wasmtime::component::Component::new(engine, bytes).unwrap();
        let linker = Linker::new(engine);
        let limits = InstanceLimits {
            memory_bytes,
            ..InstanceLimits::default()
        };
        Sandbox::start(
            engine,
            host.config(),
            Capabilities::default(),
            limits,
            |store| linker.instantiate(store, &component),
        )
        .map(|_| ())
    }

    #[test]
    fn the_memory_cap_is_on_the_instance_total_across_its_memories() {
        let host = Host::new(crate::HostConfig::default()).unwrap();
        let cap = (64 * MIB) as usize;
        // Memories that fit together start, one or several.
        start(&host, &component_with_memories(1, 40), cap).expect("one memory of 40 MiB");
        start(&host, &component_with_memories(2, 24), cap).expect("two memories of 24 MiB");
        // Two that are each under the cap but together over it are refused, naming the limit.
        for (memories, mib) in [(2, 40), (4, 24)] {
            match start(&host, &component_with_memories(memories, mib), cap) {
                Err(CallError::ResourceLimit { export, detail }) => {
                    assert_eq!(export, "instantiate");
                    assert!(
                        detail.contains(&format!("the limit is {cap} bytes")),
                        "{detail}"
                    );
                    assert!(
                        detail.contains("across the instance's memories"),
                        "{detail}"
                    );
                }
                other => panic!(
                    "{memories} memories of {mib} MiB: expected the memory limit, got {other:?}"
                ),
            }
        }
    }
}
