//! An app that sleeps inside its calls, as an app waiting on a timer would: for testing that a
//! call's deadline holds while the guest is blocked in the host (where epoch interruption never
//! fires), and that stopping such an instance does not wait for it.
//!
//! A number reading sleeps that many seconds with `std::thread::sleep` (a monotonic-clock
//! pollable and `pollable.block`); a text reading `poll <seconds>` waits in `poll` with that
//! timeout (`wasi:io/poll.poll`). A text reading `run <model> <n>` waits on the model `model`
//! run on an n × n fp32 tensor `x` of zeros (`inference.run`), as an app waits on a slow model.
//! A text reading `send <role> <n>` sends the command `show` with `n` to the controllers bound to
//! `role` (`controllers.send`), as an app waits on its bus.
//! Each tick sleeps the `tick-sleep-seconds` parameter.

use std::time::Duration;

use trellis_sdk::{
    App, Reading, Tensor, TensorType, Value, command, config_number, controllers, inference, log,
};

struct Sleepy;

impl App for Sleepy {
    fn on_reading(reading: Reading) -> Result<(), String> {
        match reading.value {
            Value::Number(seconds) => sleep(seconds),
            Value::Text(text) => {
                let words: Vec<&str> = text.split_whitespace().collect();
                match words[..] {
                    ["poll", seconds] => poll(seconds.parse().map_err(|e| format!("{text}: {e}"))?),
                    ["run", model, n] => run(model, n.parse().map_err(|e| format!("{text}: {e}"))?),
                    ["send", role, n] => send(role, n.parse().map_err(|e| format!("{text}: {e}"))?),
                    _ => Err(format!(
                        "`{text}`: expected `poll <seconds>`, `run <model> <n>` or `send <role> <n>`"
                    )),
                }
            }
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

fn run(model: &str, n: u32) -> Result<(), String> {
    log::write(log::Level::Info, &format!("running {model} on {n} × {n}"));
    let x = Tensor {
        name: "x".into(),
        dimensions: vec![n, n],
        ty: TensorType::Fp32,
        data: vec![0; (n * n * 4) as usize],
    };
    let answer = inference::run(model, &[x]);
    log::write(
        log::Level::Info,
        &format!("{model} answered: {}", answer.is_ok()),
    );
    answer.map(|_| ()).map_err(|e| format!("{e:?}"))
}

fn send(role: &str, n: f64) -> Result<(), String> {
    log::write(log::Level::Info, &format!("sending show {n} to {role}"));
    let sent = controllers::send(role, &command("show", [("n", Value::Number(n))]));
    log::write(
        log::Level::Info,
        &format!("{role} took it: {}", sent.is_ok()),
    );
    sent.map_err(|e| format!("{e:?}"))
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
