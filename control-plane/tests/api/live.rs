//! The live stream and the small APIs the portal's live views start from: a stream carries the
//! events of the ids it asked for and no others, an end user's only their own; a node's recent
//! load; a model's recent stats; a cron expression's next start times.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use trellis_guest_artifacts as guests;

use crate::fixtures::{classroom, id_of};
use crate::helpers::{Db, TestApp, message, on_both_databases, workspace_file};
use crate::uploads::{app_parts, model_parts};

on_both_databases!(
    a_stream_carries_the_ids_asked_for_and_no_others,
    an_end_user_sees_only_their_own_deployments_change,
    streams_refuse_what_they_cannot_follow,
    node_load_history_follows_heartbeats,
    model_stats_count_predictions,
    cron_previews_list_the_next_starts,
);

/// An open `/live` stream, read as text.
struct Stream {
    response: reqwest::Response,
    seen: String,
}

impl Stream {
    async fn open(app: &TestApp, token: &str, query: &str) -> Stream {
        let response = app
            .client
            .get(app.url(&format!("/live?{query}")))
            .bearer_auth(token)
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "/live?{query}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Stream {
            response,
            seen: String::new(),
        }
    }

    /// Reads until every one of `wanted` has been seen; panics after 10 s.
    async fn until(&mut self, wanted: &[&str]) {
        let read = async {
            while !wanted.iter().all(|w| self.seen.contains(w)) {
                let chunk = self
                    .response
                    .chunk()
                    .await
                    .unwrap()
                    .expect("the stream goes on");
                self.seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .is_err()
        {
            panic!(
                "the stream did not carry all of {wanted:?}; it carried:\n{}",
                self.seen
            );
        }
    }

    /// Every event read so far: (name, data).
    fn events(&self) -> Vec<(String, Value)> {
        let mut events = Vec::new();
        let mut name = String::new();
        for line in self.seen.lines() {
            if let Some(n) = line.strip_prefix("event:") {
                name = n.trim().to_string();
            } else if let Some(data) = line.strip_prefix("data:") {
                events.push((name.clone(), serde_json::from_str(data.trim()).unwrap()));
            }
        }
        events
    }
}

/// A fresh gateway token for device `id` of `collection`.
async fn device_token(app: &TestApp, configurer: &str, collection: &str, id: &str) -> String {
    let (status, answer) = app
        .post(&format!("/{collection}/{id}/token"), configurer, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["token"].as_str().unwrap().to_string()
}

/// Registers node `name`; returns its daemon's token.
async fn node(app: &TestApp, configurer: &str, name: &str) -> String {
    let (status, node) = app
        .post("/nodes", configurer, json!({ "name": name }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{node}");
    node["token"].as_str().unwrap().to_string()
}

fn heartbeat(cpu: f64, temperature: f64, instances: Value) -> Value {
    json!({ "metrics": { "cpu_percent": cpu, "memory_used_mb": 100.0 + cpu,
        "memory_total_mb": 4000.0, "load_1m": 0.1, "temperature_c": temperature,
        "performance": 10.0 }, "instances": instances })
}

/// Puts a command for `controller` on the bus, as an app would.
fn command(app: &TestApp, controller: &str, name: &str) {
    let record = json!({ "id": format!("{controller}-{name}"), "controller": controller,
        "deployment": "dep-test", "sequence": 1,
        "timestamp_ms": chrono::Utc::now().timestamp_millis(),
        "command": { "name": name, "params": [] } });
    app.bus
        .publish(
            &trellis_bus::controller_topic(controller),
            serde_json::to_vec(&record).unwrap(),
        )
        .unwrap();
}

async fn a_stream_carries_the_ids_asked_for_and_no_others(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let [north_temp, south_temp] = ["north-temperature", "south-temperature"];
    let north_temp = id_of(&app, &configurer, "sensors", north_temp).await;
    let south_temp = id_of(&app, &configurer, "sensors", south_temp).await;
    let north_fan = id_of(&app, &configurer, "controllers", "north-fan").await;
    let south_fan = id_of(&app, &configurer, "controllers", "south-fan").await;
    let mut tokens = std::collections::HashMap::new();
    for (collection, id) in [
        ("sensors", &north_temp),
        ("sensors", &south_temp),
        ("controllers", &north_fan),
        ("controllers", &south_fan),
    ] {
        tokens.insert(
            id.clone(),
            device_token(&app, &configurer, collection, id).await,
        );
    }
    let vm1 = node(&app, &configurer, "vm-1").await;
    let vm2 = node(&app, &configurer, "vm-2").await;

    let query = format!("sensors={north_temp}&controllers={north_fan}&nodes=vm-1");
    let mut stream = Stream::open(&app, &configurer, &query).await;

    // First what the stream did not ask for, then what it did: events come in order, so once
    // the wanted ones arrive, any unwanted one would have come before them.
    let reading = |value: f64| json!({ "value": { "kind": "number", "value": value } });
    for (id, value) in [(&south_temp, 99.5), (&north_temp, 21.5)] {
        let (status, answer) = app
            .post("/device/readings", &tokens[id], reading(value))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    }
    for (id, speed) in [(&south_fan, 9), (&north_fan, 2)] {
        let (status, _) = app
            .post(
                "/device/state",
                &tokens[id],
                json!({ "on": true, "speed": speed }),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    for (id, name) in [(&south_fan, "south-off"), (&north_fan, "north-on")] {
        command(&app, id, name);
        let (status, handed) = app.get("/device/commands?wait_ms=5000", &tokens[id]).await;
        assert_eq!(status, StatusCode::OK, "{handed}");
        assert_eq!(handed[0]["command"]["name"], name, "{handed}");
    }
    for (token, cpu) in [(&vm2, 77.0), (&vm1, 12.5)] {
        let (status, answer) = app
            .post("/node/heartbeat", token, heartbeat(cpu, 41.0, json!([])))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    stream
        .until(&[
            "event: reading",
            "event: controller-state",
            "event: command",
            "event: node",
        ])
        .await;

    let events = stream.events();
    let of = |name: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, d)| d)
            .collect()
    };
    let readings = of("reading");
    assert_eq!(readings.len(), 1, "{events:?}");
    assert_eq!(readings[0]["sensor"], north_temp.as_str());
    assert_eq!(readings[0]["value"], 21.5);
    let states = of("controller-state");
    assert_eq!(states.len(), 1, "{events:?}");
    assert_eq!(states[0]["controller"], north_fan.as_str());
    assert_eq!(states[0]["state"], json!({ "on": true, "speed": 2 }));
    let commands = of("command");
    assert_eq!(commands.len(), 1, "{events:?}");
    assert_eq!(commands[0]["controller"], north_fan.as_str());
    assert_eq!(commands[0]["command"]["name"], "north-on");
    let nodes = of("node");
    assert_eq!(nodes.len(), 1, "{events:?}");
    assert_eq!(nodes[0]["name"], "vm-1");
    assert_eq!(nodes[0]["cpu"], 12.5);
    assert_eq!(nodes[0]["memory"]["used_mb"], 112.5);
    assert_eq!(nodes[0]["temperature"], 41.0);
    assert_eq!(nodes[0]["state"], "up");
    for other in [&south_temp, &south_fan] {
        assert!(!stream.seen.contains(other.as_str()), "{}", stream.seen);
    }
    assert!(!stream.seen.contains("vm-2"), "{}", stream.seen);
    for (_, data) in &events {
        let at = data["at"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{data}");
    }
}

/// The classroom, the thermostat app, a deployment of it by each of `owners` placed on a live
/// node; returns the node's token and the deployments' ids.
async fn deployments_of(app: &TestApp, owners: &[&str]) -> (String, Vec<String>) {
    let configurer = classroom(app).await;
    let pat = app.user("pat", "app-developer").await;
    let parts = app_parts("classroom-thermostat", guests::CLASSROOM_THERMOSTAT);
    let (status, answer) = app.upload("/apps", &pat, parts).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let token = node(app, &configurer, "vm-1").await;
    let (status, _) = app
        .post("/node/heartbeat", &token, heartbeat(5.0, 40.0, json!([])))
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut ids = Vec::new();
    for owner in owners {
        let user = app.user(owner, "end-user").await;
        let bindings = json!({
            "temperature": [id_of(app, &user, "sensors", "north-temperature").await],
            "fan": [id_of(app, &user, "controllers", "north-fan").await],
            "ac": [id_of(app, &user, "controllers", "north-air-conditioner").await],
        });
        let body = json!({ "app": "classroom-thermostat", "bindings": bindings });
        let (status, deployment) = app.post("/deployments", &user, body).await;
        assert_eq!(status, StatusCode::CREATED, "{deployment}");
        ids.push(deployment["id"].as_str().unwrap().to_string());
    }
    (token, ids)
}

async fn an_end_user_sees_only_their_own_deployments_change(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (node, ids) = deployments_of(&app, &["erin", "frank"]).await;
    let (erins, franks) = (&ids[0], &ids[1]);
    let erin = app.login("erin", crate::helpers::PASSWORD).await;
    let frank = app.login("frank", crate::helpers::PASSWORD).await;

    // Another user's deployment is as unknown to erin as one that never was.
    let (status, answer) = app.get(&format!("/live?deployments={franks}"), &erin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(message(&answer).contains(franks.as_str()), "{answer}");

    let mut mine = Stream::open(&app, &erin, &format!("deployments={erins}")).await;
    let mut all = Stream::open(&app, &app.admin, &format!("deployments={erins},{franks}")).await;
    // Wait for both to be placed, so the reconciler's own changes are behind us.
    for id in [erins, franks] {
        let mut placed = Value::Null;
        for _ in 0..100 {
            placed = app.get(&format!("/deployments/{id}"), &app.admin).await.1;
            if placed["state"] == "placed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(placed["state"], "placed", "{placed}");
    }

    // The node reports frank's failing and erin's running; then frank stops his and erin hers.
    let report = json!([
        { "deployment": franks, "state": "restarting", "detail": "trap: frank's bug", "restarts": 2 },
        { "deployment": erins, "state": "running" },
    ]);
    let (status, _) = app
        .post("/node/heartbeat", &node, heartbeat(5.0, 40.0, report))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post(&format!("/deployments/{franks}/stop"), &frank, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post(&format!("/deployments/{erins}/stop"), &erin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);

    mine.until(&["\"running\"", "\"stopped\""]).await;
    let events = mine.events();
    assert!(
        events
            .iter()
            .all(|(name, data)| name == "deployment" && data["deployment"] == erins.as_str()),
        "{events:?}"
    );
    assert!(!mine.seen.contains(franks.as_str()), "{}", mine.seen);
    assert!(!mine.seen.contains("frank's bug"), "{}", mine.seen);
    let running = events
        .iter()
        .find(|(_, d)| d["state"] == "running")
        .unwrap();
    assert_eq!(running.1["node"], "vm-1", "{events:?}");

    // The admin's stream has both.
    all.until(&["frank's bug", "\"stopped\""]).await;
    let failing = all
        .events()
        .into_iter()
        .find(|(_, d)| d["state"] == "restarting")
        .unwrap()
        .1;
    assert_eq!(
        (
            failing["deployment"].as_str(),
            failing["restarts"].as_i64(),
            failing["last_error"].as_str()
        ),
        (Some(franks.as_str()), Some(2), Some("trap: frank's bug"))
    );
    all.until(&[&format!("\"deployment\":\"{erins}\",\"state\":\"stopped\"")])
        .await;
}

async fn streams_refuse_what_they_cannot_follow(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let eve = app.user("eve", "end-user").await;
    let sensor = id_of(&app, &configurer, "sensors", "north-temperature").await;
    node(&app, &configurer, "vm-1").await;
    // A sensor reserved for others.
    let (status, reserved) = app
        .post(
            "/sensors",
            &configurer,
            json!({ "name": "staff-room", "type": "temperature",
            "location": { "site": "north", "building": "main", "room": "staff" },
            "users": ["carol"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reserved}");
    let reserved = reserved["id"].as_str().unwrap();

    let many: Vec<String> = (0..501).map(|i| format!("sen-{i}")).collect();
    let cases = [
        (
            &eve,
            String::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name what to follow",
        ),
        (
            &eve,
            format!("sensors={}", many.join(",")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 500",
        ),
        (
            &eve,
            "sensors=sen-missing".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no sensor `sen-missing`",
        ),
        (
            &eve,
            "controllers=ctl-missing".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no controller `ctl-missing`",
        ),
        (
            &eve,
            "models=nothing".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no model `nothing`",
        ),
        (
            &eve,
            "nodes=vm-1".into(),
            StatusCode::FORBIDDEN,
            "may not watch nodes",
        ),
        (
            &eve,
            format!("sensors={sensor},{reserved}"),
            StatusCode::FORBIDDEN,
            "staff-room",
        ),
        (
            &configurer,
            "nodes=vm-9".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no node `vm-9`",
        ),
    ];
    for (token, query, status, says) in cases {
        let (got, answer) = app.get(&format!("/live?{query}"), token).await;
        assert_eq!(got, status, "{query}: {answer}");
        assert!(message(&answer).contains(says), "{query}: {answer}");
    }
    // The one who may use it may follow it.
    Stream::open(&app, &configurer, &format!("sensors={reserved}&nodes=vm-1")).await;
}

async fn node_load_history_follows_heartbeats(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = app.user("carol", "platform-configurer").await;
    let token = node(&app, &configurer, "vm-1").await;
    node(&app, &configurer, "vm-2").await;
    let sent = [(10.0, 40.0), (35.5, 42.0), (20.0, 41.5)];
    for (cpu, temperature) in sent {
        let (status, _) = app
            .post(
                "/node/heartbeat",
                &token,
                heartbeat(cpu, temperature, json!([])),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, load) = app.get("/nodes/vm-1/load", &configurer).await;
    assert_eq!(status, StatusCode::OK, "{load}");
    assert_eq!(load["name"], "vm-1");
    let points = load["points"].as_array().unwrap();
    let got: Vec<(f64, f64)> = points
        .iter()
        .map(|p| {
            (
                p["cpu"].as_f64().unwrap(),
                p["temperature"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, sent);
    assert_eq!(points[1]["memory"]["used_mb"], 135.5);
    assert_eq!(points[1]["memory"]["total_mb"], 4000.0);
    let times: Vec<&str> = points.iter().map(|p| p["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|t| t[0] <= t[1]), "{times:?}");
    // By id as well as by name; a node that never reported has none; an unknown one is 404.
    let (_, listed) = app.get("/nodes", &configurer).await;
    let id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "vm-1")
        .unwrap()["id"]
        .clone();
    let (_, by_id) = app
        .get(
            &format!("/nodes/{}/load", id.as_str().unwrap()),
            &configurer,
        )
        .await;
    assert_eq!(by_id["points"], load["points"]);
    let (_, quiet) = app.get("/nodes/vm-2/load", &configurer).await;
    assert_eq!(quiet["points"], json!([]));
    let (status, answer) = app.get("/nodes/vm-9/load", &configurer).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    // The node list carries the latest load.
    let vm1 = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "vm-1")
        .unwrap();
    assert_eq!(vm1["report"]["metrics"]["cpu_percent"], 20.0, "{vm1}");
}

async fn model_stats_count_predictions(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let scientist = app.user("dana", "data-scientist").await;
    let digits = model_parts("digits", guests::DIGITS_CONTRACT);
    let (status, model) = app.upload("/models", &scientist, digits).await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    let (_, before) = app.get("/models/digits/stats", &scientist).await;
    assert_eq!(before["versions"][0]["requests"], 0, "{before}");
    assert_eq!(
        before["versions"][0]["mean_latency_ms"],
        Value::Null,
        "{before}"
    );

    let mut stream = Stream::open(&app, &scientist, "models=digits").await;
    let image = workspace_file("examples/models/digits/fixtures/images.json");
    let images: Value = serde_json::from_slice(&image).unwrap();
    let file = images[0]["file"].as_str().unwrap();
    let png = workspace_file(&format!("examples/models/digits/fixtures/images/{file}"));
    for _ in 0..3 {
        let response = app
            .client
            .post(app.url("/models/digits/latest/predict"))
            .bearer_auth(&scientist)
            .header("content-type", "image/png")
            .body(png.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    // A refused input is no prediction.
    let (status, _) = app
        .post(
            "/models/digits/1.0.0/predict",
            &scientist,
            Value::String("hello".into()),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, stats) = app.get("/models/digits/stats", &scientist).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    let version = &stats["versions"][0];
    assert_eq!(
        (version["version"].as_str(), version["requests"].as_u64()),
        (Some("1.0.0"), Some(3))
    );
    let (mean, p95) = (
        version["mean_latency_ms"].as_f64().unwrap(),
        version["p95_latency_ms"].as_f64().unwrap(),
    );
    assert!(mean > 0.0 && p95 >= mean * 0.5, "{stats}");
    // The first prediction went out at once (the next ones within the second did not).
    stream.until(&["event: model"]).await;
    let (_, event) = stream.events().remove(0);
    assert_eq!(
        (event["model"].as_str(), event["version"].as_str()),
        (Some("digits"), Some("1.0.0"))
    );
    assert!(event["requests"].as_u64().unwrap() >= 1, "{event}");
    let (status, _) = app.get("/models/nothing/stats", &scientist).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn cron_previews_list_the_next_starts(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let eve = app.user("eve", "end-user").await;
    let (status, preview) = app
        .get("/schedules/preview?cron=30%208%20*%20*%20MON-FRI", &eve)
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let now = chrono::Utc::now();
    let starts: Vec<chrono::DateTime<chrono::Utc>> = preview["starts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(starts.len(), 5, "{preview}");
    use chrono::{Datelike, Timelike};
    for start in &starts {
        assert!(*start > now, "{preview}");
        assert_eq!(
            (start.hour(), start.minute(), start.second()),
            (8, 30, 0),
            "{preview}"
        );
        assert!(start.weekday().number_from_monday() <= 5, "{preview}");
    }
    // Consecutive weekdays: a day apart, or three over a weekend.
    for pair in starts.windows(2) {
        let days = (pair[1] - pair[0]).num_days();
        assert!(days == 1 || days == 3, "{preview}");
    }
    let (_, two) = app
        .get("/schedules/preview?cron=0%20*%20*%20*%20*&count=2", &eve)
        .await;
    assert_eq!(two["starts"].as_array().unwrap().len(), 2, "{two}");

    let bad = [
        ("cron=every%20day", "`every day` is not a cron expression"),
        ("cron=0%208%20*%20*%20*&count=0", "count: 0"),
        ("cron=0%208%20*%20*%20*&count=101", "count: 101"),
        ("count=3", "cron"),
    ];
    for (query, says) in bad {
        let (status, answer) = app.get(&format!("/schedules/preview?{query}"), &eve).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {answer}"
        );
        assert!(message(&answer).contains(says), "{query}: {answer}");
    }
}
