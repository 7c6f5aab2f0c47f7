//! Model versions.

use serde::{Deserialize, Serialize};

/// One version of a model.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    pub description: String,
    /// Inputs and outputs, e.g. `input: fp32[-1, 64]`.
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    /// The runtime the control plane runs it in.
    pub backend: String,
    pub onnx_sha256: String,
    pub contract_sha256: String,
    pub uploaded_by: String,
    /// Who owns the model's name (its first uploader): only they and admins upload or delete its
    /// versions.
    #[serde(default)]
    pub owner: String,
    pub created_at: String,
}
