//! The one error type every handler returns: a status and a message that says what to fix.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
pub use trellis_protocol::api::{ErrorBody, FieldError};

/// A failed request.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The input it concerns (an upload's part), for a form to show it beside that input.
    pub field: Option<String>,
    /// Every problem, when there were several.
    pub errors: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            field: None,
            errors: Vec::new(),
        }
    }

    /// The same error, said to concern input `field`.
    pub fn on(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    /// A 400 for several problems at once: the message says them all, `field` names the first
    /// one's input and `errors` lists each. `problems` must not be empty.
    pub fn several(problems: Vec<FieldError>) -> ApiError {
        let message = problems
            .iter()
            .map(|p| p.error.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let field = problems.first().map(|p| p.field.clone());
        let errors = if problems.len() > 1 {
            problems
        } else {
            Vec::new()
        };
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message,
            field,
            errors,
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

    /// A failure of ours, not the caller's: logged in full under a fresh id, and answered with
    /// that id alone, since the cause (SQL, paths, library messages) tells a stranger about
    /// the inside and nothing the caller could fix. An operator finds it by the id.
    pub fn internal(error: impl std::fmt::Display) -> ApiError {
        let id = crate::ids::new_id("err");
        tracing::error!(id = %id, "internal error: {error}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error, id {id}"),
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
                errors: self.errors,
            }),
        )
            .into_response()
    }
}

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;

/// The answer to a request whose handler panicked: a 500 in the API's error shape. The process
/// and its shared state go on (their locks cannot be poisoned).
pub fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    ApiError::internal(format!("the request failed: {what}")).into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;
    use tower_http::catch_panic::CatchPanicLayer;

    use super::*;

    /// The server's shared state is behind `parking_lot` locks, which a panic releases without
    /// poisoning: a request that panics holding one leaves it to the next request.
    #[tokio::test]
    async fn a_handler_that_panics_holding_shared_state_answers_500_with_an_id_and_the_state_serves_on()
     {
        let shared = Arc::new(parking_lot::Mutex::new(0u64));
        let (panicking, counting) = (shared.clone(), shared.clone());
        let app = Router::new()
            .route(
                "/panics",
                get(async move || -> &'static str {
                    let mut held = panicking.lock();
                    *held = held.checked_add(u64::MAX).expect("the count overflowed");
                    "unreachable"
                }),
            )
            .route(
                "/counts",
                get(async move || {
                    let mut held = counting.lock();
                    *held += 1;
                    held.to_string()
                }),
            )
            .layer(CatchPanicLayer::custom(panicked));
        let call = async |path: &str| {
            let request = Request::get(path).body(Body::empty()).unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            (status, String::from_utf8(body.to_vec()).unwrap())
        };

        assert_eq!(call("/counts").await, (StatusCode::OK, "1".to_string()));
        let (status, body) = call("/panics").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        let error: ErrorBody = serde_json::from_str(&body).expect("the API's error shape");
        assert!(
            error.error.starts_with("internal error, id err"),
            "{}",
            error.error
        );
        assert!(
            !body.contains("overflowed"),
            "the panic's text reached the caller: {body}"
        );
        assert_eq!(call("/counts").await, (StatusCode::OK, "2".to_string()));
    }
}
