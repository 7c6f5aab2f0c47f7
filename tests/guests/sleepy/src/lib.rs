//! An app that sleeps inside its calls, as an app waiting on a timer would: for testing that a
//! call's deadline holds while the guest is blocked in the host (where epoch interruption never
//! fires), and that stopping such an instance does not wait for it.
//!
//! A number reading sleeps that many seconds with `std::thread::sleep` (a monotonic-clock
//! pollable and `pollable.block`); a text reading `poll <seconds>` waits in `poll` with that
//! timeout (`wasi:io/poll.poll`). Each tick sleeps the `tick-sleep-seconds` parameter.

use std::time::Duration;

use trellis_sdk::{App, Reading, Value, config_number, log};

struct Sleepy;

impl App for Sleepy {
    fn on_reading(reading: Reading) -> Result<(), String> {
        match reading.value {
            Value::Number(seconds) => sleep(seconds),
            Value::Text(text) => match text.strip_prefix("poll ") {
                Some(seconds) => poll(seconds.trim().parse().map_err(|e| format!("{text}: {e}"))?),
                None => Err(format!("`{text}`: expected `poll <seconds>`")),
            },
            other => Err(format!("{other:?}: expected a number of seconds")),
        }
    }

    fn on_tick() -> Result<(), String> {
        match config_number("tick-sleep-seconds") {
            Some(seconds) if seconds > 0.0 => sleep(seconds),
            _ => Ok(()),
        }
    }
}

fn sleep(seconds: f64) -> Result<(), String> {
    log::write(log::Level::Info, &format!("sleeping {seconds} s"));
    std::thread::sleep(Duration::from_secs_f64(seconds));
    log::write(log::Level::Info, &format!("woke after {seconds} s"));
    Ok(())
}

fn poll(seconds: f64) -> Result<(), String> {
    log::write(log::Level::Info, &format!("polling for {seconds} s"));
    let millis = (seconds * 1000.0) as libc::c_int;
    // SAFETY: no descriptors to watch, so the pointer is never read; only the timeout counts.
    let ready = unsafe { libc::poll(std::ptr::null_mut(), 0, millis) };
    log::write(
        log::Level::Info,
        &format!("poll returned {ready} after {seconds} s"),
    );
    Ok(())
}

trellis_sdk::export_app!(Sleepy);
