//! App versions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A role of an app: the type of instance it takes and how many.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleInfo {
    #[serde(rename = "type")]
    pub type_name: String,
    pub min: u32,
    pub max: u32,
}

/// One version of an app.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppVersion {
    pub name: String,
    pub version: String,
    pub description: String,
    pub sensors: BTreeMap<String, RoleInfo>,
    pub controllers: BTreeMap<String, RoleInfo>,
    /// The models it calls, each with the versions it accepts (a semver requirement such as
    /// `^1`; `*` for any).
    pub models: BTreeMap<String, String>,
    /// Parameters an end user may set, with their types.
    pub config: BTreeMap<String, String>,
    /// The manifest as uploaded.
    pub manifest: String,
    pub component_sha256: String,
    pub uploaded_by: String,
    /// Who owns the app's name (its first uploader): only they and admins upload or delete its
    /// versions.
    #[serde(default)]
    pub owner: String,
    pub created_at: String,
}
