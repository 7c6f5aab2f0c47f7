//! A guest's stdout and stderr, turned into log lines of its instance.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use crate::capabilities::LogSink;
use crate::capabilities::log::cut_line;
use crate::types::Level;

/// How many of the last lines written to stderr are kept to explain a trap (a Rust panic prints
/// its message there just before trapping).
const RECENT_LINES: usize = 8;

/// One output stream of one instance. Cloning shares the line buffer.
#[derive(Clone)]
pub(crate) struct GuestOutput {
    buffer: Arc<Mutex<LineBuffer>>,
}

struct LineBuffer {
    sink: Arc<dyn LogSink>,
    level: Level,
    max_line_bytes: usize,
    line: Vec<u8>,
    cut_bytes: usize,
    recent: Vec<String>,
}

impl GuestOutput {
    pub(crate) fn new(sink: Arc<dyn LogSink>, level: Level, max_line_bytes: usize) -> GuestOutput {
        GuestOutput {
            buffer: Arc::new(Mutex::new(LineBuffer {
                sink,
                level,
                max_line_bytes,
                line: Vec::new(),
                cut_bytes: 0,
                recent: Vec::new(),
            })),
        }
    }

    fn write_bytes(&self, bytes: &[u8]) {
        self.buffer.lock().unwrap().push(bytes);
    }

    /// Forgets the lines kept so far, at the start of a call, leaving an unfinished line to be
    /// finished by the guest.
    pub(crate) fn forget_recent(&self) {
        self.buffer.lock().unwrap().recent.clear();
    }

    /// Takes the lines written since [`GuestOutput::forget_recent`], finishing an unfinished one
    /// (a trap ends the guest's chance to).
    pub(crate) fn take_recent(&self) -> Vec<String> {
        let mut buffer = self.buffer.lock().unwrap();
        buffer.finish_line();
        std::mem::take(&mut buffer.recent)
    }
}

impl LineBuffer {
    fn push(&mut self, mut bytes: &[u8]) {
        while let Some(newline) = bytes.iter().position(|&b| b == b'\n') {
            self.append(&bytes[..newline]);
            self.finish_line();
            bytes = &bytes[newline + 1..];
        }
        self.append(bytes);
    }

    /// Keeps at most `max_line_bytes` of a line and counts the rest, so a guest printing a
    /// gigabyte without a newline costs the host nothing.
    fn append(&mut self, part: &[u8]) {
        let room = self.max_line_bytes.saturating_sub(self.line.len());
        let kept = part.len().min(room);
        self.line.extend_from_slice(&part[..kept]);
        self.cut_bytes += part.len() - kept;
    }

    fn finish_line(&mut self) {
        if self.line.is_empty() && self.cut_bytes == 0 {
            return;
        }
        let text = String::from_utf8_lossy(&self.line);
        let text = text.trim_end_matches('\r');
        let line = if self.cut_bytes > 0 {
            format!("{text} … [{} more bytes cut]", self.cut_bytes)
        } else {
            cut_line(text, self.max_line_bytes).into_owned()
        };
        self.sink.write(self.level, &line);
        if self.recent.len() == RECENT_LINES {
            self.recent.remove(0);
        }
        self.recent.push(line);
        self.line.clear();
        self.cut_bytes = 0;
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        self.finish_line();
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 << 10)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Lines(Mutex<Vec<String>>);
    impl LogSink for Lines {
        fn write(&self, _level: Level, line: &str) {
            self.0.lock().unwrap().push(line.to_string());
        }
    }

    #[test]
    fn splits_on_newlines_across_writes_and_cuts_long_lines() {
        let lines = Arc::new(Lines::default());
        let out = GuestOutput::new(lines.clone(), Level::Info, 8);
        out.write_bytes(b"hel");
        out.write_bytes(b"lo\nworld\n0123456789abc");
        drop(out);
        assert_eq!(
            *lines.0.lock().unwrap(),
            ["hello", "world", "01234567 … [5 more bytes cut]"]
        );
    }

    #[test]
    fn a_line_written_across_calls_stays_one_line() {
        let lines = Arc::new(Lines::default());
        let out = GuestOutput::new(lines.clone(), Level::Warn, 64);
        out.write_bytes(b"first half, ");
        out.forget_recent();
        out.write_bytes(b"second half\n");
        assert_eq!(*lines.0.lock().unwrap(), ["first half, second half"]);
        assert_eq!(out.take_recent(), ["first half, second half"]);
    }
}
