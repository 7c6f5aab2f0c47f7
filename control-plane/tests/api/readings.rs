//! Readings history and fleet-size lists: readings the gateway accepts are kept and shown with
//! their sensor, a history is downsampled on the server, lists are paged and searched with
//! their total, places come as a tree with counts, and a reserved sensor's readings are for its
//! users.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use trellis_control::seed;

use crate::fixtures::{classroom, device};
use crate::helpers::{Db, TestApp, message, on_both_databases};

on_both_databases!(
    accepted_readings_are_kept_and_shown_with_their_sensor,
    a_long_history_is_downsampled_into_buckets_that_add_up,
    lists_are_paged_and_searched_with_their_total,
    places_come_as_a_tree_with_counts_per_type,
    a_reserved_sensors_readings_are_for_its_users,
    readings_older_than_the_retention_are_removed,
    a_flush_stores_every_reading_queued_before_it,
);

/// A listing and its `X-Total-Count`.
async fn page(app: &TestApp, path: &str, token: &str) -> (Vec<Value>, u64) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let total = response.headers()["x-total-count"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let items: Value = response.json().await.unwrap();
    (items.as_array().unwrap().clone(), total)
}

fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

async fn accepted_readings_are_kept_and_shown_with_their_sensor(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let sensor = device(
        &app,
        &configurer,
        "sensors",
        "lab-t",
        "temperature",
        "lab",
        "r1",
    )
    .await;
    let (id, token) = (
        sensor["id"].as_str().unwrap(),
        sensor["token"].as_str().unwrap(),
    );
    let (_, fresh) = app.get(&format!("/sensors/{id}"), &configurer).await;
    assert_eq!(fresh["readings"], 0, "{fresh}");
    assert!(fresh.get("last_reading").is_none(), "{fresh}");

    let base = chrono::Utc::now().timestamp_millis() - 60_000;
    let sent = [(base, 19.5), (base + 2_000, 21.25), (base + 1_000, 20.0)];
    for (at, value) in sent {
        let body = json!({ "value": { "kind": "number", "value": value }, "timestamp_ms": at });
        let (status, answer) = app.post("/device/readings", token, body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    }
    let (newest_at, newest) = sent.iter().max_by_key(|(at, _)| *at).unwrap();
    let (_, seen) = app.get(&format!("/sensors/{id}"), &configurer).await;
    assert_eq!(seen["readings"], sent.len(), "{seen}");
    assert_eq!(seen["last_reading"]["value"], json!(newest), "{seen}");
    let at = chrono::DateTime::parse_from_rfc3339(seen["last_reading"]["at"].as_str().unwrap());
    assert_eq!(at.unwrap().timestamp_millis(), *newest_at);
    let (listed, _) = page(&app, "/sensors?site=lab", &configurer).await;
    assert_eq!(listed[0]["readings"], seen["readings"]);
    assert_eq!(listed[0]["last_reading"], seen["last_reading"]);

    // The raw history holds what was sent, oldest first.
    let (status, history) = app
        .get(&format!("/sensors/{id}/readings"), &configurer)
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history["downsampled"], false);
    let mut expected = sent.to_vec();
    expected.sort_by_key(|(at, _)| *at);
    let got: Vec<(i64, f64)> = history["readings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["at_ms"].as_i64().unwrap(), r["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(got, expected);
}

async fn a_long_history_is_downsampled_into_buckets_that_add_up(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let sensor = device(
        &app,
        &configurer,
        "sensors",
        "lab-t",
        "temperature",
        "lab",
        "r1",
    )
    .await;
    let id = sensor["id"].as_str().unwrap();
    // Three days, one reading a minute, a saw tooth.
    let count = 3 * 24 * 60;
    let every = 60_000;
    let since = chrono::Utc::now().timestamp_millis() - count as i64 * every;
    let value = |i: usize| (i % 97) as f64 / 4.0;
    seed::readings(&app.db, id, since, every, count, value)
        .await
        .unwrap();
    let at = |i: usize| since + i as i64 * every;

    for points in [1000, 50, 7] {
        let (status, history) = app
            .get(
                &format!("/sensors/{id}/readings?points={points}"),
                &configurer,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{history}");
        assert_eq!(history["total"], count);
        assert_eq!(history["downsampled"], true);
        let buckets = history["buckets"].as_array().unwrap();
        assert!(
            buckets.len() <= points,
            "{} buckets for {points}",
            buckets.len()
        );
        let counted: u64 = buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum();
        assert_eq!(counted, count as u64);
        // Each bucket summarises exactly the readings in its span.
        for bucket in buckets {
            let (from, to) = (
                bucket["at_ms"].as_i64().unwrap(),
                bucket["until_ms"].as_i64().unwrap(),
            );
            let inside: Vec<f64> = (0..count)
                .filter(|&i| (from..to).contains(&at(i)))
                .map(value)
                .collect();
            assert_eq!(bucket["count"], inside.len(), "{bucket}");
            let min = inside.iter().cloned().fold(f64::INFINITY, f64::min);
            let max = inside.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let mean = inside.iter().sum::<f64>() / inside.len() as f64;
            assert_eq!(bucket["min"].as_f64().unwrap(), min, "{bucket}");
            assert_eq!(bucket["max"].as_f64().unwrap(), max, "{bucket}");
            assert!(
                (bucket["mean"].as_f64().unwrap() - mean).abs() < 1e-9,
                "{bucket}"
            );
        }
    }

    // A range: spans back from now and RFC 3339 bounds; only what lies in it is counted.
    let (from, to) = (100, 400);
    let range = format!(
        "since={}&until={}&points=5000",
        chrono::DateTime::from_timestamp_millis(at(from))
            .unwrap()
            .to_rfc3339(),
        chrono::DateTime::from_timestamp_millis(at(to))
            .unwrap()
            .to_rfc3339(),
    )
    .replace('+', "%2B");
    let (status, history) = app
        .get(&format!("/sensors/{id}/readings?{range}"), &configurer)
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history["downsampled"], false);
    let values: Vec<f64> = history["readings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, (from..to).map(value).collect::<Vec<_>>());
    let (_, last_day) = app
        .get(
            &format!("/sensors/{id}/readings?since=1d&points=5000"),
            &configurer,
        )
        .await;
    let recent = (0..count)
        .filter(|&i| at(i) >= chrono::Utc::now().timestamp_millis() - 86_400_000)
        .count();
    let total = last_day["total"].as_u64().unwrap() as usize;
    // A reading may age past the day's edge between the two clocks' readings.
    assert!(total.abs_diff(recent) <= 1, "{total} vs {recent}");

    for (query, named) in [
        ("since=yesterday", "since"),
        ("until=soon", "until"),
        ("points=0", "points"),
        ("points=5001", "points"),
        ("since=1h&until=2h", "until"),
        ("colour=red", "colour"),
    ] {
        let (status, answer) = app
            .get(&format!("/sensors/{id}/readings?{query}"), &configurer)
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {answer}"
        );
        assert!(message(&answer).contains(named), "{query}: {answer}");
    }
    let (status, answer) = app.get("/sensors/sen_none/readings", &configurer).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
}

async fn lists_are_paged_and_searched_with_their_total(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    seed::sensors(&app.db, "fleet", "temperature", 250)
        .await
        .unwrap();
    let user = app.user("eve", "end-user").await;

    // No page asked: everything, as before, with the total.
    let (all, total) = page(&app, "/sensors", &user).await;
    assert_eq!(all.len() as u64, total);
    let mut by_name = names(&all);
    by_name.sort();
    assert_eq!(names(&all), by_name, "listed by name");

    let (first, total_paged) = page(&app, "/sensors?limit=50", &user).await;
    assert_eq!(total_paged, total);
    assert_eq!(names(&first), by_name[..50]);
    let (last, _) = page(
        &app,
        &format!("/sensors?limit=50&offset={}", total - 10),
        &user,
    )
    .await;
    assert_eq!(names(&last), by_name[by_name.len() - 10..]);

    // Filters apply before the page, and the total counts every match.
    let (site, site_total) =
        page(&app, "/sensors?site=fleet-site-0&limit=20&offset=20", &user).await;
    let in_site: Vec<&Value> = all
        .iter()
        .filter(|d| d["location"]["site"] == "fleet-site-0")
        .collect();
    assert_eq!(site_total, in_site.len() as u64);
    assert_eq!(
        names(&site),
        names(
            &in_site[20..40]
                .iter()
                .map(|d| (*d).clone())
                .collect::<Vec<_>>()
        )
    );
    let (found, found_total) = page(&app, "/sensors?q=FLEET-001&limit=5", &user).await;
    let matching: Vec<String> = by_name
        .iter()
        .filter(|n| n.contains("fleet-001"))
        .cloned()
        .collect();
    assert_eq!(found_total, matching.len() as u64);
    assert_eq!(names(&found), matching[..5]);
    let (rooms, _) = page(&app, "/sensors?q=room-2", &user).await;
    assert!(
        rooms
            .iter()
            .all(|d| d["location"]["room"].as_str().unwrap().contains("room-2"))
    );
    let (none, none_total) = page(&app, "/sensors?q=50%25_off", &user).await;
    assert_eq!(
        (none.len(), none_total),
        (0, 0),
        "% and _ match only themselves"
    );

    // Labels: exact entries, found in SQL, paged like the rest.
    let tricky = json!({ "floor": "3", "note": "a,\"b\"}", "x": "floor" });
    let body = json!({ "name": "tricky", "type": "temperature",
        "location": { "site": "lab", "building": "b", "room": "r" }, "labels": tricky });
    let (status, answer) = app.post("/sensors", &configurer, body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let body = json!({ "name": "floor-33", "type": "temperature",
        "location": { "site": "lab", "building": "b", "room": "r" }, "labels": { "floor": "33" } });
    assert_eq!(
        app.post("/sensors", &configurer, body).await.0,
        StatusCode::CREATED
    );
    let (all, _) = page(&app, "/sensors", &user).await;
    let with = |key: &str, value: &str| -> Vec<String> {
        all.iter()
            .filter(|d| d["labels"][key] == value)
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (floor3, floor3_total) =
        page(&app, "/sensors?label=floor=3&limit=10&offset=3", &user).await;
    let expected = with("floor", "3");
    assert_eq!(floor3_total, expected.len() as u64);
    assert_eq!(names(&floor3), expected[3..13]);
    let (note, _) = page(&app, "/sensors?label=note=a%2C%22b%22%7D", &user).await;
    assert_eq!(names(&note), ["tricky"]);
    let (keyed, _) = page(&app, "/sensors?label=x=floor", &user).await;
    assert_eq!(names(&keyed), ["tricky"]);

    let (status, answer) = app.get("/sensors?limit=ten", &user).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(message(&answer).contains("limit"), "{answer}");
    let (controllers, controllers_total) = page(&app, "/controllers?limit=1", &user).await;
    assert_eq!((controllers.len(), controllers_total), (1, 4));
}

async fn places_come_as_a_tree_with_counts_per_type(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    seed::sensors(&app.db, "fleet", "humidity", 1200)
        .await
        .unwrap();
    let user = app.user("eve", "end-user").await;
    let (status, tree) = app.get("/locations", &user).await;
    assert_eq!(status, StatusCode::OK, "{tree}");

    // What the lists say is where, counted by place and type.
    let mut expected: BTreeMap<(String, String, String, String), u64> = BTreeMap::new();
    for collection in ["sensors", "controllers"] {
        let (items, _) = page(&app, &format!("/{collection}"), &configurer).await;
        for d in items {
            let l = &d["location"];
            for place in [
                (l["site"].to_string(), String::new(), String::new()),
                (
                    l["site"].to_string(),
                    l["building"].to_string(),
                    String::new(),
                ),
                (
                    l["site"].to_string(),
                    l["building"].to_string(),
                    l["room"].to_string(),
                ),
            ] {
                let key = (
                    place.0,
                    place.1,
                    place.2,
                    format!("{collection}/{}", d["type"].as_str().unwrap()),
                );
                *expected.entry(key).or_default() += 1;
            }
        }
    }
    let mut got = BTreeMap::new();
    let mut add = |site: &Value, building: String, room: String, counts: &Value| {
        for collection in ["sensors", "controllers"] {
            for (type_name, n) in counts[collection].as_object().unwrap() {
                let key = (
                    site.to_string(),
                    building.clone(),
                    room.clone(),
                    format!("{collection}/{type_name}"),
                );
                got.insert(key, n.as_u64().unwrap());
            }
        }
    };
    let sites = tree["sites"].as_array().unwrap();
    for site in sites {
        add(&site["name"], String::new(), String::new(), &site["counts"]);
        for building in site["buildings"].as_array().unwrap() {
            add(
                &site["name"],
                building["name"].to_string(),
                String::new(),
                &building["counts"],
            );
            for room in building["rooms"].as_array().unwrap() {
                add(
                    &site["name"],
                    building["name"].to_string(),
                    room["name"].to_string(),
                    &room["counts"],
                );
            }
        }
    }
    assert_eq!(got, expected);
    let site_names: Vec<&str> = sites.iter().map(|s| s["name"].as_str().unwrap()).collect();
    let mut sorted = site_names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(site_names, sorted, "each site once, by name");
}

async fn a_reserved_sensors_readings_are_for_its_users(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let eve = app.user("eve", "end-user").await;
    let mallory = app.user("mallory", "end-user").await;
    let body = json!({ "name": "eves-t", "type": "temperature", "users": ["eve"],
        "location": { "site": "lab", "building": "b", "room": "r" } });
    let (status, sensor) = app.post("/sensors", &configurer, body).await;
    assert_eq!(status, StatusCode::CREATED, "{sensor}");
    let (id, token) = (
        sensor["id"].as_str().unwrap(),
        sensor["token"].as_str().unwrap(),
    );
    let body = json!({ "value": { "kind": "number", "value": 23.0 } });
    assert_eq!(
        app.post("/device/readings", token, body).await.0,
        StatusCode::ACCEPTED
    );

    let history = format!("/sensors/{id}/readings");
    for (who, token) in [
        ("eve", &eve),
        ("the configurer", &configurer),
        ("the admin", &app.admin),
    ] {
        let (status, answer) = app.get(&history, token).await;
        assert_eq!(status, StatusCode::OK, "{who}: {answer}");
        assert_eq!(answer["total"], 1, "{who}: {answer}");
        let (_, seen) = app.get(&format!("/sensors/{id}"), token).await;
        assert_eq!(seen["readings"], 1, "{who}: {seen}");
    }
    let (status, answer) = app.get(&history, &mallory).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(message(&answer).contains("reserved"), "{answer}");
    // Mallory sees the sensor is there, not what it measured.
    let (_, seen) = app.get(&format!("/sensors/{id}"), &mallory).await;
    assert!(
        seen["readings"].is_null() && seen.get("last_reading").is_none(),
        "{seen}"
    );
    let (listed, _) = page(&app, "/sensors?site=lab", &mallory).await;
    assert!(listed[0]["readings"].is_null(), "{listed:?}");
}

async fn readings_older_than_the_retention_are_removed(db: Db) {
    let Some(app) = TestApp::spawn_with(db, |settings| {
        settings.readings_retention = std::time::Duration::from_secs(86_400);
        settings.readings_retention_every = std::time::Duration::from_millis(100);
    })
    .await
    else {
        return;
    };
    let configurer = classroom(&app).await;
    let sensor = device(
        &app,
        &configurer,
        "sensors",
        "lab-t",
        "temperature",
        "lab",
        "r1",
    )
    .await;
    let id = sensor["id"].as_str().unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let every = 60_000;
    // Ten readings two days old, ten from the last hour.
    seed::readings(&app.db, id, now - 2 * 86_400_000, every, 10, |i| i as f64)
        .await
        .unwrap();
    seed::readings(&app.db, id, now - 3_600_000, every, 10, |i| {
        100.0 + i as f64
    })
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, seen) = app.get(&format!("/sensors/{id}"), &configurer).await;
        if seen["readings"] == 10 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never pruned: {seen}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (_, history) = app
        .get(&format!("/sensors/{id}/readings"), &configurer)
        .await;
    let values: Vec<f64> = history["readings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_f64().unwrap())
        .collect();
    assert_eq!(
        values,
        (0..10).map(|i| 100.0 + i as f64).collect::<Vec<_>>()
    );
}

async fn a_flush_stores_every_reading_queued_before_it(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    // A recorder of its own on the registry, as the gateway's.
    let recorder = trellis_control::readings::Recorder::start(app.db.clone());
    // More than the queue holds, from several writers at once: the writers wait, none is lost.
    let (writers, each) = (4, 6_000);
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let recorder = recorder.clone();
            tokio::spawn(async move {
                for i in 0..each {
                    let value = trellis_protocol::Value::Number(i as f64);
                    recorder.record(&format!("sen_{w}"), i, &value).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    recorder.flush().await;
    let (stored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM readings")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, writers * each);
}
