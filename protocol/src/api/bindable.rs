//! What an end user may bind into a deployment: the instances of a type they may use (an
//! instance whose `users` is empty is everyone's), and the places that hold them, so a deploy
//! form offers only what the deployment would accept.

use serde::{Deserialize, Serialize};

/// Which instances to list; `type` is required, the rest narrow it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct BindableFilter {
    /// The sensor (or controller) type a role takes.
    #[serde(rename = "type")]
    pub type_name: String,
    pub site: Option<String>,
    pub building: Option<String>,
    pub room: Option<String>,
    /// Text found in the instance's name (ignoring ASCII case).
    pub q: Option<String>,
    /// The most instances to answer (by name; default 100, at most 1000). The total matching
    /// is in the `X-Total-Count` header.
    pub limit: Option<u32>,
    /// How many matching instances (by name) to skip first.
    pub offset: Option<u32>,
}

/// Which kind of instance a place listing counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum BindableKind {
    Sensor,
    Controller,
}

/// Which places to list: the sites, the buildings of `site`, or the rooms of `site` and
/// `building`, that hold instances of `type` the caller may use.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct PlaceFilter {
    pub kind: BindableKind,
    #[serde(rename = "type")]
    pub type_name: String,
    pub site: Option<String>,
    /// Needs `site`.
    pub building: Option<String>,
}

/// A site, building or room, and how many instances there the caller may use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BindablePlace {
    pub name: String,
    pub instances: u64,
}
