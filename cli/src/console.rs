//! Backends for `trellis run` that print what the app does, as it does it.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use trellis_host::capabilities::{ControllerSink, LogSink, MemoryStateStore, StateStore};
use trellis_host::types::{Command, Error, InstanceInfo, Level, Value};

/// Prints events with the time since the run started, one line each.
pub struct Console {
    start: Instant,
    out: Mutex<std::io::Stdout>,
}

impl Console {
    pub fn new() -> Arc<Console> {
        Arc::new(Console {
            start: Instant::now(),
            out: Mutex::new(std::io::stdout()),
        })
    }

    pub fn event(&self, kind: &str, text: &str) {
        let elapsed = self.start.elapsed().as_secs_f64();
        let mut out = self.out.lock().unwrap();
        let _ = writeln!(out, "{elapsed:8.3}s  {kind:<9} {text}");
    }
}

/// A value as a person reads it: `23.5`, `"cool"`, `[1, 2]`, `<3072 bytes image/png>`.
pub fn show(value: &Value) -> String {
    match value {
        Value::Number(n) => format!("{n}"),
        Value::Numbers(n) => format!("{n:?}"),
        Value::Text(t) => format!("{t:?}"),
        Value::Bytes(b) => format!("<{} bytes {}>", b.data.len(), b.media_type),
        Value::Json(j) => j.clone(),
    }
}

pub struct ConsoleLog(pub Arc<Console>);

impl LogSink for ConsoleLog {
    fn write(&self, level: Level, line: &str) {
        let kind = match level {
            Level::Trace => "log trace",
            Level::Debug => "log debug",
            Level::Info => "log info",
            Level::Warn => "log warn",
            Level::Error => "log error",
        };
        self.0.event(kind, line);
    }
}

/// Prints each command and counts them.
pub struct ConsoleControllers {
    pub console: Arc<Console>,
    pub roles: BTreeMap<String, Vec<InstanceInfo>>,
    pub sent: AtomicUsize,
}

impl ControllerSink for ConsoleControllers {
    fn send(
        &self,
        role: &str,
        instance_id: Option<&str>,
        command: Command,
        _deadline: Option<Instant>,
    ) -> Result<(), Error> {
        let instances = self.instances(role)?;
        let targets: Vec<&str> = match instance_id {
            Some(id) if instances.iter().any(|i| i.id == id) => vec![id],
            Some(id) => {
                return Err(Error::InvalidInput(format!(
                    "`{id}` is not bound to the role `{role}`"
                )));
            }
            None => instances.iter().map(|i| i.id.as_str()).collect(),
        };
        let params: Vec<String> = command
            .params
            .iter()
            .map(|p| format!("{}={}", p.name, show(&p.value)))
            .collect();
        for target in targets {
            self.console.event(
                "command",
                &format!("{role}/{target} <- {} {}", command.name, params.join(" ")),
            );
            self.sent.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn instances(&self, role: &str) -> Result<Vec<InstanceInfo>, Error> {
        self.roles
            .get(role)
            .cloned()
            .ok_or_else(|| trellis_host::capabilities::controllers::unknown(role))
    }
}

/// A state store that prints every change.
pub struct WatchedState {
    pub console: Arc<Console>,
    pub inner: MemoryStateStore,
}

impl StateStore for WatchedState {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.inner.get(key)
    }

    fn set(&self, key: &str, value: Vec<u8>) -> Result<(), Error> {
        let shown = match std::str::from_utf8(&value) {
            Ok(text) => format!("{text:?}"),
            Err(_) => format!("<{} bytes>", value.len()),
        };
        self.inner.set(key, value)?;
        self.console.event("state", &format!("{key} = {shown}"));
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), Error> {
        self.inner.delete(key)?;
        self.console.event("state", &format!("{key} deleted"));
        Ok(())
    }

    fn keys(&self) -> Result<Vec<String>, Error> {
        self.inner.keys()
    }
}
