//! Counts its readings in its `state` and sends a `count` command to the role `out` after each
//! one, with the reading's sequence and the count: the smallest app whose output shows whether
//! its state survived restarts and moves, and whether any reading was counted twice or lost.
//! A reading valued `trap-on` makes it trap after it has written the new count, which must then
//! not be kept. With `note-bytes` set it also keeps a note that large per reading, and says
//! whether the store took it (`noted`), to fill its state up to the quota.

use trellis_sdk::{App, Reading, Value, command, config_number, controllers, state};

const COUNT: &str = "count";

struct Counter;

fn count() -> Result<u64, String> {
    let stored = state::get(COUNT).map_err(|e| format!("reading the count: {e:?}"))?;
    match stored {
        None => Ok(0),
        Some(bytes) => String::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| "the stored count is not a number".to_string()),
    }
}

impl App for Counter {
    fn on_reading(reading: Reading) -> Result<(), String> {
        let count = count()? + 1;
        state::set(COUNT, count.to_string().as_bytes())
            .map_err(|e| format!("saving the count: {e:?}"))?;
        let value = match reading.value {
            Value::Number(n) => n,
            _ => f64::NAN,
        };
        if config_number("trap-on") == Some(value) {
            panic!("counter traps on reading {}", reading.sequence);
        }
        let mut noted = true;
        let note_bytes = config_number("note-bytes").unwrap_or(0.0) as usize;
        if note_bytes > 0 {
            let note = vec![b'n'; note_bytes];
            noted = state::set(&format!("note-{}", reading.sequence), &note).is_ok();
        }
        let message = command(
            "count",
            [
                ("sequence", Value::Number(reading.sequence as f64)),
                ("count", Value::Number(count as f64)),
                ("noted", Value::Number(if noted { 1.0 } else { 0.0 })),
            ],
        );
        controllers::send("out", &message).map_err(|e| format!("{e:?}"))
    }
}

trellis_sdk::export_app!(Counter);
