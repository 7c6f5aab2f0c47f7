//! The one error type every handler returns: a status and a message that says what to fix.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
pub use trellis_protocol::api::ErrorBody;

/// A failed request.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The request's field at fault, where the error concerns one.
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            field: None,
        }
    }

    /// The same error, naming the request's `field` it concerns (`bindings.fan`), so a form can
    /// show it there.
    pub fn on_field(self, field: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.into()),
            ..self
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// A failure to add `what` called `name`, named for it when the cause is a unique key that
    /// someone holds already ("node `edge-1` already exists"), so the caller learns which name to
    /// change rather than that "it" exists.
    pub fn already_exists(error: impl Into<ApiError>, what: &str, name: &str) -> ApiError {
        let error = error.into();
        if error.status == StatusCode::CONFLICT {
            ApiError::conflict(format!("{what} `{name}` already exists"))
        } else {
            error
        }
    }

    /// A failure of ours, not the caller's: logged in full, reported briefly.
    pub fn internal(error: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {error}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {error}"),
        )
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> ApiError {
        if let sqlx::Error::Database(db) = &error
            && db.is_unique_violation()
        {
            return ApiError::conflict("it already exists");
        }
        ApiError::internal(error)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(error: std::io::Error) -> ApiError {
        ApiError::internal(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: self.message,
                field: self.field,
            }),
        )
            .into_response()
    }
}

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;
