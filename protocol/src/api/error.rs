//! The one shape of every error answer.

use serde::{Deserialize, Serialize};

/// The body of every error response.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What was wrong, and where.
    pub error: String,
    /// The request's field the error concerns, where it names one (`bindings.fan`,
    /// `config.fan-above`, `schedule`), so a form can show it beside that field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
