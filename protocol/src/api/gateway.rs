//! What devices send through the gateway.

use serde::{Deserialize, Serialize};

/// One reading from a device.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewReading {
    /// `{"kind":"number","value":21.5}`; also `numbers`, `text`, `json`, and
    /// `bytes` with `{"media_type":...,"data":base64}`. Read by the gateway, so that a value
    /// that is not one is refused with what is wrong with it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub value: serde_json::Value,
    /// The device's own count; the gateway numbers readings that come without one.
    #[serde(default)]
    pub sequence: Option<u64>,
    /// When it was measured (Unix ms); default now.
    #[serde(default)]
    pub timestamp_ms: Option<i64>,
}

/// A reading the gateway put on the bus.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Accepted {
    pub id: String,
    pub sequence: u64,
}
