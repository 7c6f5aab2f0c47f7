//! What one app or contract instance may use.

use std::time::Duration;

/// Per-instance limits. Exceeding one stops the call with a [`crate::CallError`] that names it.
#[derive(Clone, Debug)]
pub struct InstanceLimits {
    /// Most linear memory, in bytes, across all the instance's memories. Must not exceed
    /// [`crate::HostConfig::max_memory_bytes`].
    pub memory_bytes: usize,
    /// Wall-clock time one call (`init`, `on-reading`, `on-tick`) may run.
    pub call_deadline: Duration,
    /// Most elements any one table may hold.
    pub table_elements: usize,
    /// Most core instances, tables and memories the component may create.
    pub max_instances: usize,
    pub max_tables: usize,
    pub max_memories: usize,
    /// Longest log line kept; longer ones are cut and say how much was cut.
    pub max_log_line_bytes: usize,
    /// Largest message a guest may hand to the host: a command, a state value, a notification, a
    /// model input, the error text an export returns.
    pub max_message_bytes: usize,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        InstanceLimits {
            memory_bytes: 64 << 20,
            call_deadline: Duration::from_secs(1),
            table_elements: 100_000,
            max_instances: 16,
            max_tables: 16,
            max_memories: 4,
            max_log_line_bytes: 4 << 10,
            max_message_bytes: 1 << 20,
        }
    }
}
