//! Writes a numbered log line on every tick (`log-ticker line N`, at info), and every fifth tick
//! a warning too (`log-ticker warning N`): an app whose log shows whether any line was lost on
//! its way to the control plane.

use std::sync::atomic::{AtomicU64, Ordering};

use trellis_sdk::{App, Reading, log};

struct LogTicker;

static TICKS: AtomicU64 = AtomicU64::new(0);

impl App for LogTicker {
    fn on_reading(_reading: Reading) -> Result<(), String> {
        Ok(())
    }

    fn on_tick() -> Result<(), String> {
        let n = TICKS.fetch_add(1, Ordering::Relaxed) + 1;
        log::write(log::Level::Info, &format!("log-ticker line {n}"));
        if n.is_multiple_of(5) {
            log::write(log::Level::Warn, &format!("log-ticker warning {n}"));
        }
        Ok(())
    }
}

trellis_sdk::export_app!(LogTicker);
