//! The one shape of every error answer.

use serde::{Deserialize, Serialize};

/// The body of every error response.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What was wrong, and where.
    pub error: String,
    /// The input the error concerns, when it is one the caller sent: an upload's part (its file
    /// name, such as `model.onnx`), so a form can show the error beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem found, when there were several (an upload checks each of its files); `error`
    /// then says them all in one message and `field` names the first one's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ErrorBody {
    /// An error about no input in particular.
    pub fn new(error: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: error.into(),
            field: None,
            errors: Vec::new(),
        }
    }
}

/// One problem with one input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The input it concerns, as [`ErrorBody::field`] names it.
    pub field: String,
    pub error: String,
}
