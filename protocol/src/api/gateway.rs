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

/// Readings from one device, in the order they were measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewReadings {
    pub readings: Vec<NewReading>,
}

/// A reading the gateway put on the bus.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Accepted {
    pub id: String,
    pub sequence: u64,
}

/// A command as a poll hands it to its controller: the bus record and the number the device
/// acknowledges it with (`ack` on its next poll). A command stays the device's until
/// acknowledged, and comes again at each poll meanwhile, so one whose answer was lost is not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveredCommand {
    /// Increases with each command for this controller; the same each time the command comes.
    pub delivery: u64,
    #[serde(flatten)]
    pub record: crate::record::CommandRecord,
}
