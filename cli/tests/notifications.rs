//! Notifications from the CLI: an admin sets the SMTP server, an end user sets who gets their
//! deployment's notifications, and both follow the deliveries. The SMTP server and the webhook
//! named here do not listen, so each delivery of the deployment's start fails after its tries
//! and the log says why (the deliveries that arrive are tested against real servers in
//! `control-plane/tests/api/notifications.rs` and `node-daemon/tests/notifications.rs`).

mod common;

use std::time::Duration;

use serde_json::{Value, json};

use common::{ADMIN_PASSWORD, PASSWORD, Person, deploy_thermostat, free_port, platform};

/// One person's terminal, with their own saved login.
#[test]
fn notifications_are_set_up_and_followed_from_the_cli() {
    let _serial = common::one_at_a_time();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // The webhook below is on this machine, which only admins may name unless allowed.
    let (_plane, url) = common::up(
        &[
            "--listen",
            &listen,
            "--allow-private-webhooks",
            "--heartbeat-ms",
            "250",
        ],
        data.path(),
    );
    let (_, _, eve_api) = platform(&url);
    let homes = tempfile::tempdir().unwrap();
    let admin = Person::logged_in(homes.path(), &url, "admin", ADMIN_PASSWORD);
    let eve = Person::logged_in(homes.path(), &url, "eve", PASSWORD);

    let silent = free_port().to_string();
    let set = admin.ok(&[
        "notify",
        "smtp",
        "set",
        "--host",
        "127.0.0.1",
        "--port",
        &silent,
        "--security",
        "none",
        "--from",
        "Trellis <trellis@school.example>",
    ]);
    assert!(set.contains(&format!("127.0.0.1:{silent}")), "{set}");
    let refused = admin.refused(&[
        "notify",
        "smtp",
        "set",
        "--host",
        "smtp.school.example",
        "--security",
        "none",
        "--from",
        "trellis@school.example",
    ]);
    assert!(refused.contains("security"), "{refused}");
    let shown = admin.ok(&["notify", "smtp", "show"]);
    assert!(
        shown.contains("none") && shown.contains("trellis@school.example"),
        "{shown}"
    );
    assert!(
        eve.refused(&["notify", "smtp", "show"])
            .contains("end-user")
    );

    let id = deploy_thermostat(&eve_api, json!({ "kind": "now" }));
    // Stopped while its recipients are set, so its start is told to them.
    eve.ok(&["deployment", "stop", &id]);
    let hook = format!("http://127.0.0.1:{silent}/hook");
    let set = eve.ok(&[
        "notify",
        "set",
        &id,
        "--email",
        "eve@school.example",
        "--webhook",
        &hook,
        "a-secret",
    ]);
    assert!(
        set.contains("eve@school.example") && set.contains(&hook),
        "{set}"
    );
    let shown: Value = serde_json::from_str(&eve.ok(&["notify", "show", &id, "--json"])).unwrap();
    assert_eq!(
        shown,
        json!({ "emails": ["eve@school.example"], "webhooks": [{ "url": hook }] })
    );
    let refused = eve.refused(&["notify", "set", &id, "--email", "not an address"]);
    assert!(refused.contains("emails[0]"), "{refused}");
    eve.ok(&["deployment", "start", &id]);

    // Nobody listens: after its tries, each delivery is recorded as failed, saying why.
    let failed = common::wait_for(
        Duration::from_secs(90),
        "the start's deliveries to fail",
        || {
            let log: Value =
                serde_json::from_str(&eve.ok(&["notify", "log", &id, "--json"])).ok()?;
            let started: Vec<Value> = log
                .as_array()?
                .iter()
                .filter(|d| {
                    d["title"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("started on node")
                })
                .cloned()
                .collect();
            (started.len() == 2).then_some(started)
        },
    );
    for delivery in &failed {
        assert_eq!(delivery["status"], "failed", "{delivery}");
        assert_eq!(delivery["attempts"], 4, "{delivery}");
        assert!(
            delivery["error"]
                .as_str()
                .unwrap()
                .contains(&format!("127.0.0.1:{silent}")),
            "{delivery}"
        );
    }
    let channels: Vec<&str> = failed
        .iter()
        .map(|d| d["channel"].as_str().unwrap())
        .collect();
    assert!(
        channels.contains(&"email") && channels.contains(&"webhook"),
        "{channels:?}"
    );
    let table = eve.ok(&["notify", "log", &id]);
    assert!(
        table.contains("failed") && table.contains("started on node"),
        "{table}"
    );
    // The admins have set nobody yet.
    assert_eq!(admin.ok(&["notify", "show", "--admins"]).trim(), "(none)");
}
