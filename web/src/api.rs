//! The portal's way to its data: the control plane's own API router, called in-process with the
//! signed-in person's session token. Every page therefore goes through the same routes, policy
//! table and handlers as the CLI, and sees exactly what the API would show that person.

use axum::Router;
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{Method, Request, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::ServiceExt;
use trellis_protocol::api::ErrorBody;

use crate::error::PageError;

/// The largest API answer a page reads (a page of rows, never a download).
const MAX_ANSWER_BYTES: usize = 16 << 20;

/// The API, to be called in-process.
#[derive(Clone)]
pub struct Api {
    router: Router,
}

/// An answer from the API: its status and body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: axum::body::Bytes,
}

impl Answer {
    /// The body as `T`, or the API's error as a [`PageError`].
    pub fn json<T: DeserializeOwned>(self) -> Result<T, PageError> {
        if !self.status.is_success() {
            return Err(self.error());
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| PageError::internal(format!("reading the API's answer: {e}")))
    }

    /// The API's error message (its JSON error shape), with the status.
    pub fn error(&self) -> PageError {
        let message = serde_json::from_slice::<ErrorBody>(&self.body)
            .map(|body| body.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&self.body).into_owned());
        PageError::from_api(self.status, message)
    }
}

impl Api {
    pub fn new(router: Router) -> Api {
        Api { router }
    }

    /// Sends one request to the API as the holder of `token` (none for public routes).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        json: Option<serde_json::Value>,
    ) -> Result<Answer, PageError> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"));
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match json {
            Some(json) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let request = request.body(body).map_err(PageError::internal)?;
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .map_err(PageError::internal)?;
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, MAX_ANSWER_BYTES)
            .await
            .map_err(PageError::internal)?;
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// `GET path` as the holder of `token`, read as `T`.
    pub async fn get<T: DeserializeOwned>(&self, token: &str, path: &str) -> Result<T, PageError> {
        self.call(Method::GET, path, Some(token), None)
            .await?
            .json()
    }

    /// `POST path` with a JSON body, as the holder of `token` if any.
    pub async fn post<B: Serialize>(
        &self,
        token: Option<&str>,
        path: &str,
        body: &B,
    ) -> Result<Answer, PageError> {
        let json = serde_json::to_value(body).map_err(PageError::internal)?;
        self.call(Method::POST, path, token, Some(json)).await
    }
}
