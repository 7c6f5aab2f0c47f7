//! What a page answers when it cannot show what was asked: the sign-in page for someone not
//! signed in, otherwise a page that says in plain words what went wrong, with the API's status
//! (a 403 from the policy table stays a 403 in the browser).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in, or the session is over: off to the sign-in page, then back to `next`.
    SignIn { next: String },
    /// Anything else, with the status to answer and what to tell the person.
    Status(StatusCode, String),
}

impl PageError {
    pub fn internal(error: impl std::fmt::Display) -> PageError {
        PageError::Status(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {error}"),
        )
    }

    /// The API answered `status` with `message`.
    pub fn from_api(status: StatusCode, message: String) -> PageError {
        if status == StatusCode::UNAUTHORIZED {
            PageError::SignIn { next: "/".into() }
        } else {
            PageError::Status(status, message)
        }
    }

    /// Sends a person who must sign in back to `next` afterwards.
    pub fn returning_to(self, next: &str) -> PageError {
        match self {
            PageError::SignIn { .. } => PageError::SignIn { next: next.into() },
            other => other,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { next } => {
                let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                Redirect::to(&format!("/login?next={next}")).into_response()
            }
            PageError::Status(status, message) => {
                let title = match status {
                    StatusCode::FORBIDDEN => "Not yours to see",
                    StatusCode::NOT_FOUND => "Not found",
                    _ => "Something went wrong",
                };
                let body = crate::layout::bare(
                    title,
                    html! {
                        main.narrow {
                            h1 { (title) }
                            p.error role="alert" { (message) }
                            p { a href="/" { "Back to the home page" } }
                        }
                    },
                );
                (status, body).into_response()
            }
        }
    }
}
