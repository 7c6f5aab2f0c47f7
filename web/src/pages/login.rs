//! Signing in and out. Both are plain HTML forms, so they work before any script loads; both
//! refuse a post from another site's page (its `Origin` names another host).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::{HOST, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use trellis_protocol::api::{Login, Session};

use crate::Portal;
use crate::error::PageError;
use crate::layout;
use crate::session::{clear_cookie, csrf_token, session_cookie, set_cookie};

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SignIn {
    name: String,
    password: String,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SignOut {
    csrf: String,
}

/// Only a path on this site, so a crafted link cannot send someone elsewhere after signing in.
fn local(next: Option<&str>) -> &str {
    match next {
        Some(next) if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') => {
            next
        }
        _ => "/",
    }
}

/// Whether a form post came from a page of this site (browsers send `Origin` with every post).
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, origin_host)| origin_host == host)
}

fn form(next: &str, name: &str, error: Option<&str>) -> Markup {
    layout::bare(
        "Sign in",
        html! {
            main.narrow #main {
                h1 { "Sign in to Trellis" }
                form.stack method="post" action="/login" {
                    input type="hidden" name="next" value=(next);
                    label for="name" { "User name" }
                    input #name name="name" autocomplete="username" required value=(name);
                    label for="password" { "Password" }
                    input #password name="password" type="password" autocomplete="current-password" required
                        aria-describedby=[error.map(|_| "login-error")];
                    @if let Some(error) = error {
                        p.error #login-error role="alert" { (error) }
                    }
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// `GET /login`.
pub async fn show(Query(next): Query<Next>) -> Markup {
    form(local(next.next.as_deref()), "", None)
}

/// `POST /login`: signs in through the API and keeps its session token in the cookie.
pub async fn sign_in(
    State(portal): State<Portal>,
    headers: HeaderMap,
    Form(sign_in): Form<SignIn>,
) -> Result<Response, PageError> {
    if !same_origin(&headers) {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "sign-in refused: the form was sent from another site".into(),
        ));
    }
    let next = local(sign_in.next.as_deref()).to_string();
    let login = Login {
        name: sign_in.name.clone(),
        password: sign_in.password,
    };
    let answer = portal.api.post(None, "/auth/login", &login).await?;
    if !answer.status.is_success() {
        let message = match answer.error() {
            PageError::SignIn { .. } => "wrong user name or password".to_string(),
            PageError::Status(_, message) => message,
        };
        let status = answer.status;
        return Ok((status, form(&next, &sign_in.name, Some(&message))).into_response());
    }
    let session: Session = answer.json()?;
    let cookie = set_cookie(
        &session.token,
        portal.session_ttl_secs,
        portal.secure_cookies,
    );
    Ok(([(SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
}

/// `POST /logout`: ends the session in the API and forgets the cookie.
pub async fn sign_out(
    State(portal): State<Portal>,
    headers: HeaderMap,
    Form(sign_out): Form<SignOut>,
) -> Result<Response, PageError> {
    // Another site's form must not sign anyone out either: it would arrive without the cookie
    // (SameSite) and, answered with a cleared cookie, end the session all the same.
    if !same_origin(&headers) {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "sign-out refused: the form was sent from another site".into(),
        ));
    }
    let Some(token) = session_cookie(&headers) else {
        return Ok(Redirect::to("/login").into_response());
    };
    if sign_out.csrf != csrf_token(&token) {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "sign-out refused: the form did not come from this site's page".into(),
        ));
    }
    portal
        .api
        .call(axum::http::Method::POST, "/auth/logout", Some(&token), None)
        .await?;
    let cookie = clear_cookie(portal.secure_cookies);
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/login")).into_response())
}
