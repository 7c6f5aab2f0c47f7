//! The device gateway under hostile or unlucky devices: commands survive a lost answer, a
//! device's numbers cannot wedge the gateway, readings must be of their type's kind, and
//! thousands of waiting controllers cost the rest of the API nothing.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trellis_guest_artifacts as guests;

use crate::fixtures::{classroom, device};
use crate::helpers::{Db, TestApp, message, on_both_databases, workspace_file};
use crate::uploads::model_parts;

on_both_databases!(
    commands_a_lost_answer_carried_come_again_until_acknowledged,
    a_newer_poll_replaces_the_waiting_one_which_answers_at_once,
    a_sequence_past_the_largest_number_is_refused_and_the_gateway_goes_on,
    a_reading_of_another_kind_than_its_type_declares_is_refused_by_name,
    a_batch_of_readings_goes_on_the_bus_in_order_or_not_at_all,
);

/// Puts a command for `controller` on the bus, as a deployment's app would.
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

/// The names of the commands in a poll's answer.
fn names(answer: &Value) -> Vec<&str> {
    answer
        .as_array()
        .unwrap_or_else(|| panic!("not a list of commands: {answer}"))
        .iter()
        .map(|c| c["command"]["name"].as_str().unwrap())
        .collect()
}

/// The delivery number of the `n`th command of a poll's answer, to acknowledge it with.
fn delivery(answer: &Value, n: usize) -> u64 {
    answer[n]["delivery"]
        .as_u64()
        .unwrap_or_else(|| panic!("no delivery number in {answer}"))
}

/// The `hall-temperature` sensor registered for the test, with its id and gateway token.
async fn hall_temperature(app: &TestApp, configurer: &str) -> (String, String) {
    let sensor = device(
        app,
        configurer,
        "sensors",
        "hall-temperature",
        "temperature",
        "north",
        "hall",
    )
    .await;
    (
        sensor["id"].as_str().unwrap().to_string(),
        sensor["token"].as_str().unwrap().to_string(),
    )
}

/// A controller registered for the test, with its id and gateway token.
async fn controller(app: &TestApp, configurer: &str, name: &str) -> (String, String) {
    let fan = device(app, configurer, "controllers", name, "fan", "north", "hall").await;
    (
        fan["id"].as_str().unwrap().to_string(),
        fan["token"].as_str().unwrap().to_string(),
    )
}

/// Polls as a device whose connection is lost once the answer starts to arrive: the gateway has
/// sent the commands, the device never reads them.
async fn poll_and_lose_the_answer(app: &TestApp, token: &str) {
    let address = app.address.strip_prefix("http://").unwrap();
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "GET /api/v1/device/commands?wait_ms=5000 HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut first = [0u8; 12];
    socket.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200", "the lost poll was answered");
    drop(socket);
}

async fn commands_a_lost_answer_carried_come_again_until_acknowledged(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let (fan, token) = controller(&app, &configurer, "hall-fan").await;

    command(&app, &fan, "on");
    poll_and_lose_the_answer(&app, &token).await;
    let (status, again) = app.get("/device/commands?wait_ms=0", &token).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(names(&again), ["on"], "the lost command comes again");
    let on = delivery(&again, 0);

    // Acknowledged, it is not handed out again; what came after it is, until acknowledged.
    command(&app, &fan, "off");
    command(&app, &fan, "on-again");
    let (_, next) = app
        .get(&format!("/device/commands?wait_ms=5000&ack={on}"), &token)
        .await;
    assert_eq!(names(&next), ["off", "on-again"], "{next}");
    let off = delivery(&next, 0);
    assert!(
        off > on,
        "deliveries are numbered in order: {on} then {off}"
    );
    let (_, rest) = app
        .get(&format!("/device/commands?wait_ms=0&ack={off}"), &token)
        .await;
    assert_eq!(names(&rest), ["on-again"], "{rest}");
    let last = delivery(&rest, 0);
    let (status, none) = app
        .get(&format!("/device/commands?wait_ms=200&ack={last}"), &token)
        .await;
    assert_eq!((status, none), (StatusCode::OK, json!([])));

    // The registry notes each command once, however often it was handed out.
    let (_, shown) = app.get(&format!("/controllers/{fan}"), &configurer).await;
    let mut noted: Vec<&str> = shown["last_commands"]
        .as_array()
        .unwrap_or_else(|| panic!("no commands noted: {shown}"))
        .iter()
        .map(|c| c["command"]["name"].as_str().unwrap())
        .collect();
    noted.sort_unstable();
    assert_eq!(noted, ["off", "on", "on-again"], "{shown}");
}

async fn a_newer_poll_replaces_the_waiting_one_which_answers_at_once(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let (fan, token) = controller(&app, &configurer, "hall-fan").await;

    // Two polls, the second sent a moment after the first. Which reaches the server first is
    // up to the scheduler, so the test asks only that whichever arrived first answers at once.
    let poll = || {
        let (client, url, token) = (
            app.client.clone(),
            app.url("/device/commands?wait_ms=20000"),
            token.clone(),
        );
        tokio::spawn(async move {
            let response = client.get(url).bearer_auth(token).send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        })
    };
    let started = Instant::now();
    let mut first = poll();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut second = poll();
    let (replaced, newer) = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::select! {
            answer = &mut first => (answer.unwrap(), second),
            answer = &mut second => (answer.unwrap(), first),
        }
    })
    .await
    .expect("the replaced poll answered at once");
    let (status, answer) = replaced;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(message(&answer).contains("newer poll"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // The newer poll is the one that gets the command.
    command(&app, &fan, "on");
    let (status, answer) = newer.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(names(&answer), ["on"]);
}

async fn a_sequence_past_the_largest_number_is_refused_and_the_gateway_goes_on(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let (_, token) = &hall_temperature(&app, &configurer).await;
    let reading = |sequence: Option<u64>| {
        let mut body = json!({ "value": { "kind": "number", "value": 20.5 } });
        if let Some(sequence) = sequence {
            body["sequence"] = json!(sequence);
        }
        body
    };

    let (status, answer) = app
        .post("/device/readings", token, reading(Some(u64::MAX)))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    // The next number would be past the largest there is.
    let (status, answer) = app.post("/device/readings", token, reading(None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(message(&answer).starts_with("sequence:"), "{answer}");
    // The sensor and the others go on.
    let (status, answer) = app.post("/device/readings", token, reading(Some(7))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let (status, answer) = app.post("/device/readings", token, reading(None)).await;
    assert_eq!(
        (status, &answer["sequence"]),
        (StatusCode::ACCEPTED, &json!(8))
    );
    let other = device(
        &app,
        &configurer,
        "sensors",
        "hall-humidity",
        "humidity",
        "north",
        "hall",
    )
    .await;
    let other = other["token"].as_str().unwrap();
    let (status, answer) = app.post("/device/readings", other, reading(None)).await;
    assert_eq!(
        (status, &answer["sequence"]),
        (StatusCode::ACCEPTED, &json!(1))
    );
}

async fn a_reading_of_another_kind_than_its_type_declares_is_refused_by_name(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let (id, token) = &hall_temperature(&app, &configurer).await;
    for (value, given) in [
        (json!({ "kind": "text", "value": "warm" }), "text"),
        (json!({ "kind": "numbers", "value": [1.0, 2.0] }), "numbers"),
        (json!({ "kind": "json", "value": "{\"c\": 20}" }), "json"),
    ] {
        let (status, answer) = app
            .post("/device/readings", token, json!({ "value": value }))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{given}: {answer}"
        );
        let said = message(&answer);
        for part in [
            "hall-temperature",
            id.as_str(),
            "temperature",
            "number",
            given,
        ] {
            assert!(said.contains(part), "`{part}` not named: {answer}");
        }
    }
    let (status, answer) = app
        .post(
            "/device/readings",
            token,
            json!({ "value": { "kind": "number", "value": 21.0 } }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let (_, shown) = app.get(&format!("/sensors/{id}"), &configurer).await;
    assert_eq!(shown["readings"], 1, "only the number was kept: {shown}");

    // A sensor type of kind `json` takes every value.
    let (status, answer) = app
        .post(
            "/sensor-types",
            &configurer,
            json!({ "name": "anything", "value": "json" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let any = device(
        &app,
        &configurer,
        "sensors",
        "hall-any",
        "anything",
        "north",
        "hall",
    )
    .await;
    let (status, answer) = app
        .post(
            "/device/readings",
            any["token"].as_str().unwrap(),
            json!({ "value": { "kind": "text", "value": "anything" } }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
}

/// How many controllers wait on their commands at once in the test below: well past the 512
/// threads of the runtime's blocking pool.
const WAITING_CONTROLLERS: usize = 2000;

/// The longest any other request may take while they wait: generous, as a behaviour check
/// on a busy machine, yet half the polls' 20 s wait, which a request stuck behind them takes.
const PROMPT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_waiting_polls_leave_logins_uploads_and_predictions_prompt() {
    let app = TestApp::spawn(Db::Sqlite).await.expect("SQLite");
    let configurer = classroom(&app).await;
    let scientist = app.user("dana", "data-scientist").await;
    let digits = model_parts("digits", guests::DIGITS_CONTRACT);
    let (status, answer) = app.upload("/models", &scientist, digits.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    let mut registering = tokio::task::JoinSet::new();
    let mut tokens = Vec::with_capacity(WAITING_CONTROLLERS);
    for n in 0..WAITING_CONTROLLERS {
        let (client, url, configurer) = (
            app.client.clone(),
            app.url("/controllers"),
            configurer.clone(),
        );
        registering.spawn(async move {
            let body = json!({ "name": format!("fan-{n}"), "type": "fan",
                "location": { "site": "north", "building": "main", "room": format!("room-{}", n % 50) } });
            let answer: Value = client
                .post(url)
                .bearer_auth(configurer)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let field = |name: &str| answer[name].as_str().unwrap_or_else(|| panic!("{answer}")).to_string();
            (field("id"), field("token"))
        });
        if registering.len() >= 32 {
            tokens.push(registering.join_next().await.unwrap().unwrap());
        }
    }
    tokens.extend(registering.join_all().await);

    let (first, last) = (tokens[0].0.clone(), tokens[tokens.len() - 1].0.clone());
    let mut polls = tokio::task::JoinSet::new();
    for (_, token) in tokens {
        let (client, url) = (
            app.client.clone(),
            app.url("/device/commands?wait_ms=20000"),
        );
        polls.spawn(async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status())
        });
    }
    // Time for every poll to reach the gateway and wait there: the last one sent gets a command.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        polls.try_join_next().is_none(),
        "a poll answered before its wait was over"
    );
    command(&app, &last, "on");
    handed_within(&app, &configurer, &last, Duration::from_secs(20)).await;

    let timed = |what: &'static str, started: Instant| {
        let took = started.elapsed();
        eprintln!("{what} with {WAITING_CONTROLLERS} polls waiting: {took:?}");
        assert!(
            took < PROMPT,
            "{what} took {took:?} with {WAITING_CONTROLLERS} polls waiting"
        );
    };
    let started = Instant::now();
    let login = tokio::time::timeout(PROMPT, app.login("dana", crate::helpers::PASSWORD)).await;
    timed("a login", started);
    assert!(login.is_ok());

    let toml = String::from_utf8(digits[0].1.clone()).unwrap();
    let second = digits
        .iter()
        .map(|(n, b)| {
            (
                *n,
                if *n == "model.toml" {
                    toml.replace("1.0.0", "2.0.0").into_bytes()
                } else {
                    b.clone()
                },
            )
        })
        .collect();
    let started = Instant::now();
    let upload = tokio::time::timeout(PROMPT, app.upload("/models", &scientist, second)).await;
    timed("an upload", started);
    let (status, answer) = upload.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    let started = Instant::now();
    let predict = tokio::time::timeout(
        PROMPT,
        app.client
            .post(app.url("/models/digits/1.0.0/predict"))
            .bearer_auth(&scientist)
            .header("content-type", "image/png")
            .body(workspace_file(
                "examples/models/digits/fixtures/images/digit-7.png",
            ))
            .send(),
    )
    .await;
    timed("a prediction", started);
    assert_eq!(predict.unwrap().unwrap().status(), StatusCode::OK);

    // The waiting controllers still get their commands.
    command(&app, &first, "on");
    handed_within(&app, &configurer, &first, PROMPT).await;
    polls.abort_all();
}

/// Waits until the gateway has handed `controller` a command, at most `limit`.
async fn handed_within(app: &TestApp, configurer: &str, controller: &str, limit: Duration) {
    let started = Instant::now();
    while started.elapsed() < limit {
        let (_, shown) = app
            .get(&format!("/controllers/{controller}"), configurer)
            .await;
        if shown["last_commands"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waiting controller {controller} did not get its command within {limit:?}");
}

async fn a_batch_of_readings_goes_on_the_bus_in_order_or_not_at_all(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let configurer = classroom(&app).await;
    let (id, token) = &hall_temperature(&app, &configurer).await;
    let mut reader = app
        .bus
        .subscribe(&trellis_bus::sensor_topic(id), "test")
        .unwrap();
    let number = |n: f64| json!({ "value": { "kind": "number", "value": n } });
    let batch = |values: Vec<Value>| json!({ "readings": values });

    let (status, answer) = app
        .post(
            "/device/readings/batch",
            token,
            batch(vec![number(20.0), number(20.5), number(21.0)]),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let sequences: Vec<u64> = answer
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {answer}"))
        .iter()
        .map(|a| a["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(sequences, [1, 2, 3], "{answer}");
    let on_the_bus: Vec<(u64, f64)> = (0..3)
        .map(|_| {
            let delivery = reader.next(Duration::from_secs(5)).expect("a reading");
            let record: Value = serde_json::from_slice(&delivery.payload).unwrap();
            (
                record["sequence"].as_u64().unwrap(),
                record["value"]["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(on_the_bus, [(1, 20.0), (2, 20.5), (3, 21.0)]);

    // One wrong reading refuses the batch, naming it; nothing of it reaches the bus.
    let wrong = json!({ "value": { "kind": "text", "value": "warm" } });
    let (status, answer) = app
        .post(
            "/device/readings/batch",
            token,
            batch(vec![number(22.0), wrong, number(23.0)]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let said = message(&answer);
    for part in ["reading 2 of 3", "hall-temperature", "text"] {
        assert!(said.contains(part), "`{part}` not named: {answer}");
    }
    let (status, answer) = app
        .post(
            "/device/readings/batch",
            token,
            batch(vec![number(1.0); 1001]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(message(&answer).contains("at most 1000"), "{answer}");
    assert!(
        reader.next(Duration::from_millis(300)).is_none(),
        "a refused batch reached the bus"
    );
    let (_, shown) = app.get(&format!("/sensors/{id}"), &configurer).await;
    assert_eq!(
        shown["readings"], 3,
        "only the first batch was kept: {shown}"
    );

    // Numbering goes on after the batch.
    let (status, answer) = app.post("/device/readings", token, number(24.0)).await;
    assert_eq!(
        (status, &answer["sequence"]),
        (StatusCode::ACCEPTED, &json!(4))
    );
}
