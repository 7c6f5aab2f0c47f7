//! `trellis:platform/log`: the instance's log.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::trellis::platform::log as wit;
use crate::instance_state::InstanceState;
use crate::types::Level;

/// Where an instance's log lines go. Lines arrive already cut to the instance's limit.
pub trait LogSink: Send + Sync {
    /// Records one line.
    fn write(&self, level: Level, line: &str);
}

/// Writes log lines to `tracing`.
pub struct TracingLog;

impl LogSink for TracingLog {
    fn write(&self, level: Level, line: &str) {
        match level {
            Level::Trace => tracing::trace!(target: "guest", "{line}"),
            Level::Debug => tracing::debug!(target: "guest", "{line}"),
            Level::Info => tracing::info!(target: "guest", "{line}"),
            Level::Warn => tracing::warn!(target: "guest", "{line}"),
            Level::Error => tracing::error!(target: "guest", "{line}"),
        }
    }
}

/// `text` cut to at most `max` bytes (on a character boundary), with a note of how much was cut.
pub fn cut_line(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} … [{} more bytes cut]", &text[..end], text.len() - end).into()
}

pub(crate) struct LogCtx {
    pub(crate) sink: Arc<dyn LogSink>,
    pub(crate) max_line_bytes: usize,
}

impl wit::Host for LogCtx {
    fn write(&mut self, level: Level, message: String) {
        self.sink
            .write(level, &cut_line(&message, self.max_line_bytes));
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<_, HasSelf<LogCtx>>(linker, |s| &mut s.log)
}

#[cfg(test)]
mod tests {
    use super::cut_line;

    #[test]
    fn short_lines_pass_unchanged() {
        assert_eq!(cut_line("hello", 5), "hello");
    }

    #[test]
    fn long_lines_are_cut_on_a_char_boundary_and_say_so() {
        // "é" is two bytes: cutting at 2 would split it.
        let cut = cut_line("aéé", 2);
        assert_eq!(cut, "a … [4 more bytes cut]");
    }
}
