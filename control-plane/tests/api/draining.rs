//! Nodes drained and removed, seen through the API with nodes that report as daemons do: a
//! drained node's instances move to another live node and it gets nothing new; a removed node's
//! token is refused at once and its instances are placed again.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{id_of, thermostat_classroom};
use crate::helpers::{Db, TestApp, message, on_both_databases};

on_both_databases!(
    a_drained_node_hands_its_instances_on_and_takes_no_more,
    a_removed_node_is_refused_and_its_instances_move,
);

/// A node registered by `configurer`, reporting its heartbeats through the API.
struct FakeNode {
    name: String,
    token: String,
}

impl FakeNode {
    async fn register(app: &TestApp, configurer: &str, name: &str) -> FakeNode {
        let (status, node) = app
            .post("/nodes", configurer, json!({ "name": name }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{node}");
        FakeNode {
            name: name.into(),
            token: node["token"].as_str().unwrap().into(),
        }
    }

    /// Reports idle metrics and, as running, whatever it is assigned; returns the status.
    async fn heartbeat(&self, app: &TestApp) -> StatusCode {
        let (status, assignments) = app.get("/node/assignments", &self.token).await;
        if status != StatusCode::OK {
            return status;
        }
        let instances: Vec<Value> = assignments["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| json!({ "deployment": a["deployment"], "state": "running" }))
            .collect();
        let report = json!({ "metrics": { "cpu_percent": 5.0, "memory_used_mb": 100.0,
            "memory_total_mb": 4000.0, "load_1m": 0.1, "performance": 10.0 },
            "instances": instances });
        app.post("/node/heartbeat", &self.token, report).await.0
    }
}

/// Two thermostat deployments of eve's (at either site, on any node); returns the configurer's
/// and eve's tokens and the deployments' ids.
async fn setup(app: &TestApp) -> (String, String, Vec<String>) {
    let (configurer, eve) = thermostat_classroom(app).await;
    let mut ids = Vec::new();
    for site in ["north", "south"] {
        let bindings = json!({
            "temperature": [id_of(app, &eve, "sensors", &format!("{site}-temperature")).await],
            "fan": [id_of(app, &eve, "controllers", &format!("{site}-fan")).await],
            "ac": [id_of(app, &eve, "controllers", &format!("{site}-air-conditioner")).await],
        });
        let body = json!({ "app": "classroom-thermostat", "bindings": bindings });
        let (status, deployment) = app.post("/deployments", &eve, body).await;
        assert_eq!(status, StatusCode::CREATED, "{deployment}");
        ids.push(deployment["id"].as_str().unwrap().to_string());
    }
    (configurer, eve, ids)
}

/// Deployment id → node name, once every deployment is on a node and `settled` accepts the
/// placement; the nodes keep reporting meanwhile.
async fn placements(
    app: &TestApp,
    token: &str,
    nodes: &[&FakeNode],
    what: &str,
    settled: impl Fn(&[(String, String)]) -> bool,
) -> Vec<(String, String)> {
    let started = Instant::now();
    loop {
        for node in nodes {
            node.heartbeat(app).await;
        }
        let (_, deployments) = app.get("/deployments", token).await;
        let placed: Vec<(String, String)> = deployments
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| Some((d["id"].as_str()?.into(), d["node"].as_str()?.into())))
            .collect();
        if placed.len() == deployments.as_array().unwrap().len() && settled(&placed) {
            return placed;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "waiting for {what}: {deployments}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The node called `name` as listed, if it is.
async fn listed(app: &TestApp, token: &str, name: &str) -> Option<Value> {
    let (_, nodes) = app.get("/nodes", token).await;
    nodes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .cloned()
}

async fn a_drained_node_hands_its_instances_on_and_takes_no_more(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (configurer, eve, ids) = setup(&app).await;
    let a = FakeNode::register(&app, &configurer, "a").await;
    let all_on =
        |node: &'static str| move |p: &[(String, String)]| p.iter().all(|(_, n)| n == node);
    placements(&app, &eve, &[&a], "both on a", all_on("a")).await;

    // Nowhere to go: draining keeps them where they are, and says so.
    let (status, node) = app.post("/nodes/a/drain", &configurer, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{node}");
    assert_eq!(node["state"], "draining");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    placements(&app, &eve, &[&a], "both still on a", all_on("a")).await;

    // A second node: everything moves there, and a is drained.
    let b = FakeNode::register(&app, &configurer, "b").await;
    let moved = placements(&app, &eve, &[&a, &b], "both on b", all_on("b")).await;
    assert_eq!(moved.len(), ids.len());
    let drained = listed(&app, &configurer, "a").await.unwrap();
    assert_eq!(drained["state"], "drained", "{drained}");
    let (_, assignments) = app.get("/node/assignments", &a.token).await;
    assert_eq!(
        assignments["instances"],
        json!([]),
        "a drained node is assigned nothing"
    );

    // New work avoids it, though it is idle and b is not.
    let bindings = json!({
        "temperature": [id_of(&app, &eve, "sensors", "north-temperature").await],
        "fan": [id_of(&app, &eve, "controllers", "north-fan").await],
        "ac": [id_of(&app, &eve, "controllers", "north-air-conditioner").await],
    });
    let (status, third) = app
        .post(
            "/deployments",
            &eve,
            json!({ "app": "classroom-thermostat", "bindings": bindings }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{third}");
    placements(&app, &eve, &[&a, &b], "all three on b", all_on("b")).await;

    // Undrained, it is up and takes work again: the next deployment goes to the idle node.
    let (status, node) = app.post("/nodes/a/undrain", &configurer, json!({})).await;
    assert_eq!(
        (status, node["state"].as_str()),
        (StatusCode::OK, Some("up"))
    );
    let (_, fourth) = app
        .post(
            "/deployments",
            &eve,
            json!({ "app": "classroom-thermostat", "bindings": bindings }),
        )
        .await;
    let fourth = fourth["id"].as_str().unwrap().to_string();
    let placed = placements(&app, &eve, &[&a, &b], "the fourth placed", |_| true).await;
    assert!(placed.contains(&(fourth, "a".into())), "{placed:?}");

    let (status, answer) = app
        .post("/nodes/nowhere/drain", &configurer, json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(message(&answer).contains("nowhere"), "{answer}");
}

async fn a_removed_node_is_refused_and_its_instances_move(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (configurer, eve, _) = setup(&app).await;
    let a = FakeNode::register(&app, &configurer, "a").await;
    let all_on =
        |node: &'static str| move |p: &[(String, String)]| p.iter().all(|(_, n)| n == node);
    placements(&app, &eve, &[&a], "both on a", all_on("a")).await;
    let b = FakeNode::register(&app, &configurer, "b").await;
    assert_eq!(b.heartbeat(&app).await, StatusCode::OK);

    let (status, answer) = app
        .call(Method::DELETE, "/nodes/a", Some(&configurer), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    assert_eq!(
        a.heartbeat(&app).await,
        StatusCode::UNAUTHORIZED,
        "a removed node's token"
    );
    let (status, _) = app
        .post(
            "/node/heartbeat",
            &a.token,
            json!({ "metrics": {}, "instances": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(listed(&app, &configurer, "a").await.is_none());
    placements(&app, &eve, &[&b], "both on b", all_on("b")).await;

    let (status, _) = app
        .call(Method::DELETE, "/nodes/a", Some(&configurer), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "removed twice");
    // The name is free again.
    let again = FakeNode::register(&app, &configurer, "a").await;
    assert_eq!(again.heartbeat(&app).await, StatusCode::OK);
    assert_eq!(b.name, "b");
}
