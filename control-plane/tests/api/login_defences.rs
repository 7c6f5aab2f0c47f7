//! What stands between a stranger and an account: logins limited per name and per address,
//! unknown names costing as much as known ones, the first admin's password held to the rules,
//! and expired sessions removed rather than kept forever.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Db, TestApp, message, on_both_databases};

on_both_databases!(
    logins_beyond_the_limit_for_one_name_get_429_with_retry_after,
    logins_beyond_the_limit_for_one_address_get_429_with_retry_after,
    an_unknown_name_costs_a_login_as_much_as_a_known_one,
    a_first_admin_password_set_by_flag_obeys_the_password_rules,
    expired_sessions_are_deleted_when_someone_logs_in_or_out,
);

/// A login's status, its answer, its `Retry-After` header and how long it took.
async fn attempt(
    app: &TestApp,
    name: &str,
    password: &str,
) -> (StatusCode, serde_json::Value, Option<String>, Duration) {
    let started = Instant::now();
    let response = app
        .client
        .post(app.url("/auth/login"))
        .json(&json!({ "name": name, "password": password }))
        .send()
        .await
        .expect("sending a login");
    let took = started.elapsed();
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, body, retry_after, took)
}

/// Asserts that a refused login is a 429 in the API's error shape that says when to come back.
fn assert_limited(status: StatusCode, body: &serde_json::Value, retry_after: Option<String>) {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body["error"].is_string(), "the API's error shape: {body}");
    let seconds: u64 = retry_after
        .expect("a Retry-After header")
        .parse()
        .expect("Retry-After in whole seconds");
    assert!(seconds >= 1, "{seconds}");
}

async fn logins_beyond_the_limit_for_one_name_get_429_with_retry_after(db: Db) {
    let Some(app) = TestApp::spawn_with(db, |s| {
        s.login_limit.per_name.burst = 3;
        s.login_limit.per_name.every = Duration::from_secs(60);
    })
    .await
    else {
        return;
    };
    app.user("dana", "end-user").await;
    // The one login `user` made took one of dana's three.
    for _ in 0..2 {
        let (status, body, _, _) = attempt(&app, "dana", "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, body, retry_after, _) = attempt(&app, "dana", crate::helpers::PASSWORD).await;
    assert_limited(status, &body, retry_after);
    assert!(message(&body).contains("dana"), "{body}");
    // Another name from the same address is not held back by dana's limit.
    let (status, body, _, _) = attempt(&app, "admin", crate::helpers::ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn logins_beyond_the_limit_for_one_address_get_429_with_retry_after(db: Db) {
    let Some(app) = TestApp::spawn_with(db, |s| {
        s.login_limit.per_address.burst = 4;
        s.login_limit.per_address.every = Duration::from_secs(60);
    })
    .await
    else {
        return;
    };
    // The test's own admin login took one of the four.
    for n in 0..3 {
        let (status, body, _, _) = attempt(&app, &format!("nobody-{n}"), "some-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, body, retry_after, _) =
        attempt(&app, "admin", crate::helpers::ADMIN_PASSWORD).await;
    assert_limited(status, &body, retry_after);
}

async fn an_unknown_name_costs_a_login_as_much_as_a_known_one(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    app.user("erin", "end-user").await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for n in 0..5 {
        let (status, body, _, took) = attempt(&app, "erin", "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        known.push(took);
        let (status, body, _, took) = attempt(&app, &format!("ghost-{n}"), "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        unknown.push(took);
    }
    known.sort();
    unknown.sort();
    let (known, unknown) = (known[2], unknown[2]);
    // A password check takes tens of milliseconds; looking a name up, well under one. Half is
    // far from both, so scheduling noise cannot decide the outcome.
    assert!(
        unknown * 2 >= known,
        "an unknown name answered in {unknown:?}, a known one in {known:?}: the difference says \
         which names exist"
    );
}

async fn a_first_admin_password_set_by_flag_obeys_the_password_rules(db: Db) {
    let Some((built, _dir)) = TestApp::build(db, |s| s.admin_password = Some("short".into())).await
    else {
        return;
    };
    let error = match built {
        Ok(_) => panic!("a first admin with the password `short` was created"),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains("--admin-password"), "{error}");
    assert!(error.contains("at least 8"), "{error}");
}

async fn expired_sessions_are_deleted_when_someone_logs_in_or_out(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (user_id,): (String,) = sqlx::query_as("SELECT id FROM users WHERE name = 'admin'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    // A session that ran out an hour ago, nobody having logged it out.
    let add_stale = async |id: &str| {
        sqlx::query(
            "INSERT INTO sessions (token_hash, id, user_id, created_at, last_used_at, expires_at) \
             VALUES ($1, $2, $3, 0, 0, 1)",
        )
        .bind(format!("{id}-hash"))
        .bind(id)
        .bind(&user_id)
        .execute(&app.db)
        .await
        .unwrap();
    };
    let stored = async |id: &str| {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
        count
    };
    let live = async || {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions")
            .fetch_one(&app.db)
            .await
            .unwrap();
        count as usize
    };

    add_stale("ses_stale_login").await;
    let live_before = app.get("/auth/sessions", &app.admin).await.1;
    let token = app.login("admin", crate::helpers::ADMIN_PASSWORD).await;
    assert_eq!(
        stored("ses_stale_login").await,
        0,
        "the expired session is still stored after a login"
    );
    let live_after_login = live_before.as_array().unwrap().len() + 1;
    assert_eq!(live().await, live_after_login, "live sessions are kept");

    add_stale("ses_stale_logout").await;
    let (status, _) = app
        .call(Method::POST, "/auth/logout", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        stored("ses_stale_logout").await,
        0,
        "the expired session is still stored after a logout"
    );
    assert_eq!(
        live().await,
        live_after_login - 1,
        "only the session logged out and the expired one are gone"
    );
}
