//! Users, sessions and the authorization matrix.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::json;
use trellis_control::auth::policy::POLICY;
use trellis_control::{Application, Settings};

use crate::helpers::{Db, TestApp, message, on_both_databases};

/// Who may call what, as the product defines it: A admin, C platform configurer, D data
/// scientist, P app developer, E end user; `*` anyone, logged in or not; empty: node daemons
/// or devices only (with their own tokens).
const MATRIX: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/auth/login", "*"),
    ("POST", "/api/v1/auth/logout", "ACDPE"),
    ("GET", "/api/v1/auth/me", "ACDPE"),
    ("GET", "/api/v1/auth/sessions", "ACDPE"),
    ("DELETE", "/api/v1/auth/sessions/{id}", "ACDPE"),
    ("GET", "/api/v1/users", "A"),
    ("POST", "/api/v1/users", "A"),
    ("PATCH", "/api/v1/users/{name}", "A"),
    ("PUT", "/api/v1/users/{name}/password", "ACDPE"),
    ("GET", "/api/v1/sensor-types", "ACDPE"),
    ("POST", "/api/v1/sensor-types", "AC"),
    ("GET", "/api/v1/sensor-types/{name}", "ACDPE"),
    ("GET", "/api/v1/controller-types", "ACDPE"),
    ("POST", "/api/v1/controller-types", "AC"),
    ("GET", "/api/v1/controller-types/{name}", "ACDPE"),
    ("GET", "/api/v1/sensors", "ACDPE"),
    ("POST", "/api/v1/sensors", "AC"),
    ("GET", "/api/v1/sensors/{id}", "ACDPE"),
    ("POST", "/api/v1/sensors/{id}/token", "AC"),
    ("PUT", "/api/v1/sensors/{id}/users", "AC"),
    ("GET", "/api/v1/controllers", "ACDPE"),
    ("POST", "/api/v1/controllers", "AC"),
    ("GET", "/api/v1/controllers/{id}", "ACDPE"),
    ("POST", "/api/v1/controllers/{id}/token", "AC"),
    ("PUT", "/api/v1/controllers/{id}/users", "AC"),
    ("GET", "/api/v1/nodes", "AC"),
    ("POST", "/api/v1/nodes", "AC"),
    ("DELETE", "/api/v1/nodes/{id}", "AC"),
    ("POST", "/api/v1/nodes/{id}/token", "AC"),
    ("POST", "/api/v1/nodes/{id}/drain", "AC"),
    ("POST", "/api/v1/nodes/{id}/undrain", "AC"),
    ("GET", "/api/v1/models", "ACDPE"),
    ("POST", "/api/v1/models", "AD"),
    ("GET", "/api/v1/models/{name}", "ACDPE"),
    ("POST", "/api/v1/models/{name}/{version}/predict", "ACDPE"),
    ("DELETE", "/api/v1/models/{name}/{version}", "AD"),
    ("GET", "/api/v1/apps", "ACDPE"),
    ("POST", "/api/v1/apps", "AP"),
    ("GET", "/api/v1/apps/{name}", "ACDPE"),
    ("DELETE", "/api/v1/apps/{name}/{version}", "AP"),
    ("GET", "/api/v1/deployments", "ACDPE"),
    ("POST", "/api/v1/deployments", "AE"),
    ("GET", "/api/v1/deployments/{id}", "ACDPE"),
    ("PATCH", "/api/v1/deployments/{id}", "AE"),
    ("DELETE", "/api/v1/deployments/{id}", "AE"),
    ("POST", "/api/v1/deployments/{id}/stop", "AE"),
    ("POST", "/api/v1/deployments/{id}/start", "AE"),
    ("POST", "/api/v1/deployments/{id}/upgrade", "AE"),
    ("POST", "/api/v1/deployments/{id}/rollback", "AE"),
    ("GET", "/api/v1/deployments/{id}/history", "ACDPE"),
    ("GET", "/api/v1/bindable/sensors", "AE"),
    ("GET", "/api/v1/bindable/controllers", "AE"),
    ("GET", "/api/v1/bindable/places", "AE"),
    ("GET", "/api/v1/artifacts/{sha256}", "ACDP"),
    ("POST", "/api/v1/admin/collect", "A"),
    ("POST", "/api/v1/node/heartbeat", ""),
    ("GET", "/api/v1/node/assignments", ""),
    ("GET", "/api/v1/node/artifacts/{sha256}", ""),
    ("GET", "/api/v1/node/deployments/{id}/state", ""),
    ("PUT", "/api/v1/node/deployments/{id}/state", ""),
    ("POST", "/api/v1/device/readings", ""),
    ("POST", "/api/v1/device/readings/batch", ""),
    ("GET", "/api/v1/device/commands", ""),
    ("POST", "/api/v1/device/state", ""),
    ("GET", "/api/v1/admin/smtp", "A"),
    ("PUT", "/api/v1/admin/smtp", "A"),
    ("DELETE", "/api/v1/admin/smtp", "A"),
    ("GET", "/api/v1/admin/recipients", "A"),
    ("PUT", "/api/v1/admin/recipients", "A"),
    ("GET", "/api/v1/admin/notifications", "A"),
    ("GET", "/api/v1/deployments/{id}/recipients", "ACDPE"),
    ("PUT", "/api/v1/deployments/{id}/recipients", "AE"),
    ("GET", "/api/v1/deployments/{id}/notifications", "ACDPE"),
    ("POST", "/api/v1/node/deployments/{id}/notifications", ""),
    ("POST", "/api/v1/models/{name}/{version}/jobs", "ADE"),
    ("GET", "/api/v1/jobs", "ADE"),
    ("GET", "/api/v1/jobs/{id}", "ADE"),
    ("POST", "/api/v1/jobs/{id}/cancel", "ADE"),
    ("GET", "/api/v1/jobs/{id}/results", "ADE"),
    ("POST", "/api/v1/node/logs", ""),
    ("GET", "/api/v1/logs", "ACPE"),
    ("GET", "/api/v1/logs/tail", "ACPE"),
    ("GET", "/api/v1/sensors/{id}/readings", "ACDPE"),
    ("GET", "/api/v1/locations", "ACDPE"),
    ("GET", "/api/v1/live", "ACDPE"),
    ("GET", "/api/v1/nodes/{id}/load", "AC"),
    ("GET", "/api/v1/models/{name}/stats", "ACDPE"),
    ("GET", "/api/v1/schedules/preview", "ACDPE"),
    ("GET", "/api/v1/openapi.json", "*"),
    ("GET", "/api/v1/docs", "*"),
    // Prometheus metrics: the metrics token, or an admin's session.
    ("GET", "/metrics", "A"),
];

const ROLES: [(char, &str); 5] = [
    ('A', "admin"),
    ('C', "platform-configurer"),
    ('D', "data-scientist"),
    ('P', "app-developer"),
    ('E', "end-user"),
];

on_both_databases!(
    every_endpoint_admits_exactly_its_roles,
    sessions_start_and_end,
    node_tokens_open_node_endpoints_only,
);

async fn node_tokens_open_node_endpoints_only(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = app.user("carol", "platform-configurer").await;
    let (status, node) = app
        .post("/nodes", &configurer, json!({ "name": "vm-1" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{node}");
    let token = node["token"]
        .as_str()
        .expect("a new node's token")
        .to_string();
    let (_, listed) = app.get("/nodes", &configurer).await;
    assert!(
        listed[0].get("token").is_none(),
        "the token is shown once: {listed}"
    );

    let report = json!({ "metrics": { "cpu_percent": 5.0, "memory_used_mb": 100.0,
        "memory_total_mb": 1000.0, "load_1m": 0.1, "performance": 10.0 }, "instances": [] });
    let (status, answer) = app.post("/node/heartbeat", &token, report).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, assignments) = app.get("/node/assignments", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(assignments["instances"], json!([]));
    let (status, _) = app.get("/sensors", &token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a node token is not a login"
    );
    let (_, listed) = app.get("/nodes", &configurer).await;
    assert_eq!(listed[0]["report"]["metrics"]["performance"], 10.0);
    assert!(listed[0]["last_seen"].is_string());
}

#[test]
fn the_policy_table_and_the_documented_routes_are_the_matrix() {
    let policy: BTreeSet<_> = POLICY.iter().map(|(m, p, _)| (*m, *p)).collect();
    let matrix: BTreeSet<_> = MATRIX.iter().map(|(m, p, _)| (*m, *p)).collect();
    assert_eq!(
        policy, matrix,
        "every endpoint needs a row in the test matrix"
    );
}

async fn every_endpoint_admits_exactly_its_roles(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    // The documented routes (all but the two that serve the document) are the policy's.
    let (_, document) = app.call(Method::GET, "/openapi.json", None, None).await;
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let listed: BTreeSet<_> = POLICY
        .iter()
        .filter(|(_, p, _)| !p.ends_with("/openapi.json") && !p.ends_with("/docs"))
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, listed);

    let mut tokens = Vec::new();
    for (letter, role) in ROLES {
        let token = if role == "admin" {
            app.admin.clone()
        } else {
            app.user(&format!("user-{letter}").to_lowercase(), role)
                .await
        };
        tokens.push((letter, role, token));
    }
    // Logging out ends the token, so that row goes last.
    let mut rows: Vec<_> = MATRIX.to_vec();
    rows.sort_by_key(|(_, path, _)| path.ends_with("/logout"));
    for (method, path, allowed) in rows {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let path = path
            .replace("{name}", "x")
            .replace("{version}", "1")
            .replace("{id}", "x")
            .replace("{sha256}", &"0".repeat(64));
        let body = matches!(method, Method::POST | Method::PATCH).then(|| json!({}));
        let (status, answer) = app
            .call_root(method.clone(), &path, None, body.clone())
            .await;
        if allowed == "*" {
            assert!(
                !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                "{method} {path} without a token: {status} {answer}"
            );
            continue;
        }
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a token: {answer}"
        );
        let (status, _) = app
            .call_root(method.clone(), &path, Some("not-a-token"), body.clone())
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with a bad token"
        );
        for (letter, role, token) in &tokens {
            let (status, answer) = app
                .call_root(method.clone(), &path, Some(token), body.clone())
                .await;
            if allowed.contains(*letter) {
                assert!(
                    !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                    "{role} should reach {method} {path}: {status} {answer}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role} on {method} {path}: {answer}"
                );
                assert!(message(&answer).contains(role), "{answer}");
            }
        }
    }
}

async fn sessions_start_and_end(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let token = app.user("dana", "data-scientist").await;
    let (status, me) = app.get("/auth/me", &token).await;
    assert_eq!(
        (status, me["name"].as_str(), me["role"].as_str()),
        (StatusCode::OK, Some("dana"), Some("data-scientist"))
    );

    let (status, answer) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({ "name": "dana", "password": "wrong-password" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        message(&answer).contains("wrong user name or password"),
        "{answer}"
    );

    let (status, _) = app
        .call(Method::POST, "/auth/logout", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/auth/me", &token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a token works after logout"
    );

    // Users: names and passwords are checked, duplicates refused, hashes never leave.
    let before = app.snapshot().await;
    for (body, expected) in [
        (
            json!({ "name": "Bad Name", "password": "long-enough", "role": "end-user" }),
            "not a valid name",
        ),
        (
            json!({ "name": "erin", "password": "short", "role": "end-user" }),
            "at least 8",
        ),
        (
            json!({ "name": "dana", "password": "long-enough", "role": "end-user" }),
            "already exists",
        ),
    ] {
        let (status, answer) = app.post("/users", &app.admin, body).await;
        assert!(status.is_client_error(), "{answer}");
        assert!(message(&answer).contains(expected), "{answer}");
    }
    let (status, _) = app
        .post(
            "/users",
            &app.admin,
            json!({ "name": "erin", "password": "long-enough", "role": "wizard" }),
        )
        .await;
    assert!(status.is_client_error());
    assert_eq!(app.snapshot().await, before);
    let (_, users) = app.get("/users", &app.admin).await;
    assert!(!users.to_string().contains("argon2"), "{users}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_registry_gets_an_admin_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::local(dir.path().to_path_buf());
    settings.listen = "127.0.0.1:0".parse().unwrap();
    let first = Application::build(settings.clone()).await.unwrap();
    let admin = first
        .first_admin
        .clone()
        .expect("a fresh registry makes an admin");
    assert!(admin.generated && admin.password.len() >= 16, "{admin:?}");
    let address = format!("http://{}", first.local_addr());
    tokio::spawn(first.run_until_stopped());
    let response = reqwest::Client::new()
        .post(format!("{address}/api/v1/auth/login"))
        .json(&json!({ "name": admin.name, "password": admin.password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let again = Application::build(settings).await.unwrap();
    assert!(
        again.first_admin.is_none(),
        "a second start made another admin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_documents_itself() {
    let app = TestApp::spawn(Db::Sqlite).await.unwrap();
    let (status, document) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    assert!(
        document["components"]["schemas"]["NewDeployment"].is_object(),
        "{document}"
    );
    let page = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("openapi.json"));
}
