//! Sends one `echo` command to the role `out` for every reading, carrying its sequence number and
//! value: the smallest app that exercises the whole reading → command path. A deployment whose
//! manifest declares a `label` parameter gets it in each command too, so tests can tell which
//! version of a deployment handled a reading.

use trellis_sdk::{App, Reading, Value, command, config, controllers};

struct Echo;

impl App for Echo {
    fn on_reading(reading: Reading) -> Result<(), String> {
        let mut params = vec![
            ("sequence", Value::Number(reading.sequence as f64)),
            ("value", reading.value),
        ];
        if let Some(label) = config::get("label") {
            params.push(("label", label));
        }
        let echo = command("echo", params);
        controllers::send("out", &echo).map_err(|e| format!("{e:?}"))
    }
}

trellis_sdk::export_app!(Echo);
