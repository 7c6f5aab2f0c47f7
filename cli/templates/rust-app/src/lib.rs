//! {{name}}: logs each temperature reading and runs the fan above a threshold.

use trellis_sdk::{App, Reading, Value, command, config_number, controllers, log};

struct {{Type}};

impl App for {{Type}} {
    fn on_reading(reading: Reading) -> Result<(), String> {
        let Value::Number(celsius) = reading.value else {
            return Err(format!(
                "{} sent {:?}; expected a number",
                reading.instance_id, reading.value
            ));
        };
        let threshold = config_number("threshold").unwrap_or(24.0);
        let speed: u8 = if celsius > threshold { 2 } else { 0 };
        log::write(
            log::Level::Info,
            &format!("{} read {celsius:.1} °C: fan speed {speed}", reading.instance_id),
        );
        let set_speed = command("set-speed", [("speed", Value::Number(speed.into()))]);
        controllers::send("fan", &set_speed).map_err(|e| format!("commanding the fan: {e:?}"))
    }
}

trellis_sdk::export_app!({{Type}});
