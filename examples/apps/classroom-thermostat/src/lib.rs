//! A smart-classroom thermostat: on each temperature reading it decides whether the fan and the
//! air conditioning should run, and commands them only when that decision changes.

mod climate;

use std::sync::OnceLock;

use climate::{Mode, Thresholds, decide};
use trellis_sdk::{App, Reading, Value, command, config_number, controllers, log, state};

const MODE_KEY: &str = "mode";

/// The thresholds, read from the config once at `init`: an instance's config does not change
/// while it runs, and a reading then costs no call back into the host for them.
static THRESHOLDS: OnceLock<Thresholds> = OnceLock::new();

struct Thermostat;

impl App for Thermostat {
    fn init(_config: Vec<trellis_sdk::Param>) -> Result<(), String> {
        let t = *THRESHOLDS.get_or_init(read_thresholds);
        if t.fan_above >= t.ac_above {
            return Err(format!(
                "fan-above ({}) must be below ac-above ({})",
                t.fan_above, t.ac_above
            ));
        }
        log::write(
            log::Level::Info,
            &format!(
                "thermostat ready: fan from {} °C, cooling from {} °C",
                t.fan_above, t.ac_above
            ),
        );
        Ok(())
    }

    fn on_reading(reading: Reading) -> Result<(), String> {
        let Value::Number(celsius) = reading.value else {
            return Err(format!(
                "{} sent {:?}; expected a number",
                reading.instance_id, reading.value
            ));
        };
        let current = current_mode()?;
        let next = decide(current, celsius, thresholds());
        if next == current {
            return Ok(());
        }
        log::write(
            log::Level::Info,
            &format!(
                "{celsius:.1} °C in {}: {} -> {}",
                reading.instance_id,
                current.as_str(),
                next.as_str()
            ),
        );
        apply(next)?;
        state::set(MODE_KEY, next.as_str().as_bytes()).map_err(|e| format!("saving mode: {e:?}"))
    }
}

fn thresholds() -> Thresholds {
    *THRESHOLDS.get_or_init(read_thresholds)
}

fn read_thresholds() -> Thresholds {
    Thresholds {
        fan_above: config_number("fan-above").unwrap_or(24.0),
        ac_above: config_number("ac-above").unwrap_or(27.0),
        hysteresis: config_number("hysteresis").unwrap_or(0.5),
    }
}

fn current_mode() -> Result<Mode, String> {
    let saved = state::get(MODE_KEY).map_err(|e| format!("reading mode: {e:?}"))?;
    Ok(saved.map_or(Mode::Off, |bytes| {
        Mode::parse(&String::from_utf8_lossy(&bytes))
    }))
}

fn apply(mode: Mode) -> Result<(), String> {
    let fan_speed = if mode == Mode::Off { 0.0 } else { 2.0 };
    controllers::send(
        "fan",
        &command("set-speed", [("speed", Value::Number(fan_speed))]),
    )
    .map_err(|e| format!("commanding the fan: {e:?}"))?;
    let ac = if mode == Mode::Cooling {
        let setpoint = config_number("ac-setpoint").unwrap_or(22.0);
        command(
            "set-mode",
            [
                ("mode", Value::Text("cool".into())),
                ("setpoint", Value::Number(setpoint)),
            ],
        )
    } else {
        command("set-mode", [("mode", Value::Text("off".into()))])
    };
    controllers::send("ac", &ac).map_err(|e| format!("commanding the air conditioning: {e:?}"))
}

trellis_sdk::export_app!(Thermostat);
