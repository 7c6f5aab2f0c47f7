//! Accounts after they are made: sessions listed and revoked, users disabled and enabled,
//! passwords and roles changed, and the last admin kept. Each refusal must hold from the very
//! next request.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, Db, PASSWORD, TestApp, message, on_both_databases};

on_both_databases!(
    a_revoked_session_is_refused_at_once,
    a_disabled_user_is_refused_at_once_and_cannot_log_in,
    a_changed_password_replaces_the_old_one,
    a_role_change_holds_from_the_next_request,
    the_last_enabled_admin_is_kept,
);

impl TestApp {
    async fn patch_user(&self, name: &str, token: &str, change: Value) -> (StatusCode, Value) {
        self.call(
            Method::PATCH,
            &format!("/users/{name}"),
            Some(token),
            Some(change),
        )
        .await
    }

    async fn set_password(&self, name: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(
            Method::PUT,
            &format!("/users/{name}/password"),
            Some(token),
            Some(body),
        )
        .await
    }

    async fn revoke(&self, id: &str, token: &str) -> (StatusCode, Value) {
        self.call(
            Method::DELETE,
            &format!("/auth/sessions/{id}"),
            Some(token),
            None,
        )
        .await
    }

    /// The status of `GET /auth/me` with `token`: whether the session still works.
    async fn me_status(&self, token: &str) -> StatusCode {
        self.get("/auth/me", token).await.0
    }

    /// The status and answer of a login.
    async fn try_login(&self, name: &str, password: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({ "name": name, "password": password })),
        )
        .await
    }
}

async fn a_revoked_session_is_refused_at_once(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let laptop = app.user("dana", "data-scientist").await;
    let phone = app.login("dana", PASSWORD).await;
    let other = app.user("erin", "end-user").await;

    let (status, sessions) = app.get("/auth/sessions", &laptop).await;
    assert_eq!(status, StatusCode::OK, "{sessions}");
    let sessions = sessions.as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "dana's two sessions only: {sessions:?}");
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "{sessions:?}");
    for session in &sessions {
        let id = session["id"].as_str().unwrap();
        assert_eq!(session["user"], "dana");
        assert!(session["created_at"].is_string() && session["expires_at"].is_string());
        assert!(
            !laptop.contains(id) && !phone.contains(id) && !id.contains(&laptop[..16]),
            "a session id gives nothing of its token away: {id}"
        );
    }
    let laptop_id = current[0]["id"].as_str().unwrap().to_string();
    let phone_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Someone else's session is not there for a non-admin, and its owner is not listed for them.
    let (status, answer) = app.revoke(&phone_id, &other).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(app.me_status(&phone).await, StatusCode::OK);
    let (status, answer) = app.get("/auth/sessions?user=dana", &other).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(message(&answer).contains("only their own"), "{answer}");

    let (status, answer) = app.revoke(&phone_id, &laptop).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    let (status, answer) = app.get("/auth/me", &phone).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a revoked session works");
    assert!(message(&answer).contains("revoked"), "{answer}");
    assert_eq!(app.me_status(&laptop).await, StatusCode::OK);
    let (status, _) = app.revoke(&phone_id, &laptop).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "revoked twice");

    // An admin sees and ends anyone's.
    let (status, listed) = app.get("/auth/sessions?user=dana", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [laptop_id.as_str()]);
    let (_, everyone) = app.get("/auth/sessions?user=*", &app.admin).await;
    let users: std::collections::BTreeSet<&str> = everyone
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["admin", "dana", "erin"].into());
    let (status, answer) = app.get("/auth/sessions?user=nobody", &app.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(message(&answer).contains("nobody"), "{answer}");
    let (status, _) = app.revoke(&laptop_id, &app.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.me_status(&laptop).await, StatusCode::UNAUTHORIZED);
}

async fn a_disabled_user_is_refused_at_once_and_cannot_log_in(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let first = app.user("carol", "platform-configurer").await;
    let second = app.login("carol", PASSWORD).await;
    let (status, user) = app
        .patch_user("carol", &app.admin, json!({ "disabled": true }))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["disabled"], true);
    for token in [&first, &second] {
        let (status, _) = app.get("/sensors", token).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a disabled user's session"
        );
    }
    let (status, answer) = app.try_login("carol", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(message(&answer).contains("disabled"), "{answer}");
    // A wrong password is still just wrong: being disabled is told only to who knows it.
    let (status, answer) = app.try_login("carol", "wrong-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert!(!message(&answer).contains("disabled"), "{answer}");
    let (_, users) = app.get("/users", &app.admin).await;
    let carol = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "carol")
        .unwrap();
    assert_eq!(carol["disabled"], true, "{users}");

    let (status, user) = app
        .patch_user("carol", &app.admin, json!({ "disabled": false }))
        .await;
    assert_eq!((status, &user["disabled"]), (StatusCode::OK, &json!(false)));
    assert_eq!(
        app.me_status(&first).await,
        StatusCode::UNAUTHORIZED,
        "enabling a user does not bring back the sessions disabling ended"
    );
    let again = app.login("carol", PASSWORD).await;
    assert_eq!(app.me_status(&again).await, StatusCode::OK);
}

async fn a_changed_password_replaces_the_old_one(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let here = app.user("dana", "data-scientist").await;
    let elsewhere = app.login("dana", PASSWORD).await;
    let erin = app.user("erin", "end-user").await;
    let new = "a-new-long-password";

    for (body, status, expected) in [
        (
            json!({ "new_password": new }),
            StatusCode::BAD_REQUEST,
            "current_password: needed",
        ),
        (
            json!({ "current_password": "wrong-password", "new_password": new }),
            StatusCode::FORBIDDEN,
            "not your current password",
        ),
        (
            json!({ "current_password": PASSWORD, "new_password": "short" }),
            StatusCode::BAD_REQUEST,
            "new_password: use at least 8",
        ),
    ] {
        let (got, answer) = app.set_password("dana", &here, body).await;
        assert_eq!(got, status, "{answer}");
        assert!(message(&answer).contains(expected), "{answer}");
    }
    let (status, _) = app
        .set_password("dana", &here, json!({ "password": new }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an unknown field");
    let (status, answer) = app
        .set_password("dana", &erin, json!({ "new_password": new }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(message(&answer).contains("only their own"), "{answer}");
    app.try_login("dana", PASSWORD)
        .await
        .0
        .is_success()
        .then_some(())
        .expect("refused changes left the password alone");

    let (status, answer) = app
        .set_password(
            "dana",
            &here,
            json!({ "current_password": PASSWORD, "new_password": new }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    assert_eq!(
        app.try_login("dana", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.try_login("dana", new).await.0, StatusCode::OK);
    assert_eq!(
        app.me_status(&here).await,
        StatusCode::OK,
        "the session that changed it"
    );
    assert_eq!(
        app.me_status(&elsewhere).await,
        StatusCode::UNAUTHORIZED,
        "the user's other sessions end with the old password"
    );

    // An admin resets anyone's, without knowing it; every session of theirs ends.
    let (status, answer) = app
        .set_password(
            "dana",
            &app.admin,
            json!({ "new_password": "reset-by-admin" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    assert_eq!(app.me_status(&here).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.try_login("dana", new).await.0, StatusCode::UNAUTHORIZED);
    app.login("dana", "reset-by-admin").await;
    let (status, answer) = app
        .set_password(
            "nobody",
            &app.admin,
            json!({ "new_password": "long-enough" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    // An admin's own still needs the current one.
    let (status, _) = app
        .set_password(
            "admin",
            &app.admin,
            json!({ "new_password": "long-enough" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn a_role_change_holds_from_the_next_request(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.user("dana", "data-scientist").await;
    let kind = json!({ "name": "temperature", "unit": "°C", "value": "number" });
    let (status, _) = app.post("/sensor-types", &token, kind.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, user) = app
        .patch_user("dana", &app.admin, json!({ "role": "platform-configurer" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["role"], "platform-configurer");
    let (status, answer) = app.post("/sensor-types", &token, kind).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the same session, the new role: {answer}"
    );
    let (_, me) = app.get("/auth/me", &token).await;
    assert_eq!(me["role"], "platform-configurer");

    for (body, status, expected) in [
        (json!({}), StatusCode::BAD_REQUEST, "nothing else to change"),
        (
            json!({ "role": "wizard" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "role",
        ),
        (
            json!({ "name": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            json!({ "disabled": "yes" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "disabled",
        ),
    ] {
        let (got, answer) = app.patch_user("dana", &app.admin, body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert!(message(&answer).contains(expected), "{body}: {answer}");
    }
    let (status, answer) = app
        .patch_user("nobody", &app.admin, json!({ "role": "end-user" }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(message(&answer).contains("nobody"), "{answer}");
}

async fn the_last_enabled_admin_is_kept(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    for change in [json!({ "role": "end-user" }), json!({ "disabled": true })] {
        let (status, answer) = app.patch_user("admin", &app.admin, change).await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert!(message(&answer).contains("last enabled admin"), "{answer}");
    }
    assert_eq!(app.me_status(&app.admin).await, StatusCode::OK);

    // A second admin, disabled, does not count; enabled, it does.
    app.user("root", "admin").await;
    let (status, _) = app
        .patch_user("root", &app.admin, json!({ "disabled": true }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .patch_user("admin", &app.admin, json!({ "role": "end-user" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    app.patch_user("root", &app.admin, json!({ "disabled": false }))
        .await;
    let (status, user) = app
        .patch_user("admin", &app.admin, json!({ "role": "end-user" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    // Demoted: the old admin session is an end user's now.
    let (status, _) = app.get("/users", &app.admin).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let root = app.login("root", PASSWORD).await;
    let (status, answer) = app
        .patch_user("root", &root, json!({ "role": "end-user" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let (status, _) = app
        .patch_user("admin", &root, json!({ "role": "admin" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.try_login("admin", ADMIN_PASSWORD).await.0,
        StatusCode::OK
    );
}
