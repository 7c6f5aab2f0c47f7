//! The log service: what nodes ship is found by deployment, level and text, by the people
//! allowed to read it and nobody else; the live tail sees new lines; downloads are NDJSON and
//! CSV.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use trellis_guest_artifacts as guests;

use crate::fixtures::{classroom, id_of};
use crate::helpers::{Db, TestApp, message, on_both_databases};
use crate::uploads::app_parts;

on_both_databases!(
    lines_are_found_by_their_readers_only,
    the_live_tail_sees_a_new_line,
    downloads_are_ndjson_and_csv,
    batches_are_checked_and_drops_are_told,
);

/// The classroom, the thermostat app by pat, and a deployment of it by each of `owners`;
/// returns the node's token and each deployment's id.
async fn two_deployments(app: &TestApp, owners: &[&str]) -> (String, String, Vec<String>) {
    let configurer = classroom(app).await;
    let pat = app.user("pat", "app-developer").await;
    let (status, answer) = app
        .upload(
            "/apps",
            &pat,
            app_parts("classroom-thermostat", guests::CLASSROOM_THERMOSTAT),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let mut deployments = Vec::new();
    for owner in owners {
        let token = app.user(owner, "end-user").await;
        let sensor = id_of(app, &token, "sensors", "north-temperature").await;
        let fan = id_of(app, &token, "controllers", "north-fan").await;
        let ac = id_of(app, &token, "controllers", "north-air-conditioner").await;
        let body = json!({ "app": "classroom-thermostat",
            "bindings": { "temperature": [sensor], "fan": [fan], "ac": [ac] } });
        let (status, deployment) = app.post("/deployments", &token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{deployment}");
        deployments.push(deployment["id"].as_str().unwrap().to_string());
    }
    let (status, node) = app
        .post("/nodes", &configurer, json!({ "name": "vm-1" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{node}");
    (
        node["token"].as_str().unwrap().to_string(),
        pat,
        deployments,
    )
}

/// A guest line of `deployment` as a node ships it.
fn line(deployment: &str, level: &str, text: &str) -> Value {
    json!({ "at_ms": chrono::Utc::now().timestamp_millis(), "level": level, "source": "guest",
        "deployment": deployment, "instance": format!("{deployment}.1"), "app_version": "0.1.0",
        "text": text })
}

async fn ship(app: &TestApp, node: &str, lines: Vec<Value>) {
    let (status, answer) = app
        .post("/node/logs", node, json!({ "lines": lines }))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["stored"], lines.len(), "{answer}");
}

/// The lines `token` reads with `query`, newest first.
async fn read(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let (status, page) = app.get(&format!("/logs?{query}"), token).await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    page["lines"].as_array().unwrap().clone()
}

fn texts(lines: &[Value]) -> Vec<&str> {
    lines.iter().map(|l| l["text"].as_str().unwrap()).collect()
}

async fn lines_are_found_by_their_readers_only(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (node, pat, deployments) = two_deployments(&app, &["erin", "frank"]).await;
    let (erins, franks) = (&deployments[0], &deployments[1]);
    ship(
        &app,
        &node,
        vec![
            line(erins, "info", "erin's room is at 21.5 degrees"),
            line(erins, "warn", "erin's fan does not answer"),
            line(franks, "error", "frank's secret: the heater is broken"),
            line(franks, "debug", "frank's room is at 19 degrees"),
        ],
    )
    .await;
    let erin = app.login("erin", crate::helpers::PASSWORD).await;
    let frank = app.login("frank", crate::helpers::PASSWORD).await;

    // Each row says where it came from.
    let mine = read(&app, &erin, "source=guest").await;
    let guest: Vec<&Value> = mine.iter().filter(|l| l["source"] == "guest").collect();
    assert_eq!(guest.len(), 2, "{mine:?}");
    for row in &guest {
        assert_eq!(row["deployment"], erins.as_str(), "{row}");
        assert_eq!(row["node"], "vm-1", "{row}");
        assert_eq!(row["app"], "classroom-thermostat", "{row}");
        assert_eq!(row["app_version"], "0.1.0", "{row}");
        assert_eq!(row["instance"], format!("{erins}.1"), "{row}");
    }
    // Newest first.
    assert_eq!(
        texts(&guest.into_iter().cloned().collect::<Vec<_>>()),
        [
            "erin's fan does not answer",
            "erin's room is at 21.5 degrees"
        ]
    );
    // An end user sees none of another's lines, however she asks.
    for query in [
        String::new(),
        format!("deployment={franks}"),
        "text=secret".to_string(),
        "level=error".to_string(),
    ] {
        let seen = read(&app, &erin, &query).await;
        assert!(
            seen.iter().all(|l| l["deployment"] == erins.as_str()),
            "erin read another's lines with `{query}`: {seen:?}"
        );
    }
    assert!(
        read(&app, &erin, &format!("deployment={franks}"))
            .await
            .is_empty()
    );
    let franks_own = read(&app, &frank, "text=secret").await;
    assert_eq!(texts(&franks_own), ["frank's secret: the heater is broken"]);

    // Text: every word, in any case; level: that or worse; deployment: that one's.
    let admin = &app.admin;
    assert_eq!(
        texts(&read(&app, admin, "text=ROOM%20degrees").await),
        [
            "frank's room is at 19 degrees",
            "erin's room is at 21.5 degrees"
        ]
    );
    let warned = read(&app, admin, "level=warn").await;
    assert!(
        texts(&warned).contains(&"erin's fan does not answer")
            && texts(&warned).contains(&"frank's secret: the heater is broken"),
        "{warned:?}"
    );
    assert!(
        warned
            .iter()
            .all(|l| l["level"] == "warn" || l["level"] == "error"),
        "{warned:?}"
    );
    let franks_all = read(&app, admin, &format!("deployment={franks}&text=degrees")).await;
    assert_eq!(texts(&franks_all), ["frank's room is at 19 degrees"]);
    assert!(read(&app, admin, "node=vm-2").await.is_empty());
    assert_eq!(read(&app, admin, "node=vm-1").await.len(), 4);
    assert!(
        read(
            &app,
            admin,
            "since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z"
        )
        .await
        .is_empty()
    );
    assert!(
        !read(&app, admin, "since=10m&app=classroom-thermostat")
            .await
            .is_empty()
    );

    // The control plane's own events are there too: the deploys, by whom.
    let deployed = read(&app, &erin, "text=deployed").await;
    assert_eq!(deployed.len(), 1, "{deployed:?}");
    assert_eq!(deployed[0]["source"], "platform");
    assert_eq!(deployed[0]["event"], "deployed");
    assert!(texts(&deployed)[0].contains("by erin"), "{deployed:?}");

    // The app's developer reads both deployments' lines; a data scientist reads none.
    let developer = read(&app, &pat, "source=guest").await;
    assert_eq!(
        developer.iter().filter(|l| l["source"] == "guest").count(),
        4,
        "{developer:?}"
    );
    let dana = app.user("dana", "data-scientist").await;
    let (status, answer) = app.get("/logs", &dana).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");

    // Pages: newest first, continued with `before`.
    let first = app.get("/logs?limit=1&text=degrees", admin).await.1;
    let before = first["next_before"].as_i64().expect("a next page");
    let second = read(
        &app,
        admin,
        &format!("limit=1&text=degrees&before={before}"),
    )
    .await;
    assert_eq!(texts(&second), ["erin's room is at 21.5 degrees"]);

    // A filter that does not parse is named.
    for (query, named) in [
        ("level=loud", "level"),
        ("since=yesterday", "since"),
        ("text=%21%21", "text"),
        ("before=x", "before"),
        ("format=xml", "format"),
    ] {
        let (status, answer) = app.get(&format!("/logs?{query}"), admin).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {answer}"
        );
        assert!(message(&answer).contains(named), "{query}: {answer}");
    }
}

async fn the_live_tail_sees_a_new_line(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (node, _, deployments) = two_deployments(&app, &["erin", "frank"]).await;
    let erin = app.login("erin", crate::helpers::PASSWORD).await;
    let (status, answer) = app.get("/logs/tail", &erin).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE, "{answer}");
    assert!(message(&answer).contains("text/event-stream"), "{answer}");

    let mut tail = app
        .client
        .get(app.url("/logs/tail?level=info"))
        .bearer_auth(&erin)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), StatusCode::OK);
    assert!(
        tail.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    ship(
        &app,
        &node,
        vec![
            line(&deployments[1], "error", "frank's line, not for erin"),
            line(&deployments[0], "debug", "below the level asked"),
            line(&deployments[0], "info", "a new line for erin"),
        ],
    )
    .await;
    let mut seen = String::new();
    let read = async {
        while !seen.contains("a new line for erin") {
            let chunk = tail.chunk().await.unwrap().expect("the stream goes on");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .unwrap_or_else(|_| panic!("the tail did not show the new line"));
    let data: Vec<Value> = seen
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str(d.trim()).unwrap())
        .collect();
    let line = data.last().unwrap();
    assert_eq!(line["deployment"], deployments[0].as_str(), "{line}");
    assert!(seen.contains("event: line"), "{seen}");
    assert!(!seen.contains("frank's line"), "{seen}");
    assert!(!seen.contains("below the level"), "{seen}");

    // With `after`, the stored lines after that id come first.
    let id = line["id"].as_i64().unwrap();
    let mut again = app
        .client
        .get(app.url(&format!("/logs/tail?after={}", id - 1)))
        .bearer_auth(&erin)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), again.chunk())
        .await
        .expect("the stored line at once")
        .unwrap()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&first).contains("a new line for erin"),
        "{}",
        String::from_utf8_lossy(&first)
    );
}

async fn downloads_are_ndjson_and_csv(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (node, _, deployments) = two_deployments(&app, &["erin"]).await;
    let dep = &deployments[0];
    let tricky = "a line with \"quotes\", commas\nand a break";
    ship(
        &app,
        &node,
        vec![line(dep, "info", "first"), line(dep, "warn", tricky)],
    )
    .await;
    let get = |query: &str, accept: Option<&str>| {
        let mut request = app
            .client
            .get(app.url(&format!("/logs?source=guest&deployment={dep}&{query}")))
            .bearer_auth(&app.admin);
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let kind = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_string();
            (kind, response.text().await.unwrap())
        }
    };

    for (query, accept) in [("format=ndjson", None), ("", Some("application/x-ndjson"))] {
        let (kind, body) = get(query, accept).await;
        assert_eq!(kind, "application/x-ndjson");
        let rows: Vec<Value> = body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let guest: Vec<&Value> = rows.iter().filter(|r| r["source"] == "guest").collect();
        // Oldest first, each row saying where it came from.
        assert_eq!(guest.len(), 2, "{body}");
        assert_eq!(guest[0]["text"], "first");
        assert_eq!(guest[1]["text"], tricky);
        assert_eq!(guest[1]["level"], "warn");
        assert_eq!(guest[1]["node"], "vm-1");
    }

    for (query, accept) in [("format=csv", None), ("", Some("text/csv"))] {
        let (kind, body) = get(query, accept).await;
        assert!(kind.starts_with("text/csv"), "{kind}");
        let mut records = body.split_inclusive('\n');
        let header = records.next().unwrap();
        assert_eq!(
            header,
            "id,time,level,source,event,node,deployment,instance,app,app_version,text\n"
        );
        let expected_tail = format!(
            ",warn,guest,,vm-1,{dep},{dep}.1,classroom-thermostat,0.1.0,\"a line with \"\"quotes\"\", commas\nand a break\"\n"
        );
        assert!(body.contains(",info,guest,,vm-1,"), "{body}");
        assert!(body.ends_with(&expected_tail), "{body}");
    }

    // A download keeps to its limit.
    let (_, body) = get("format=ndjson&limit=1", None).await;
    assert_eq!(body.lines().count(), 1, "{body}");
}

async fn batches_are_checked_and_drops_are_told(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (node, _, deployments) = two_deployments(&app, &["erin"]).await;
    let too_many: Vec<Value> = (0..10_001)
        .map(|_| line(&deployments[0], "info", "x"))
        .collect();
    let (status, answer) = app
        .post("/node/logs", &node, json!({ "lines": too_many }))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert!(message(&answer).contains("10000"), "{answer}");
    let (status, answer) = app
        .post(
            "/node/logs",
            &node,
            json!({ "lines": [{ "at_ms": 1, "source": "guest", "text": "no level" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(message(&answer).contains("level"), "{answer}");
    let (status, answer) = app
        .post("/node/logs", &app.admin, json!({ "lines": [] }))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a user is not a node: {answer}"
    );

    let (status, answer) = app
        .post("/node/logs", &node, json!({ "lines": [], "dropped": 7 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let told = read(&app, &app.admin, "text=dropped&node=vm-1").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["event"], "dropped");
    assert_eq!(told[0]["level"], "warn");
    assert!(texts(&told)[0].contains("7 log line"), "{told:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_beyond_the_age_or_size_limit_go_oldest_first() {
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |settings| {
        settings.log_retention = Duration::from_secs(3600);
        settings.log_max_bytes = 20_000;
        settings.log_retention_every = Duration::from_millis(100);
    })
    .await
    else {
        return;
    };
    let (node, _, deployments) = two_deployments(&app, &["erin"]).await;
    let dep = &deployments[0];
    // Two hours old: past the retention age.
    let mut old = line(dep, "info", "an old line");
    old["at_ms"] = json!(chrono::Utc::now().timestamp_millis() - 2 * 3600 * 1000);
    // Some 200 bytes each: 300 of them are three times the size limit.
    let filler = "x".repeat(150);
    let mut lines = vec![old];
    lines.extend((0..300).map(|i| line(dep, "info", &format!("line {i} {filler}"))));
    ship(&app, &node, lines).await;

    let mut kept = Vec::new();
    for _ in 0..100 {
        kept = read(&app, &app.admin, "source=guest&limit=1000").await;
        if kept.len() < 150 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let texts = texts(&kept);
    assert!(
        !kept.is_empty() && kept.len() < 150,
        "{} lines kept",
        kept.len()
    );
    assert!(!texts.contains(&"an old line"), "{texts:?}");
    // The newest stayed, and what stayed is the newest, without a gap.
    let numbers: Vec<usize> = texts
        .iter()
        .map(|t| t.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    let expected: Vec<usize> = (300 - numbers.len()..300).rev().collect();
    assert_eq!(numbers, expected);
}
