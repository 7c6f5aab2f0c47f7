//! The portal's sign-in: a form that keeps the API's session token in an `HttpOnly`,
//! `SameSite=Strict` cookie, which the API then accepts, asking changes for the page's
//! cross-site-request token.

use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode, redirect};
use serde_json::json;
use trellis_web::session::{CSRF_HEADER, csrf_token};

use crate::helpers::{ADMIN_PASSWORD, Db, TestApp, message, on_both_databases};

on_both_databases!(a_browser_signs_in_with_a_cookie_the_api_accepts);

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

async fn a_browser_signs_in_with_a_cookie_the_api_accepts(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let browser = browser();
    let root = &app.address;

    // Not signed in: a page sends the person to sign in, and back afterwards.
    let answer = browser.get(format!("{root}/")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()[LOCATION], "/login?next=%2F");

    // A wrong password is said on the form, and no cookie is set.
    let answer = browser
        .post(format!("{root}/login"))
        .form(&[
            ("name", "admin"),
            ("password", "wrong-password"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(answer.headers().get(SET_COOKIE).is_none());
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("wrong user name or password")
    );

    // A form posted from another site's page is refused.
    let answer = browser
        .post(format!("{root}/login"))
        .header(ORIGIN, "http://evil.example")
        .form(&[("name", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);

    // Signed in: the cookie holds a session, out of scripts' reach and never sent cross-site;
    // the person goes where they were headed, but only ever on this site.
    let answer = browser
        .post(format!("{root}/login"))
        .form(&[
            ("name", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()[LOCATION], "/");
    let set_cookie = answer.headers()[SET_COOKIE].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "Secure without TLS: {set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let token = cookie.split_once('=').unwrap().1.to_string();

    // The API takes the cookie for reading...
    let me: serde_json::Value = browser
        .get(app.url("/auth/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "admin");
    let home = browser
        .get(format!("{root}/"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("Welcome, admin"));

    // ...but a change signed by the cookie alone, as another site's form would send it, is
    // refused and changes nothing; with the page's token it goes through.
    let new_type = json!({ "name": "thermometer", "unit": "°C", "value": "number" });
    let answer = browser
        .post(app.url("/sensor-types"))
        .header(COOKIE, &cookie)
        .json(&new_type)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(message(&body).contains("cross-site"), "{body}");
    let (_, types) = app.get("/sensor-types", &app.admin).await;
    assert_eq!(types.as_array().map(Vec::len), Some(0), "{types}");
    let answer = browser
        .post(app.url("/sensor-types"))
        .header(COOKIE, &cookie)
        .header(CSRF_HEADER, csrf_token("another-session"))
        .json(&new_type)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let answer = browser
        .post(app.url("/sensor-types"))
        .header(COOKIE, &cookie)
        .header(CSRF_HEADER, csrf_token(&token))
        .json(&new_type)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    assert!(
        status.is_success(),
        "{status}: {}",
        answer.text().await.unwrap()
    );

    // Signing out ends the session itself, not just the cookie.
    let answer = browser
        .post(format!("{root}/logout"))
        .header(COOKIE, &cookie)
        .form(&[("csrf", csrf_token(&token))])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert!(
        answer.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _) = app.call(Method::GET, "/auth/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
