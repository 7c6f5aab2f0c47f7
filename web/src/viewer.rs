//! The person looking at a page: who the API says the session cookie belongs to.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use trellis_protocol::api::{Me, Role};

use crate::Portal;
use crate::error::PageError;
use crate::session::{csrf_token, session_cookie};

/// A signed-in viewer. Extracting one sends a person without a live session to the sign-in
/// page, to come back afterwards.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub name: String,
    pub role: Role,
    /// The session token, for the page's API calls in their name.
    pub token: String,
    /// What the page's scripts send back as the cross-site-request token.
    pub csrf: String,
}

impl Viewer {
    /// Whether the policy lets this viewer's role do what `roles` (or an admin) may.
    pub fn is(&self, roles: &[Role]) -> bool {
        self.role == Role::Admin || roles.contains(&self.role)
    }
}

impl FromRequestParts<Portal> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Viewer, PageError> {
        let here = parts.uri.to_string();
        let sign_in = || PageError::SignIn { next: here.clone() };
        let token = session_cookie(&parts.headers).ok_or_else(sign_in)?;
        let me: Me = portal
            .api
            .get(&token, "/auth/me")
            .await
            .map_err(|e| e.returning_to(&here))?;
        Ok(Viewer {
            name: me.name,
            role: me.role,
            csrf: csrf_token(&token),
            token,
        })
    }
}
