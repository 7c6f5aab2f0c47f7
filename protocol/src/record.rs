//! Readings and commands as they travel on the bus: JSON records that carry an id, the instance,
//! a sequence number and a timestamp, with values in their wire form ([`crate::value`]):
//!
//! ```json
//! {"id":"r-42","sensor":"sen_1","sequence":42,"timestamp_ms":1764400000000,
//!  "value":{"kind":"number","value":21.5}}
//! {"id":"c-7","controller":"ctl_1","deployment":"dep_1","sequence":7,"timestamp_ms":1764400000100,
//!  "command":{"name":"set-speed","params":[{"name":"speed","value":{"kind":"number","value":2}}]}}
//! ```

use serde::{Deserialize, Serialize};

use crate::value::{Command, Value};

/// A sensor reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadingRecord {
    pub id: String,
    pub sensor: String,
    pub sequence: u64,
    pub timestamp_ms: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub value: Value,
}

/// A controller command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandRecord {
    pub id: String,
    pub controller: String,
    /// The deployment that sent it.
    pub deployment: String,
    pub sequence: u64,
    pub timestamp_ms: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub command: Command,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Param;

    #[test]
    fn records_keep_the_documented_format() {
        let reading: ReadingRecord = serde_json::from_str(
            r#"{"id":"r-42","sensor":"sen_1","sequence":42,"timestamp_ms":1764400000000,
                "value":{"kind":"number","value":21.5}}"#,
        )
        .unwrap();
        assert_eq!(reading.value, Value::Number(21.5));
        let command: CommandRecord = serde_json::from_str(
            r#"{"id":"c-7","controller":"ctl_1","deployment":"dep_1","sequence":7,
                "timestamp_ms":1764400000100,"command":{"name":"set-speed",
                "params":[{"name":"speed","value":{"kind":"number","value":2}}]}}"#,
        )
        .unwrap();
        assert_eq!(
            command.command.params,
            vec![Param {
                name: "speed".into(),
                value: Value::Number(2.0)
            }]
        );
        let again: CommandRecord =
            serde_json::from_str(&serde_json::to_string(&command).unwrap()).unwrap();
        assert_eq!(again, command);
    }
}
