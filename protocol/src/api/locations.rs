//! The places instances are registered at, as a tree (site → building → room) with the number
//! of instances of each type at each level, so a picker can offer places without listing every
//! device.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How many instances of each type are at a place.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceCounts {
    /// Sensor instances by sensor type.
    pub sensors: BTreeMap<String, u64>,
    /// Controller instances by controller type.
    pub controllers: BTreeMap<String, u64>,
}

/// A room and what is in it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomNode {
    pub name: String,
    pub counts: DeviceCounts,
}

/// A building, what is in it, and its rooms by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BuildingNode {
    pub name: String,
    pub counts: DeviceCounts,
    pub rooms: Vec<RoomNode>,
}

/// A site, what is at it, and its buildings by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteNode {
    pub name: String,
    pub counts: DeviceCounts,
    pub buildings: Vec<BuildingNode>,
}

/// Every place that has instances, by site name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocationTree {
    pub sites: Vec<SiteNode>,
}
