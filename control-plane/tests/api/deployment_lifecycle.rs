//! A deployment's life after it is made: stopped, started, changed, upgraded, rolled back (by its
//! owner, and by the control plane when a new version fails) and deleted, each step checked as
//! at creation, kept in its history, and seen by its node in its assignments. A node here is
//! played by the test through the node API, so what it is told is what the test reads.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use trellis_guest_artifacts as guests;

use crate::fixtures::{classroom, id_of};
use crate::helpers::{Db, TestApp, message, on_both_databases, workspace_file};

on_both_databases!(
    a_deployment_is_stopped_started_changed_and_deleted,
    bad_changes_are_refused_naming_the_field_and_change_nothing,
    another_end_user_cannot_touch_a_deployment,
    upgrades_and_rollbacks_follow_the_history,
    a_new_version_that_fails_is_rolled_back_by_itself,
);

/// The thermostat's manifest as version `version`, with `extra` appended (roles, parameters).
fn thermostat(version: &str, extra: &str) -> Vec<(&'static str, Vec<u8>)> {
    let manifest = String::from_utf8(workspace_file(
        "examples/apps/classroom-thermostat/trellis.toml",
    ))
    .unwrap();
    // `version` goes before the first table, with the other top-level keys.
    let (top, tables) = manifest.split_once("\n[").unwrap();
    let manifest = format!("{top}\nversion = \"{version}\"\n\n[{tables}\n{extra}");
    vec![
        ("trellis.toml", manifest.into_bytes()),
        ("app.wasm", guests::read(guests::CLASSROOM_THERMOSTAT)),
    ]
}

/// What every test starts from: the classroom registry, the thermostat at `versions`, a node
/// labelled `site=north` that has reported once, and eve's deployment of the first version at
/// the north site.
struct World {
    app: TestApp,
    eve: String,
    node: String,
    deployment: String,
    north_temperature: String,
    south_temperature: String,
}

const NODE_REPORT: &str = r#"{ "metrics": { "cpu_percent": 5.0, "memory_used_mb": 100.0,
    "memory_total_mb": 4000.0, "load_1m": 0.1, "performance": 10.0 }, "instances": [] }"#;

async fn world(db: Db, versions: &[(&str, &str)]) -> Option<World> {
    let app = TestApp::spawn_with(db, |settings| {
        settings.reconcile_interval = Duration::from_millis(100);
        settings.heartbeat_interval = Duration::from_secs(60);
    })
    .await?;
    let configurer = classroom(&app).await;
    let developer = app.user("pat", "app-developer").await;
    for (version, extra) in versions {
        let (status, answer) = app
            .upload("/apps", &developer, thermostat(version, extra))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let eve = app.user("eve", "end-user").await;
    let (_, node) = app
        .post(
            "/nodes",
            &configurer,
            json!({ "name": "north-vm", "labels": { "site": "north" } }),
        )
        .await;
    let node = node["token"].as_str().unwrap().to_string();
    let report: Value = serde_json::from_str(NODE_REPORT).unwrap();
    let (status, _) = app.post("/node/heartbeat", &node, report).await;
    assert_eq!(status, StatusCode::OK);
    let north_temperature = id_of(&app, &eve, "sensors", "north-temperature").await;
    let south_temperature = id_of(&app, &eve, "sensors", "south-temperature").await;
    let body = json!({
        "app": "classroom-thermostat",
        "version": versions[0].0,
        "bindings": {
            "temperature": [north_temperature],
            "fan": [id_of(&app, &eve, "controllers", "north-fan").await],
            "ac": [id_of(&app, &eve, "controllers", "north-air-conditioner").await],
        },
        "config": { "fan-above": "25" },
        "node_labels": { "site": "north" },
    });
    let (status, deployment) = app.post("/deployments", &eve, body).await;
    assert_eq!(status, StatusCode::CREATED, "{deployment}");
    let deployment = deployment["id"].as_str().unwrap().to_string();
    Some(World {
        app,
        eve,
        node,
        deployment,
        north_temperature,
        south_temperature,
    })
}

impl World {
    fn path(&self, tail: &str) -> String {
        format!("/deployments/{}{tail}", self.deployment)
    }

    async fn show(&self) -> Value {
        let (status, body) = self.app.get(&self.path(""), &self.eve).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn history(&self) -> Vec<Value> {
        let (status, body) = self.app.get(&self.path("/history"), &self.eve).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    /// `method` on the deployment's `tail` as `token`, expecting `expected`.
    async fn act(
        &self,
        method: Method,
        tail: &str,
        token: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) -> Value {
        let (status, answer) = self
            .app
            .call(method.clone(), &self.path(tail), Some(token), body)
            .await;
        assert_eq!(status, expected, "{method} {tail}: {answer}");
        answer
    }

    /// What the node is assigned now.
    async fn assigned(&self) -> Vec<Value> {
        let (_, answer) = self.app.get("/node/assignments", &self.node).await;
        answer["instances"].as_array().unwrap().clone()
    }

    /// Waits until the node is assigned the deployment (`true`) or not (`false`).
    async fn wait_assigned(&self, wanted: bool) -> Vec<Value> {
        for _ in 0..100 {
            let assigned = self.assigned().await;
            let has = assigned
                .iter()
                .any(|a| a["deployment"] == self.deployment.as_str());
            if has == wanted {
                return assigned;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the node's assignments never came to {wanted}");
    }

    /// The node reports the deployment's instance as running `version` in `state`.
    async fn report(&self, version: &str, state: &str, restarts: u32, detail: &str) {
        let mut report: Value = serde_json::from_str(NODE_REPORT).unwrap();
        report["instances"] = json!([{ "deployment": self.deployment, "state": state,
            "restarts": restarts, "detail": detail }]);
        report["versions"] = json!({ self.deployment.clone(): version });
        let (status, answer) = self.app.post("/node/heartbeat", &self.node, report).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
}

async fn a_deployment_is_stopped_started_changed_and_deleted(db: Db) {
    let Some(w) = world(db, &[("1.0.0", "")]).await else {
        return;
    };
    let eve = w.eve.clone();
    w.wait_assigned(true).await;
    assert_eq!(w.show().await["run_state"], "running");

    // Stopped: shown at once, and its node is no longer assigned it.
    let stopped = w
        .act(Method::POST, "/stop", &eve, None, StatusCode::OK)
        .await;
    assert_eq!(
        (stopped["run_state"].as_str(), stopped["state"].as_str()),
        (Some("stopped"), Some("stopped")),
        "{stopped}"
    );
    w.wait_assigned(false).await;
    // The reconciler leaves it stopped.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(w.assigned().await.is_empty());
    assert_eq!(w.show().await["state"], "stopped");

    // Started: placed on the node again.
    let started = w
        .act(Method::POST, "/start", &eve, None, StatusCode::OK)
        .await;
    assert_eq!(started["run_state"], "running", "{started}");
    w.wait_assigned(true).await;

    // Changed: the node's assignment carries the new parameter and the new sensors.
    let changes = json!({
        "config": { "hysteresis": "1.5" },
        "bindings": { "temperature": [w.north_temperature, w.south_temperature] },
        "schedule": { "kind": "window", "start": "2026-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z" },
    });
    let changed = w
        .act(Method::PATCH, "", &eve, Some(changes), StatusCode::OK)
        .await;
    assert_eq!(changed["config"]["hysteresis"], 1.5, "{changed}");
    assert_eq!(
        changed["config"]["fan-above"], 25.0,
        "an earlier choice stays"
    );
    assert_eq!(
        changed["bindings"]["temperature"].as_array().unwrap().len(),
        2
    );
    assert_eq!(changed["schedule"]["kind"], "window");
    let assigned = w.wait_assigned(true).await;
    assert_eq!(assigned[0]["config"]["hysteresis"], 1.5, "{assigned:?}");
    let sensors: Vec<&str> = assigned[0]["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        sensors.contains(&w.south_temperature.as_str()),
        "{sensors:?}"
    );

    // Deleted: gone from the API and from the node, its history kept.
    let (status, _) = w
        .app
        .call(Method::DELETE, &w.path(""), Some(&eve), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    w.act(Method::GET, "", &eve, None, StatusCode::NOT_FOUND)
        .await;
    w.act(Method::DELETE, "", &eve, None, StatusCode::NOT_FOUND)
        .await;
    w.act(Method::POST, "/start", &eve, None, StatusCode::NOT_FOUND)
        .await;
    let (_, listed) = w.app.get("/deployments", &eve).await;
    assert_eq!(listed, json!([]));
    w.wait_assigned(false).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        w.assigned().await.is_empty(),
        "the reconciler brought it back"
    );

    let history = w.history().await;
    let kinds: Vec<&str> = history
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["created", "stopped", "started", "changed", "deleted"]
    );
    assert!(history.iter().all(|e| e["actor"] == "eve"), "{history:?}");
    let fields: Vec<(&str, &Value, &Value)> = history[3]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["field"].as_str().unwrap(), &c["from"], &c["to"]))
        .collect();
    assert!(
        fields.contains(&("config.hysteresis", &json!(0.5), &json!(1.5))),
        "{fields:?}"
    );
    assert!(
        fields
            .iter()
            .any(|(f, from, to)| *f == "bindings.temperature"
                && from.as_array().unwrap().len() == 1
                && to.as_array().unwrap().len() == 2),
        "{fields:?}"
    );
    assert!(
        fields
            .iter()
            .any(|(f, from, _)| *f == "schedule" && from["kind"] == "now"),
        "{fields:?}"
    );
    assert_eq!(fields.len(), 3, "only what changed: {fields:?}");
}

async fn bad_changes_are_refused_naming_the_field_and_change_nothing(db: Db) {
    let Some(w) = world(db, &[("1.0.0", "")]).await else {
        return;
    };
    let eve = w.eve.clone();
    let humidity = id_of(&w.app, &eve, "sensors", "north-humidity").await;
    w.wait_assigned(true).await;
    let before = (w.show().await, w.history().await, w.app.snapshot().await);
    let cases = [
        (
            json!({ "config": { "fan-above": "warm" } }),
            StatusCode::BAD_REQUEST,
            "config: `fan-above`",
        ),
        (
            json!({ "config": { "colour": "red" } }),
            StatusCode::BAD_REQUEST,
            "`colour` is not a parameter",
        ),
        (
            json!({ "bindings": { "temperature": [humidity] } }),
            StatusCode::BAD_REQUEST,
            "role `temperature` needs a `temperature` sensor",
        ),
        (
            json!({ "bindings": { "temperature": [] } }),
            StatusCode::BAD_REQUEST,
            "role `temperature` takes 1 to 8",
        ),
        (
            json!({ "bindings": { "lamp": [humidity] } }),
            StatusCode::BAD_REQUEST,
            "`lamp` is not a role",
        ),
        // A good parameter beside a bad schedule: neither is written.
        (
            json!({ "config": { "fan-above": "30" },
                "schedule": { "kind": "cron", "expression": "often", "duration-minutes": 5 } }),
            StatusCode::BAD_REQUEST,
            "schedule: `often` is not a cron expression",
        ),
        (
            json!({ "colour": "red" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour",
        ),
    ];
    for (body, status, expected) in cases {
        let answer = w
            .act(Method::PATCH, "", &eve, Some(body.clone()), status)
            .await;
        assert!(
            message(&answer).contains(expected),
            "{body}: wanted `{expected}`: {answer}"
        );
    }
    // Changing nothing is no change either.
    w.act(Method::PATCH, "", &eve, Some(json!({})), StatusCode::OK)
        .await;
    w.act(
        Method::PATCH,
        "",
        &eve,
        Some(json!({ "config": { "fan-above": "25" } })),
        StatusCode::OK,
    )
    .await;
    let after = (w.show().await, w.history().await, w.app.snapshot().await);
    assert_eq!(after, before, "a refused change was written");
}

async fn another_end_user_cannot_touch_a_deployment(db: Db) {
    let Some(w) = world(db, &[("1.0.0", ""), ("2.0.0", "")]).await else {
        return;
    };
    let frank = w.app.user("frank", "end-user").await;
    w.wait_assigned(true).await;
    let before = (w.show().await, w.history().await);
    for (method, tail, body) in [
        (Method::GET, "", None),
        (Method::GET, "/history", None),
        (Method::POST, "/stop", None),
        (Method::POST, "/start", None),
        (
            Method::PATCH,
            "",
            Some(json!({ "config": { "fan-above": "20" } })),
        ),
        (
            Method::POST,
            "/upgrade",
            Some(json!({ "version": "2.0.0" })),
        ),
        (Method::POST, "/rollback", Some(json!({}))),
        (Method::DELETE, "", None),
    ] {
        let answer = w
            .act(method, tail, &frank, body, StatusCode::NOT_FOUND)
            .await;
        assert!(
            message(&answer).contains("no deployment"),
            "{tail}: {answer}"
        );
    }
    assert_eq!((w.show().await, w.history().await), before);

    // An admin may act on anyone's deployment, and the history says who did.
    let admin = w.app.admin.clone();
    w.act(Method::POST, "/stop", &admin, None, StatusCode::OK)
        .await;
    let history = w.history().await;
    let last = history.last().unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["actor"].as_str()),
        (Some("stopped"), Some("admin"))
    );
}

async fn upgrades_and_rollbacks_follow_the_history(db: Db) {
    // 2.0.0 has a new default; 3.0.0 needs a humidity sensor the deployment does not bind.
    let new_default = "[config.dwell]\ntype = \"number\"\ndefault = 3.0\n";
    let humidity_role = "[sensors.humidity]\ntype = \"humidity\"\n";
    let Some(w) = world(
        db,
        &[
            ("1.0.0", ""),
            ("2.0.0", new_default),
            ("3.0.0", humidity_role),
        ],
    )
    .await
    else {
        return;
    };
    let eve = w.eve.clone();
    w.wait_assigned(true).await;

    let answer = w
        .act(
            Method::POST,
            "/rollback",
            &eve,
            Some(json!({})),
            StatusCode::CONFLICT,
        )
        .await;
    assert!(message(&answer).contains("no earlier version"), "{answer}");
    let before = (w.show().await, w.history().await, w.app.snapshot().await);
    for (version, status, expected) in [
        ("9.9.9", StatusCode::BAD_REQUEST, "has no version 9.9.9"),
        ("1.0.0", StatusCode::CONFLICT, "already runs version 1.0.0"),
        ("3.0.0", StatusCode::BAD_REQUEST, "role `humidity` takes 1"),
    ] {
        let answer = w
            .act(
                Method::POST,
                "/upgrade",
                &eve,
                Some(json!({ "version": version })),
                status,
            )
            .await;
        assert!(message(&answer).contains(expected), "{version}: {answer}");
    }
    assert_eq!(
        (w.show().await, w.history().await, w.app.snapshot().await),
        before,
        "a refused upgrade was written"
    );

    // Upgraded: the owner's parameter stays, the new version's default comes in, and the node is
    // assigned the new version.
    let upgraded = w
        .act(
            Method::POST,
            "/upgrade",
            &eve,
            Some(json!({ "version": "2.0.0" })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(upgraded["version"], "2.0.0", "{upgraded}");
    assert_eq!(upgraded["config"]["fan-above"], 25.0);
    assert_eq!(upgraded["config"]["dwell"], 3.0);
    assert_eq!(w.assigned().await[0]["version"], "2.0.0");

    let rolled = w
        .act(
            Method::POST,
            "/rollback",
            &eve,
            Some(json!({ "reason": "the fan flaps" })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(rolled["version"], "1.0.0", "{rolled}");
    assert!(rolled["config"].get("dwell").is_none(), "{rolled}");
    assert_eq!(rolled["config"]["fan-above"], 25.0);
    assert_eq!(w.assigned().await[0]["version"], "1.0.0");
    w.act(
        Method::POST,
        "/rollback",
        &eve,
        Some(json!({})),
        StatusCode::CONFLICT,
    )
    .await;

    let history = w.history().await;
    let steps: Vec<(&str, Option<&str>, &str, &str)> = history
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["from_version"].as_str(),
                e["version"].as_str().unwrap(),
                e["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("created", None, "1.0.0", ""),
            ("upgraded", Some("1.0.0"), "2.0.0", ""),
            ("rolled-back", Some("2.0.0"), "1.0.0", "the fan flaps"),
        ]
    );
}

async fn a_new_version_that_fails_is_rolled_back_by_itself(db: Db) {
    let Some(w) = world(db, &[("1.0.0", ""), ("2.0.0", "")]).await else {
        return;
    };
    let eve = w.eve.clone();
    w.wait_assigned(true).await;
    // The old version had restarted often before; what it says after the upgrade is not the
    // new version's failure.
    w.report("1.0.0", "running", 7, "").await;
    w.act(
        Method::POST,
        "/upgrade",
        &eve,
        Some(json!({ "version": "2.0.0" })),
        StatusCode::OK,
    )
    .await;
    w.report("1.0.0", "failed", 9, "the old one's trouble")
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let shown = w.show().await;
    assert_eq!(
        (shown["version"].as_str(), shown["state"].as_str()),
        (Some("2.0.0"), Some("placed")),
        "{shown}"
    );

    // The new version fails: the control plane rolls it back and says why.
    let trap = "init failed: cannot open the valve";
    w.report("2.0.0", "failed", 3, trap).await;
    let mut shown = Value::Null;
    for _ in 0..100 {
        shown = w.show().await;
        if shown["version"] == "1.0.0" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(shown["version"], "1.0.0", "not rolled back: {shown}");
    let detail = shown["detail"].as_str().unwrap();
    assert!(
        detail.contains("rolled back automatically") && detail.contains(trap),
        "{shown}"
    );
    let history = w.history().await;
    let last = history.last().unwrap();
    assert_eq!(last["kind"], "rolled-back");
    assert_eq!(last["actor"], "control-plane");
    assert_eq!(last["from_version"], "2.0.0");
    assert!(last["reason"].as_str().unwrap().contains(trap), "{last}");
    assert_eq!(w.assigned().await[0]["version"], "1.0.0");

    // The version it went back to is not watched: its failures are its owner's to handle.
    w.report("1.0.0", "failed", 5, "still broken").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(w.history().await.len(), history.len());
}
