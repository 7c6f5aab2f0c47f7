//! Sends a notification on every reading, as an app stuck in a loop of alarms would: the guest
//! the notification rate limit is tested against. The title names the reading's sequence, so a
//! test can tell which ones arrived.

use trellis_sdk::notify::{self, Urgency};
use trellis_sdk::{App, Reading, Value};

struct NotifyLoop;

impl App for NotifyLoop {
    fn on_reading(reading: Reading) -> Result<(), String> {
        let value = match reading.value {
            Value::Number(n) => n.to_string(),
            _ => "a value".to_string(),
        };
        notify::send(
            Urgency::High,
            &format!("CO2 alarm {}", reading.sequence),
            &format!(
                "reading {} from {} is {value}",
                reading.sequence, reading.instance_id
            ),
        )
        .map_err(|e| format!("{e:?}"))
    }
}

trellis_sdk::export_app!(NotifyLoop);
