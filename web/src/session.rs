//! How a browser is signed in: the API's own session token, kept in an `HttpOnly`,
//! `SameSite=Strict` cookie, and a cross-site-request token derived from it that the portal's
//! pages send back with every change they ask the API for. The control plane's policy middleware
//! accepts the cookie in place of `Authorization: Bearer` and checks the derived token, so the
//! portal and the API share one sign-in and one authorization table.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use sha2::{Digest, Sha256};

/// The cookie that holds the session token.
pub const SESSION_COOKIE: &str = "trellis_session";

/// The header a cookie-signed request that changes something must carry, holding
/// [`csrf_token`] of its session. A page on another site cannot read it, nor send a custom header
/// without a CORS preflight this server never grants.
pub const CSRF_HEADER: &str = "x-trellis-csrf";

/// The cross-site-request token of a session: a hash of the session token, so it needs no
/// storage, changes with every sign-in and reveals nothing of the token.
pub fn csrf_token(session_token: &str) -> String {
    let digest = Sha256::digest(format!("trellis-csrf:{session_token}").as_bytes());
    hex::encode(&digest[..16])
}

/// The session token a request's cookies carry, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

/// The `Set-Cookie` value that signs a browser in for `max_age_secs`; `Secure` when the portal
/// is served over TLS, so the token never travels in the clear.
pub fn set_cookie(token: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    )
}

/// The `Set-Cookie` value that signs a browser out.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("theme=dark; trellis_session=abc123 ; other=1"),
        );
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc123"));
        headers.insert(COOKIE, HeaderValue::from_static("trellis_session="));
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn the_csrf_token_differs_per_session() {
        assert_ne!(csrf_token("one"), csrf_token("two"));
        assert_eq!(csrf_token("one"), csrf_token("one"));
        assert!(!csrf_token("one").contains("one"));
    }
}
