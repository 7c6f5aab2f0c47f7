//! The one format of readings and commands on the bus: JSON records that carry an id, the
//! instance, a sequence number and a timestamp, with WIT values tagged by kind:
//!
//! ```json
//! {"id":"r-42","sensor":"sen_1","sequence":42,"timestamp_ms":1764400000000,
//!  "value":{"kind":"number","value":21.5}}
//! {"id":"c-7","controller":"ctl_1","sequence":7,"timestamp_ms":1764400000100,
//!  "command":{"name":"set-speed","params":[{"name":"speed","value":{"kind":"number","value":2}}]}}
//! ```
//!
//! Bytes travel base64-encoded: `{"kind":"bytes","value":{"media_type":"image/png","data":"..."}}`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use trellis_host::types::{Blob, Command, Param, Value};

/// A WIT value on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum WireValue {
    Number(f64),
    Numbers(Vec<f64>),
    Text(String),
    Bytes { media_type: String, data: String },
    Json(serde_json::Value),
}

impl WireValue {
    pub fn from_value(value: &Value) -> WireValue {
        match value {
            Value::Number(n) => WireValue::Number(*n),
            Value::Numbers(ns) => WireValue::Numbers(ns.clone()),
            Value::Text(t) => WireValue::Text(t.clone()),
            Value::Bytes(blob) => WireValue::Bytes {
                media_type: blob.media_type.clone(),
                data: STANDARD.encode(&blob.data),
            },
            Value::Json(text) => WireValue::Json(
                serde_json::from_str(text).unwrap_or(serde_json::Value::String(text.clone())),
            ),
        }
    }

    /// The WIT value; bytes that are not base64 are an error naming the field.
    pub fn to_value(&self) -> Result<Value, String> {
        Ok(match self {
            WireValue::Number(n) => Value::Number(*n),
            WireValue::Numbers(ns) => Value::Numbers(ns.clone()),
            WireValue::Text(t) => Value::Text(t.clone()),
            WireValue::Bytes { media_type, data } => Value::Bytes(Blob {
                media_type: media_type.clone(),
                data: STANDARD
                    .decode(data)
                    .map_err(|e| format!("value.data is not base64: {e}"))?,
            }),
            WireValue::Json(json) => Value::Json(json.to_string()),
        })
    }
}

/// A sensor reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadingRecord {
    pub id: String,
    pub sensor: String,
    pub sequence: u64,
    pub timestamp_ms: i64,
    pub value: WireValue,
}

/// A command's parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireParam {
    pub name: String,
    pub value: WireValue,
}

/// A command on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireCommand {
    pub name: String,
    #[serde(default)]
    pub params: Vec<WireParam>,
}

impl WireCommand {
    pub fn from_command(command: &Command) -> WireCommand {
        WireCommand {
            name: command.name.clone(),
            params: command
                .params
                .iter()
                .map(|p| WireParam {
                    name: p.name.clone(),
                    value: WireValue::from_value(&p.value),
                })
                .collect(),
        }
    }

    pub fn to_command(&self) -> Result<Command, String> {
        Ok(Command {
            name: self.name.clone(),
            params: self
                .params
                .iter()
                .map(|p| {
                    Ok(Param {
                        name: p.name.clone(),
                        value: p.value.to_value()?,
                    })
                })
                .collect::<Result<_, String>>()?,
        })
    }
}

/// A controller command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub id: String,
    pub controller: String,
    /// The deployment that sent it.
    pub deployment: String,
    pub sequence: u64,
    pub timestamp_ms: i64,
    pub command: WireCommand,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_the_wire() {
        for value in [
            Value::Number(21.5),
            Value::Numbers(vec![1.0, 2.0]),
            Value::Text("hi".into()),
            Value::Bytes(Blob {
                media_type: "image/png".into(),
                data: vec![0, 159, 255],
            }),
            Value::Json(r#"{"a":[1,2]}"#.into()),
        ] {
            let record = ReadingRecord {
                id: "r-1".into(),
                sensor: "sen_1".into(),
                sequence: 1,
                timestamp_ms: 5,
                value: WireValue::from_value(&value),
            };
            let text = serde_json::to_string(&record).unwrap();
            let back: ReadingRecord = serde_json::from_str(&text).unwrap();
            assert_eq!(
                format!("{:?}", back.value.to_value().unwrap()),
                format!("{value:?}"),
                "{text}"
            );
        }
    }
}
