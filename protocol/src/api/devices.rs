//! Sensor and controller instances: a registered type at a location, with free labels.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where an instance is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub site: String,
    pub building: String,
    pub room: String,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// A sensor or controller instance to register.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    pub name: String,
    /// A registered sensor (or controller) type.
    #[serde(rename = "type")]
    pub type_name: String,
    pub location: Location,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Users who may use it (bind it into deployments, watch it, read its readings) besides
    /// admins and platform configurers; `*` is every user. Empty: nobody else until a configurer
    /// adds them (with `trellis up --open-devices`, empty is taken as `*`).
    #[serde(default)]
    pub users: Vec<String>,
}

/// Who may use a device, replacing its list: names, `*` for every user; empty for nobody
/// besides admins and platform configurers.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceUsers {
    pub users: Vec<String>,
}

/// The `users` entry that grants a device to every user.
pub const EVERY_USER: &str = "*";

/// A registered sensor or controller instance.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub location: Location,
    pub labels: BTreeMap<String, String>,
    pub users: Vec<String>,
    pub created_at: String,
    /// A controller's state as it last reported it through the gateway.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub state: Option<serde_json::Value>,
    /// Readings of this sensor stored from the device gateway (within their retention).
    pub readings: Option<u64>,
    /// This sensor's newest stored reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reading: Option<super::LastReading>,
    /// The newest commands the device gateway handed this controller, newest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_commands: Option<Vec<super::SentCommand>>,
    /// The device's gateway token, shown once, at registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Filters for listing instances; all optional, all must match.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct DeviceFilter {
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    pub site: Option<String>,
    pub building: Option<String>,
    pub room: Option<String>,
    /// `key=value`: instances carrying this label.
    pub label: Option<String>,
    /// Text found in the name, site, building or room (ignoring ASCII case).
    pub q: Option<String>,
    /// The most instances to answer (by name); none: all. The total matching is in the
    /// `X-Total-Count` header.
    pub limit: Option<u32>,
    /// How many matching instances (by name) to skip first.
    pub offset: Option<u32>,
}
