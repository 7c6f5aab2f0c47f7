//! The values apps read and send, mirroring the WIT `value`, `blob`, `command` and `param` of
//! `trellis:platform/types`, in their one wire form: tagged by kind, bytes in base64, JSON
//! documents embedded as they are.
//!
//! ```json
//! {"kind":"number","value":21.5}
//! {"kind":"numbers","value":[1,2]}
//! {"kind":"text","value":"open"}
//! {"kind":"bytes","value":{"media_type":"image/png","data":"iVBORw0..."}}
//! {"kind":"json","value":{"a":[1,2]}}
//! ```
//!
//! The component host converts between these and its generated WIT types at the boundary.

use serde::{Deserialize, Serialize};

/// A sensor reading's value, a command parameter, a model's input or answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Value {
    Number(f64),
    Numbers(Vec<f64>),
    Text(String),
    Bytes(Blob),
    /// A JSON document, kept as its text.
    Json(#[serde(with = "json_text")] String),
}

/// Bytes with their media type, such as a camera frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blob {
    pub media_type: String,
    #[serde(with = "base64_bytes")]
    pub data: Vec<u8>,
}

/// A command to a controller: a name the controller type declares, and its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub name: String,
    #[serde(default)]
    pub params: Vec<Param>,
}

/// A named value: a command's parameter or an app's configuration entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub value: Value,
}

/// Bytes travel as base64 text.
pub(crate) mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("data is not base64: {e}")))
    }
}

/// A JSON document travels embedded, not as a string, so other consumers of the topic read it
/// as JSON; text that is not JSON travels as a JSON string.
mod json_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::value::RawValue;

    pub fn serialize<S: Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(text) {
            Ok(raw) => raw.serialize(serializer),
            Err(_) => serializer.serialize_str(text),
        }
    }

    /// Through `serde_json::Value` rather than `RawValue`: a record whose `value` comes before
    /// its `kind` is buffered by serde, and a `RawValue` cannot be read back from that buffer.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        Ok(serde_json::Value::deserialize(deserializer)?.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_survives_the_wire() {
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
            let text = serde_json::to_string(&value).unwrap();
            let back: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, value, "{text}");
        }
    }

    #[test]
    fn documents_travel_embedded_and_bytes_as_base64() {
        let json = serde_json::to_value(Value::Json(r#"{"a":1}"#.into())).unwrap();
        assert_eq!(json["value"]["a"], 1);
        let bytes = serde_json::to_value(Value::Bytes(Blob {
            media_type: "image/png".into(),
            data: b"hi".to_vec(),
        }))
        .unwrap();
        assert_eq!(bytes["value"]["data"], "aGk=");
        let error = serde_json::from_str::<Value>(
            r#"{"kind":"bytes","value":{"media_type":"image/png","data":"not base64!"}}"#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("base64"), "{error}");
        let reordered: Value =
            serde_json::from_str(r#"{"value":{"a":[1]},"kind":"json"}"#).unwrap();
        assert_eq!(reordered, Value::Json(r#"{"a":[1]}"#.into()));
    }
}
