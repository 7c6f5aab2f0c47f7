//! Sensor types (what a reading carries) and controller types (the commands they accept).

use serde::{Deserialize, Serialize};

/// What one reading's value (or one command parameter) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ValueKind {
    Number,
    Numbers,
    Text,
    Bytes,
    Json,
}

impl ValueKind {
    /// The kind's name, as the API and the database spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::Number => "number",
            ValueKind::Numbers => "numbers",
            ValueKind::Text => "text",
            ValueKind::Bytes => "bytes",
            ValueKind::Json => "json",
        }
    }

    /// The kind named `text`; anything unknown is `json`, the kind that takes every value.
    pub fn parse(text: &str) -> ValueKind {
        serde_json::from_value(serde_json::Value::String(text.into())).unwrap_or(ValueKind::Json)
    }
}

/// A kind of sensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SensorType {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The unit of a reading, e.g. `°C`, `%`, `people`; empty for none.
    #[serde(default)]
    pub unit: String,
    pub value: ValueKind,
    /// The media type of `bytes` readings, e.g. `image/png`.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Readings per second the sensor usually sends.
    #[serde(default)]
    pub sampling_hz: Option<f64>,
}

/// A parameter of a controller command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CommandParam {
    pub name: String,
    pub value: ValueKind,
    #[serde(default)]
    pub required: bool,
}

/// A command a controller accepts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub params: Vec<CommandParam>,
}

/// A kind of controller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ControllerType {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub commands: Vec<CommandSpec>,
}
