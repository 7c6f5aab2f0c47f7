//! The platform configurer's pages (device types, instances, nodes) and the admin's users page,
//! as a signed-in browser asks for them: they show what the API holds, escaped; the device and
//! node tokens appear once; and a role the API refuses is refused by the page too.

use reqwest::header::COOKIE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use trellis_web::session::{CSRF_HEADER, SESSION_COOKIE, csrf_token};

use crate::helpers::{Db, TestApp, on_both_databases};

on_both_databases!(
    device_types_and_instances_show_what_is_registered_escaped_and_paged,
    a_node_joins_from_the_page_with_its_token_shown_once,
    behind_a_private_ca_the_join_page_has_the_node_save_and_trust_it,
    only_admins_reach_the_users_page
);

const XSS: &str = "<img src=x onerror=alert(1)>";

fn cookie(token: &str) -> String {
    format!("{SESSION_COOKIE}={token}")
}

/// A change as the portal's script sends it: the session cookie and the page's token.
async fn send_as_page(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let answer = app
        .client
        .request(method, app.url(path))
        .header(COOKIE, cookie(token))
        .header(CSRF_HEADER, csrf_token(token))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// Registers a sensor (or controller) at north › main › `room` as the page's form does.
async fn register(app: &TestApp, token: &str, kind: &str, name: &str, room: &str) -> Value {
    let (status, device) = send_as_page(
        app,
        Method::POST,
        &format!("/{kind}s"),
        token,
        json!({
            "name": name,
            "type": if kind == "sensor" { "thermometer" } else { "lamp" },
            "location": { "site": "north", "building": "main", "room": room },
            "labels": { "floor": "2" },
            "users": [],
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "registering {name}: {device}");
    device
}

/// The text of the element holding attribute `marker` in the row of `id`.
fn cell<'a>(html: &'a str, id: &str, marker: &str) -> &'a str {
    let row = &html[html
        .find(&format!("=\"{id}\""))
        .unwrap_or_else(|| panic!("no row for {id}"))..];
    let row = &row[..row.find("</tr>").unwrap_or(row.len())];
    let at = row
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {row}"));
    let text = &row[at..];
    &text[text.find('>').unwrap() + 1..text.find("</td>").unwrap()]
}

async fn device_types_and_instances_show_what_is_registered_escaped_and_paged(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let carol = app.user("carol", "platform-configurer").await;
    let erin = app.user("erin", "end-user").await;

    // Types registered as the device types page's forms send them.
    let (status, body) = send_as_page(
        &app,
        Method::POST,
        "/sensor-types",
        &carol,
        json!({ "name": "thermometer", "unit": "°C", "value": "number", "description": XSS }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let lamp = json!({ "name": "lamp", "description": "", "commands": [
        { "name": "set-level", "params": [{ "name": "level", "value": "number", "required": true }] },
        { "name": "off" }
    ]});
    let (status, body) = send_as_page(&app, Method::POST, "/controller-types", &carol, lamp).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, page) = app.page("/device-types", &carol).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for shown in [
        "thermometer",
        "°C",
        "lamp",
        "set-level",
        "level: number",
        "off",
    ] {
        assert!(page.contains(shown), "{shown} missing: {page}");
    }
    assert!(page.contains(r#"data-api="POST /api/v1/sensor-types""#));
    assert!(page.contains(r#"data-api="POST /api/v1/controller-types""#));
    assert!(!page.contains(XSS), "a description is escaped");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));

    // An end user reads the types, gets no forms, and the API refuses what a form would send.
    let (status, page) = app.page("/device-types", &erin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("thermometer") && !page.contains("data-api="),
        "{page}"
    );
    let (status, _) = send_as_page(
        &app,
        Method::POST,
        "/sensor-types",
        &erin,
        json!({ "name": "hygrometer", "value": "number" }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A room's sensors and a controller, the room named to break out of the page.
    let first = register(&app, &carol, "sensor", "t-first", XSS).await;
    let token = first["token"].as_str().expect("the token, at registration");
    let lamp = register(&app, &carol, "controller", "lamp-1", XSS).await;
    let lamp_token = lamp["token"].as_str().unwrap();
    let (id, lamp_id) = (first["id"].as_str().unwrap(), lamp["id"].as_str().unwrap());

    // The device sends a reading and the controller reports its state, through the gateway.
    let (status, body) = app
        .post(
            "/device/readings",
            token,
            json!({ "value": { "kind": "number", "value": 21.5 } }),
        )
        .await;
    assert!(status.is_success(), "{status}: {body}");
    let (status, body) = app
        .post("/device/state", lamp_token, json!({ "level": 40 }))
        .await;
    assert!(status.is_success(), "{status}: {body}");

    let (status, page) = app.page("/instances", &carol).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(!page.contains(XSS), "the room is escaped: {page}");
    assert!(page.contains("north › main › &lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains(&format!(r#"data-live-sensor="{id}""#)));
    assert!(page.contains(&format!(r#"data-live-controller="{lamp_id}""#)));
    assert!(page.contains(&format!(r#"href="/instances/sensor/{id}""#)));
    assert_eq!(cell(&page, id, "data-reading-count").trim(), "1");
    assert!(
        cell(&page, lamp_id, "data-reported-state")
            .contains(r#"{"level":40}"#.replace('"', "&quot;").as_str()),
        "{page}"
    );
    assert!(
        !page.contains(token),
        "the token is shown once, at registration"
    );

    // The instance's page: its place, labels, a chart's place, and no token.
    let (status, page) = app.page(&format!("/instances/sensor/{id}"), &carol).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("floor=2") && page.contains(&format!(r#"data-sensor="{id}""#)));
    assert!(!page.contains(XSS) && !page.contains(token));
    assert!(page.contains(&format!(r#"data-api="POST /api/v1/sensors/{id}/token""#)));
    let (status, page) = app.page("/instances/sensor/no-such-sensor", &carol).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");

    // The registration page has the once-only token box and says so.
    let (status, page) = app.page("/instances/new", &carol).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-token-box") && page.contains("will not be shown again"));

    // Paged by 50, the filter kept in the links to the next page.
    for n in 0..55 {
        register(&app, &carol, "sensor", &format!("t-{n:02}"), "r2").await;
    }
    let (_, page) = app.page("/instances?site=north", &carol).await;
    assert!(page.contains("1–50 of 56"), "{page}");
    assert!(
        page.contains("/instances?site=north&amp;sensors_from=50"),
        "{page}"
    );
    assert_eq!(page.matches("data-live-sensor=").count(), 50);
    let (_, page) = app
        .page("/instances?site=north&sensors_from=50", &carol)
        .await;
    assert!(page.contains("51–56 of 56"), "{page}");
    assert_eq!(page.matches("data-live-sensor=").count(), 6);
    let (_, page) = app.page("/instances?q=t-0&type=thermometer", &carol).await;
    assert!(page.contains("1–10 of 10"), "{page}");
    assert!(
        !page.contains("data-live-controller="),
        "a sensor type lists sensors only"
    );
}

async fn a_node_joins_from_the_page_with_its_token_shown_once(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let carol = app.user("carol", "platform-configurer").await;
    let erin = app.user("erin", "end-user").await;
    let join = |token: &str, form: Vec<(&str, String)>| {
        app.client
            .post(format!("{}/nodes/join", app.address))
            .header(COOKIE, cookie(token))
            .form(&form)
            .send()
    };

    // Without the page's token, and for a role the API refuses, nothing is registered.
    let answer = join(
        &carol,
        vec![("csrf", "forged".into()), ("name", "vm-1".into())],
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let answer = join(
        &erin,
        vec![("csrf", csrf_token(&erin)), ("name", "vm-1".into())],
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let (status, _) = app.page("/nodes", &erin).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A label without a value is said beside the form, and nothing is registered.
    let answer = join(
        &carol,
        vec![
            ("csrf", csrf_token(&carol)),
            ("name", "vm-1".into()),
            ("labels", "site=north, gpu".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("`gpu` should look like key=value")
    );
    let (_, nodes) = app.get("/nodes", &carol).await;
    assert_eq!(nodes.as_array().map(Vec::len), Some(0), "{nodes}");

    // Joined: the command and the unit, with a token the control plane takes.
    let answer = join(
        &carol,
        vec![
            ("csrf", csrf_token(&carol)),
            ("name", "vm-1".into()),
            ("labels", "site=north".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let page = answer.text().await.unwrap();
    assert!(
        page.contains(&format!("TRELLIS_CONTROL_PLANE={}\n", app.address)),
        "{page}"
    );
    let line = "TRELLIS_NODE_TOKEN=";
    let at = page.find(line).unwrap_or_else(|| panic!("{page}"));
    let node_token: String = page[at + line.len()..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    assert!(page.contains("EnvironmentFile=/etc/trellis/node.env"));
    // The system's roots suffice here: no CA certificate to save.
    assert!(
        !page.contains("TRELLIS_CA_CERT") && !page.contains("join-ca"),
        "{page}"
    );
    assert!(page.contains("/etc/systemd/system/trellis-node.service"));
    assert!(page.contains("will not be shown again"));
    let report = json!({
        "metrics": { "cpu_percent": 12.5, "memory_used_mb": 512.0, "memory_total_mb": 2048.0,
            "load_1m": 0.2, "temperature_c": 41.5, "performance": 1.0 },
        "instances": [],
    });
    let (status, body) = app.post("/node/heartbeat", &node_token, report).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the shown token is the node's: {body}"
    );

    // Registering the same name again is refused beside the form.
    let answer = join(
        &carol,
        vec![("csrf", csrf_token(&carol)), ("name", "vm-1".into())],
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::CONFLICT);
    assert!(answer.text().await.unwrap().contains("already exists"));

    // The list: its last report, a live row, drain, and never the token.
    let (_, nodes) = app.get("/nodes", &carol).await;
    let id = nodes[0]["id"].as_str().unwrap().to_string();
    let (status, page) = app.page("/nodes", &carol).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!(r#"data-live-node="{id}""#)),
        "{page}"
    );
    assert_eq!(cell(&page, &id, "data-cpu"), "12.5\u{a0}%");
    assert_eq!(
        cell(&page, &id, "data-memory").trim(),
        "512 of 2048\u{a0}MB"
    );
    assert_eq!(cell(&page, &id, "data-temperature"), "41.5\u{a0}°C");
    assert_eq!(cell(&page, &id, "data-instances"), "0");
    assert!(page.contains(&format!(r#"data-api="POST /api/v1/nodes/{id}/drain""#)));
    assert!(page.contains("site=north") && !page.contains(&node_token));
    let (status, body) = send_as_page(
        &app,
        Method::POST,
        &format!("/nodes/{id}/drain"),
        &carol,
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, page) = app.page("/nodes", &carol).await;
    assert!(
        page.contains(&format!(r#"data-api="POST /api/v1/nodes/{id}/undrain""#)),
        "{page}"
    );
}

async fn only_admins_reach_the_users_page(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let carol = app.user("carol", "platform-configurer").await;
    let erin = app.user("erin", "end-user").await;
    for token in [&carol, &erin] {
        let (status, page) = app.page("/users", token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
        assert!(
            !page.contains("<table") && !page.contains("data-api="),
            "{page}"
        );
    }

    let (status, page) = app.page("/users", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"data-api="POST /api/v1/users""#));
    assert!(page.contains(r#"data-api="PATCH /api/v1/users/carol""#));
    assert!(page.contains("erin") && page.contains("end-user"));

    // The role form's change, as the page sends it, shows on the next view.
    let (status, body) = send_as_page(
        &app,
        Method::PATCH,
        "/users/erin",
        &app.admin,
        json!({ "role": "data-scientist" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, page) = app.page("/users", &app.admin).await;
    let row = &page[page.find(">erin<").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains(r#"<option value="data-scientist" selected>"#),
        "{row}"
    );
}

/// A control plane whose certificate a private CA signed: the join page has the node save that
/// CA's certificate and trust the control plane by it, as `trellis node join` does.
async fn behind_a_private_ca_the_join_page_has_the_node_save_and_trust_it(db: Db) {
    let tls = tempfile::tempdir().unwrap();
    let made =
        trellis_control::tls::self_signed::ensure(tls.path(), &["localhost".into()]).unwrap();
    let ca = made.ca_cert.clone();
    let Some(app) = TestApp::spawn_with(db, |s| s.node_ca_cert = Some(ca)).await else {
        return;
    };
    let carol = app.user("carol", "platform-configurer").await;
    let answer = app
        .client
        .post(format!("{}/nodes/join", app.address))
        .header(COOKIE, cookie(&carol))
        .form(&[("csrf", csrf_token(&carol)), ("name", "vm-1".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let page = answer.text().await.unwrap();
    let pem = std::fs::read_to_string(&made.ca_cert).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    assert!(
        page.contains(pem.trim_end()),
        "the CA certificate is not on the page: {page}"
    );
    assert!(
        page.contains("TRELLIS_CA_CERT=/etc/trellis-ca.pem\n"),
        "the node's settings do not point at it: {page}"
    );
    assert!(page.contains("id=\"join-ca\""), "{page}");
}
