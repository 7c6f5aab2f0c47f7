//! Everything one instance's store holds: its WASI context, its capabilities and its limiter.

use std::time::Instant;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capabilities::Capabilities;
use crate::capabilities::config::ConfigCtx;
use crate::capabilities::controllers::ControllersCtx;
use crate::capabilities::inference::InferenceCtx;
use crate::capabilities::log::LogCtx;
use crate::capabilities::notify::NotifyCtx;
use crate::capabilities::sensors::SensorsCtx;
use crate::capabilities::state::StateCtx;
use crate::guest_output::GuestOutput;
use crate::limits::InstanceLimits;
use crate::types::Level;

pub(crate) struct InstanceState {
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    /// When the call in progress must end, for the host's own waits on the guest's behalf
    /// (`crate::deadline_poll`); `None` when it lies beyond what an `Instant` can hold.
    pub(crate) call_deadline: Option<Instant>,
    pub(crate) limiter: Limiter,
    pub(crate) stderr: GuestOutput,
    pub(crate) sensors: SensorsCtx,
    pub(crate) controllers: ControllersCtx,
    pub(crate) inference: InferenceCtx,
    pub(crate) log: LogCtx,
    pub(crate) state: StateCtx,
    pub(crate) notify: NotifyCtx,
    pub(crate) config: ConfigCtx,
}

impl InstanceState {
    pub(crate) fn new(caps: Capabilities, limits: &InstanceLimits) -> InstanceState {
        let max_line = limits.max_log_line_bytes;
        let max_message = limits.max_message_bytes;
        let stderr = GuestOutput::new(caps.log.clone(), Level::Warn, max_line);
        // Deny by default: `WasiCtx::builder()` preopens no directory and passes no environment
        // variable or argument; sockets and name lookups are switched off outright.
        let wasi = WasiCtx::builder()
            .stdout(GuestOutput::new(caps.log.clone(), Level::Info, max_line))
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        InstanceState {
            wasi,
            table: ResourceTable::new(),
            call_deadline: None,
            limiter: Limiter::new(limits),
            stderr,
            sensors: SensorsCtx {
                source: caps.sensors,
            },
            controllers: ControllersCtx {
                sink: caps.controllers,
                max_message_bytes: max_message,
            },
            inference: InferenceCtx {
                runtime: caps.models,
                max_message_bytes: max_message,
            },
            log: LogCtx {
                sink: caps.log,
                max_line_bytes: max_line,
            },
            state: StateCtx {
                store: caps.state,
                max_message_bytes: max_message,
            },
            notify: NotifyCtx {
                sink: caps.notifications,
                max_message_bytes: max_message,
            },
            config: ConfigCtx {
                params: caps.config,
            },
        }
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Enforces an instance's memory, table and instance limits, and remembers what it refused so a
/// trap that follows can be explained as the limit it was.
pub(crate) struct Limiter {
    memory_bytes: usize,
    table_elements: usize,
    instances: usize,
    tables: usize,
    memories: usize,
    refused: Option<String>,
    /// Bytes of linear memory the instance holds now, across all its memories.
    memory_in_use: usize,
}

impl Limiter {
    fn new(limits: &InstanceLimits) -> Limiter {
        Limiter {
            memory_bytes: limits.memory_bytes,
            table_elements: limits.table_elements,
            instances: limits.max_instances,
            tables: limits.max_tables,
            memories: limits.max_memories,
            refused: None,
            memory_in_use: 0,
        }
    }

    /// Whether something was refused since the last call.
    pub(crate) fn has_refusal(&self) -> bool {
        self.refused.is_some()
    }

    /// What was refused since the last call, if anything.
    pub(crate) fn take_refusal(&mut self) -> Option<String> {
        self.refused.take()
    }

    /// Bytes of linear memory the instance holds now.
    pub(crate) fn memory_in_use(&self) -> usize {
        self.memory_in_use
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // The cap is on the instance's total: a component may hold several memories (one per
        // core instance that defines one), and each alone could otherwise take the whole cap.
        let total = self
            .memory_in_use
            .saturating_sub(current)
            .saturating_add(desired);
        if total > self.memory_bytes {
            let across = if total > desired {
                format!(", {total} bytes across the instance's memories")
            } else {
                String::new()
            };
            self.refused = Some(format!(
                "linear memory would grow to {desired} bytes{across}; the limit is {} bytes",
                self.memory_bytes
            ));
            return Ok(false);
        }
        self.memory_in_use = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            self.refused = Some(format!(
                "a table would grow to {desired} elements; the limit is {}",
                self.table_elements
            ));
            return Ok(false);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances
    }
    fn tables(&self) -> usize {
        self.tables
    }
    fn memories(&self) -> usize {
        self.memories
    }
}
