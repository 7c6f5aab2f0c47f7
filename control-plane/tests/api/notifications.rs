//! Notifications through the API: the SMTP server an admin sets (its password never shown),
//! recipients checked and kept to their deployment's owner, and apps' notifications from their
//! node delivered to a real webhook receiver on loopback, signed, retried, rate limited and
//! recorded; a node that goes down is told to the admins' webhook.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as HttpStatus};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use trellis_control::notify::rate_limit::NotifyLimit;
use trellis_guest_artifacts as guests;

use crate::fixtures::{classroom, id_of};
use crate::helpers::{Db, TestApp, message, on_both_databases};
use crate::uploads::app_parts;

on_both_databases!(
    the_smtp_server_is_set_by_admins_and_its_password_never_shown,
    apps_notifications_reach_signed_webhooks_within_the_rate_limit,
);

const SECRET: &str = "a-webhook-secret-of-eve";
const ADMIN_SECRET: &str = "the-admins-webhook-secret";
/// Three per three seconds: a burst beyond three is held back, and a token comes back each
/// second, so the summary follows quickly.
const LIMIT: NotifyLimit = NotifyLimit {
    count: 3,
    per: Duration::from_secs(3),
};
const HEARTBEAT: Duration = Duration::from_millis(100);

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PUT, path, Some(token), Some(body)).await
}

async fn the_smtp_server_is_set_by_admins_and_its_password_never_shown(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (status, none) = app.get("/admin/smtp", &app.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{none}");
    assert!(message(&none).contains("no SMTP server"), "{none}");

    let good = json!({ "host": "smtp.school.example", "port": 587, "security": "starttls",
        "username": "trellis", "password": "smtp-password", "from": "Trellis <trellis@school.example>" });
    for (change, field) in [
        (json!({ "security": "none" }), "security"),
        (json!({ "from": "not an address" }), "from"),
        (json!({ "port": 0 }), "port"),
        (json!({ "host": "" }), "host"),
        (json!({ "username": null }), "password"),
    ] {
        let mut bad = good.clone();
        for (key, value) in change.as_object().unwrap() {
            bad[key] = value.clone();
        }
        let (status, refused) = put(&app, "/admin/smtp", &app.admin, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{change}: {refused}");
        assert!(message(&refused).starts_with(field), "{change}: {refused}");
    }
    let (status, refused) = put(
        &app,
        "/admin/smtp",
        &app.admin,
        json!({ "host": "x", "port": 25, "from": "a@b.example", "tls": true }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(message(&refused).contains("tls"), "{refused}");
    // Plain SMTP is for a server on this machine.
    let loopback = json!({ "host": "127.0.0.1", "port": 2525, "security": "none", "from": "trellis@localhost" });
    let (status, set) = put(&app, "/admin/smtp", &app.admin, loopback).await;
    assert_eq!(status, StatusCode::OK, "{set}");

    let (status, set) = put(&app, "/admin/smtp", &app.admin, good.clone()).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set.get("password"), None, "{set}");
    assert_eq!(set["password_set"], true);
    let (_, shown) = app.get("/admin/smtp", &app.admin).await;
    assert_eq!(shown["host"], "smtp.school.example");
    assert_eq!(shown["security"], "starttls");
    assert!(!shown.to_string().contains("smtp-password"), "{shown}");
    // Left out, the password stays while the user does; another user does not inherit it.
    let mut same_user = good.clone();
    same_user.as_object_mut().unwrap().remove("password");
    let (_, kept) = put(&app, "/admin/smtp", &app.admin, same_user.clone()).await;
    assert_eq!(kept["password_set"], true, "{kept}");
    same_user["username"] = "someone-else".into();
    let (_, dropped) = put(&app, "/admin/smtp", &app.admin, same_user).await;
    assert_eq!(dropped["password_set"], false, "{dropped}");

    let eve = app.user("eve", "end-user").await;
    let (status, _) = put(&app, "/admin/smtp", &eve, good).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call(Method::DELETE, "/admin/smtp", Some(&app.admin), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/admin/smtp", &app.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// One request the webhook receiver got.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    signature: String,
    notification: String,
    body: Vec<u8>,
}

/// A real HTTP server on loopback that records every POST and answers 503 to the first one
/// (so one delivery has to be tried again), 200 to the rest.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let record = {
        let received = received.clone();
        move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let received = received.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                let mut all = received.lock().unwrap();
                all.push(Received {
                    path: uri.path().to_string(),
                    signature: header("x-trellis-signature"),
                    notification: header("x-trellis-notification"),
                    body: body.to_vec(),
                });
                if all.len() == 1 {
                    HttpStatus::SERVICE_UNAVAILABLE
                } else {
                    HttpStatus::OK
                }
            }
        }
    };
    let router = axum::Router::new().route("/{*path}", axum::routing::post(record));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (address, received)
}

/// Whether `signature` is `sha256=` and the HMAC-SHA256 of `body` under `secret`, checked as
/// a receiver would (in constant time).
fn verifies(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Waits up to 20 s for `check` to hold of what the receiver got.
async fn until(
    received: &Mutex<Vec<Received>>,
    what: &str,
    check: impl Fn(&[Received]) -> bool,
) -> Vec<Received> {
    for _ in 0..200 {
        let now = received.lock().unwrap().clone();
        if check(&now) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("waited 20 s for {what}; got {:?}", received.lock().unwrap());
}

fn json_of(request: &Received) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

async fn apps_notifications_reach_signed_webhooks_within_the_rate_limit(db: Db) {
    let Some(app) = TestApp::spawn_with(db, |settings| {
        settings.notify_limit = LIMIT;
        settings.notify_retry = Duration::from_millis(100);
        settings.heartbeat_interval = HEARTBEAT;
        // A second of silence: quick to notice, and not mistaken for a loaded machine.
        settings.missed_heartbeats = 10;
        settings.reconcile_interval = HEARTBEAT;
    })
    .await
    else {
        return;
    };
    let (receiver, received) = webhook_receiver().await;
    let configurer = classroom(&app).await;
    let developer = app.user("pat", "app-developer").await;
    app.upload(
        "/apps",
        &developer,
        app_parts("classroom-thermostat", guests::CLASSROOM_THERMOSTAT),
    )
    .await;
    let mut tokens = Vec::new();
    for name in ["vm-1", "vm-2"] {
        let (_, node) = app
            .post("/nodes", &configurer, json!({ "name": name }))
            .await;
        tokens.push(node["token"].as_str().unwrap().to_string());
    }
    let eve = app.user("eve", "end-user").await;
    let bindings = json!({
        "temperature": [id_of(&app, &eve, "sensors", "north-temperature").await],
        "fan": [id_of(&app, &eve, "controllers", "north-fan").await],
        "ac": [id_of(&app, &eve, "controllers", "north-air-conditioner").await],
    });
    let (_, deployment) = app
        .post(
            "/deployments",
            &eve,
            json!({ "app": "classroom-thermostat", "bindings": bindings }),
        )
        .await;
    let id = deployment["id"].as_str().unwrap().to_string();
    let recipients = format!("/deployments/{id}/recipients");

    // Recipients are checked, each error naming the entry.
    for (bad, named) in [
        (
            json!({ "emails": ["eve@school.example", "not-an-address"] }),
            "emails[1]",
        ),
        (
            json!({ "emails": ["eve@school.example", "EVE@school.example"] }),
            "emails[1]",
        ),
        (
            json!({ "webhooks": [{ "url": "ftp://x.example/hook", "secret": "s" }] }),
            "webhooks[0].url",
        ),
        (
            json!({ "webhooks": [{ "url": "not a url", "secret": "s" }] }),
            "webhooks[0].url",
        ),
        (
            json!({ "webhooks": [{ "url": "http://x.example/hook", "secret": "" }] }),
            "webhooks[0].secret",
        ),
    ] {
        let (status, refused) = put(&app, &recipients, &eve, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {refused}");
        assert!(message(&refused).starts_with(named), "{bad}: {refused}");
    }
    let hook = format!("{receiver}/eve");
    let eves = json!({ "webhooks": [{ "url": hook, "secret": SECRET }] });
    // The receiver is on this machine: not for an end user to name (the control plane would
    // POST where only it can reach), but an admin may.
    let (status, refused) = put(&app, &recipients, &eve, eves.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(message(&refused).contains("private network"), "{refused}");
    let (status, set) = put(&app, &recipients, &app.admin, eves).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set, json!({ "emails": [], "webhooks": [{ "url": hook }] }));
    let (_, shown) = app.get(&recipients, &eve).await;
    assert!(!shown.to_string().contains(SECRET), "{shown}");
    // Another end user sees neither the recipients nor the deliveries, and cannot set them.
    let mallory = app.user("mallory", "end-user").await;
    let (status, _) = app.get(&recipients, &mallory).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = put(&app, &recipients, &mallory, json!({ "emails": [] })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .get(&format!("/deployments/{id}/notifications"), &mallory)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let admin_hook = format!("{receiver}/admins");
    let (status, _) = put(
        &app,
        "/admin/recipients",
        &app.admin,
        json!({ "webhooks": [{ "url": admin_hook, "secret": ADMIN_SECRET }] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // vm-1 reports (vm-2 never does), so the deployment is placed there.
    let (one, two) = (&tokens[0], &tokens[1]);
    let heartbeats = app.keep_reporting(one, HEARTBEAT / 2).await;
    for _ in 0..100 {
        let (_, now) = app.get(&format!("/deployments/{id}"), &eve).await;
        if now["node"] == "vm-1" {
            break;
        }
        tokio::time::sleep(HEARTBEAT).await;
    }
    let path = format!("/node/deployments/{id}/notifications");
    let batch = |n: usize| {
        let notifications: Vec<Value> = (1..=n)
            .map(|i| json!({ "urgency": "high", "title": format!("alarm {i}"), "body": "CO2 is high" }))
            .collect();
        json!({ "notifications": notifications })
    };
    let (status, refused) = app.post(&path, two, batch(1)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, refused) = app.post(&path, one, json!({ "notes": [] })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");

    // A burst of ten: three go out, seven are held back and told in one summary.
    const BURST: usize = 10;
    let (status, answer) = app.post(&path, one, batch(BURST)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let accepted = answer["accepted"].as_u64().unwrap() as usize;
    let suppressed = answer["suppressed"].as_u64().unwrap() as usize;
    assert_eq!(
        (accepted, suppressed),
        (LIMIT.count as usize, BURST - LIMIT.count as usize)
    );

    let to_eve = |all: &[Received]| -> Vec<Value> {
        all.iter()
            .filter(|r| r.path == "/eve")
            .map(json_of)
            .collect()
    };
    let got = until(&received, "the notifications and their summary", |all| {
        let bodies = to_eve(all);
        bodies.iter().any(|b| b["source"] == "summary")
            && bodies.iter().filter(|b| b["source"] == "app").count() > accepted
    })
    .await;
    for request in got.iter().filter(|r| r.path == "/eve") {
        assert!(
            verifies(SECRET, &request.body, &request.signature),
            "the signature of {request:?} does not verify"
        );
        assert!(!verifies(
            "another-secret",
            &request.body,
            &request.signature
        ));
        assert_eq!(json_of(request)["id"], request.notification.as_str());
        assert_eq!(json_of(request)["deployment"], id.as_str());
    }
    let bodies = to_eve(&got);
    // The first request was answered 503 and tried again: one notification arrived twice.
    let mut titles: Vec<String> = bodies
        .iter()
        .filter(|b| b["source"] == "app")
        .map(|b| b["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), accepted, "{bodies:?}");
    let summary = bodies.iter().find(|b| b["source"] == "summary").unwrap();
    assert_eq!(
        summary["title"],
        format!("{suppressed} notifications suppressed"),
        "{summary}"
    );

    // Every delivery is recorded (once it ended): channel, target, status, attempts.
    let deliveries = format!("/deployments/{id}/notifications");
    let recorded = listed_once(&app, &deliveries, &eve, accepted + 1).await;
    for delivery in &recorded {
        assert_eq!(delivery["channel"], "webhook");
        assert_eq!(delivery["target"], hook.as_str());
        assert_eq!(delivery["status"], "delivered", "{delivery}");
        assert_eq!(delivery["deployment"], id.as_str());
    }
    let attempts: Vec<u64> = recorded
        .iter()
        .map(|d| d["attempts"].as_u64().unwrap())
        .collect();
    assert_eq!(
        attempts.iter().filter(|a| **a == 2).count(),
        1,
        "{attempts:?}"
    );
    assert_eq!(
        attempts.iter().filter(|a| **a == 1).count(),
        accepted,
        "{attempts:?}"
    );
    let (status, bad) = app.get(&format!("{deliveries}?limit=0"), &eve).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(message(&bad).contains("limit"), "{bad}");

    // vm-1 goes silent: the admins' webhook hears that it is down.
    drop(heartbeats);
    let got = until(&received, "the admins told vm-1 is down", |all| {
        all.iter()
            .any(|r| r.path == "/admins" && json_of(r)["title"] == "node vm-1 is down")
    })
    .await;
    let down = got.iter().find(|r| r.path == "/admins").unwrap();
    assert!(verifies(ADMIN_SECRET, &down.body, &down.signature));
    assert_eq!(json_of(down)["deployment"], Value::Null);
    let told = listed_once(&app, "/admin/notifications", &app.admin, 1).await;
    assert_eq!(told[0]["title"], "node vm-1 is down", "{told:?}");
    assert_eq!(told[0]["status"], "delivered", "{told:?}");
}

/// The deliveries `path` lists once there are `count` of them (each is recorded when it ends,
/// just after its receiver answered).
async fn listed_once(app: &TestApp, path: &str, token: &str, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let (status, listed) = app.get(path, token).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let listed = listed.as_array().unwrap().clone();
        assert!(
            listed.len() <= count,
            "more deliveries than sent: {listed:?}"
        );
        if listed.len() == count {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never listed {count} deliveries");
}
