//! Sends one `echo` command to the role `out` for every reading, carrying its sequence number and
//! value: the smallest app that exercises the whole reading → command path.

use trellis_sdk::{App, Reading, Value, command, controllers};

struct Echo;

impl App for Echo {
    fn on_reading(reading: Reading) -> Result<(), String> {
        let echo = command(
            "echo",
            [
                ("sequence", Value::Number(reading.sequence as f64)),
                ("value", reading.value),
            ],
        );
        controllers::send("out", &echo).map_err(|e| format!("{e:?}"))
    }
}

trellis_sdk::export_app!(Echo);
