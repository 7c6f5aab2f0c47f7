//! An app's state with real processes: the counter app counts its readings in its state and
//! tells a display the count after each one. Its count goes on across a `kill -9` of the
//! process running it and its restart (on the embedded bus, `trellis up` itself; on Kafka, the
//! `trellis node`), and across a move to another node after its node is killed (Kafka): every
//! reading is counted exactly once, so the count after reading `n` is always `n`, even where
//! the bus delivers a reading again and the app says so twice.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use common::*;

/// How often nodes checkpoint app state here: often, so a move redoes few readings.
const CHECKPOINT_MS: &str = "300";

/// `trellis simulate sensor` sending readings `first`.. `first + count - 1` at `rate_hz`.
fn sensor(url: &str, token: &str, first: u64, count: u64, rate_hz: u32) -> Process {
    Process(
        Command::new(env!("CARGO_BIN_EXE_trellis"))
            .args(["simulate", "sensor", "--pattern", "ramp", "--value", "1"])
            .args(["--step", "1", "--rate-hz", &rate_hz.to_string()])
            .args(["--count", &count.to_string()])
            .args(["--first-sequence", &first.to_string()])
            .args(["--control-plane", url])
            .env("TRELLIS_DEVICE_TOKEN", token)
            .stdout(Stdio::null())
            .spawn()
            .expect("starting a simulated sensor"),
    )
}

/// `trellis up` on `port` with its data in `data`, on `bus`, with `nodes` local nodes.
fn plane(data: &Path, port: u16, bus: &str, nodes: u32) -> Process {
    let listen = format!("127.0.0.1:{port}");
    let (plane, _) = up(
        &[
            "--bus",
            bus,
            "--listen",
            &listen,
            "--nodes",
            &nodes.to_string(),
            "--heartbeat-ms",
            &HEARTBEAT_MS.to_string(),
            "--missed-heartbeats",
            &MISSED_HEARTBEATS.to_string(),
            "--tick-ms",
            "200",
            "--checkpoint-ms",
            CHECKPOINT_MS,
        ],
        data,
    );
    plane
}

/// `trellis node` on Kafka, its data in `data`.
fn kafka_node(url: &str, token: &str, data: &Path, bus: &str) -> Process {
    node_with(
        url,
        token,
        data,
        &["--bus", bus, "--checkpoint-ms", CHECKPOINT_MS],
    )
}

/// Registers a sensor and a display and deploys the counter between them; returns the
/// deployment's id and the sensor's and the display's tokens.
fn deploy_counter(url: &str, configurer: &Api, user: &Api) -> (String, String, String) {
    configurer.post(
        "/controller-types",
        json!({ "name": "display", "commands": [{ "name": "count", "params": [
            { "name": "sequence", "value": "number" }, { "name": "count", "value": "number" },
            { "name": "noted", "value": "number" }] }] }),
    );
    Api::login(url, "pat", PASSWORD).upload_app(
        &workspace("tests/guests/counter/trellis.toml"),
        trellis_guest_artifacts::COUNTER,
    );
    let location = json!({ "site": "south", "building": "main", "room": "room-2" });
    let register = |collection: &str, name: &str, kind: &str| {
        let device = configurer.post(
            &format!("/{collection}"),
            json!({ "name": name, "type": kind, "location": location, "users": ["*"] }),
        );
        (
            device["id"].as_str().unwrap().to_string(),
            device["token"].as_str().unwrap().to_string(),
        )
    };
    let (sensor, sensor_token) = register("sensors", "counted", "temperature");
    let (display, display_token) = register("controllers", "tally", "display");
    let body = json!({ "app": "counter", "bindings": { "in": [sensor], "out": [display] } });
    let id = user.post("/deployments", body)["id"]
        .as_str()
        .unwrap()
        .to_string();
    (id, sensor_token, display_token)
}

/// The node deployment `id` runs on, once it runs.
fn running_on(user: &Api, id: &str) -> Option<String> {
    user.deployments()
        .into_iter()
        .find(|d| d["id"] == id && d["state"] == "running")
        .and_then(|d| d["node"].as_str().map(str::to_string))
}

/// What the display heard: reading sequence → every count said after it.
struct Tally {
    client: reqwest::blocking::Client,
    url: String,
    token: String,
    /// The delivery of the last command received, acknowledged by the next poll.
    ack: Option<u64>,
    counts: BTreeMap<u64, Vec<u64>>,
}

impl Tally {
    fn new(url: &str, token: &str) -> Tally {
        Tally {
            client: reqwest::blocking::Client::new(),
            url: format!("{url}/api/v1/device/commands?wait_ms=200"),
            token: token.to_string(),
            ack: None,
            counts: BTreeMap::new(),
        }
    }

    /// Takes what arrived; a control plane that is away counts as nothing arrived.
    fn poll(&mut self) {
        let Ok(commands) = self
            .client
            .get(match self.ack {
                Some(ack) => format!("{}&ack={ack}", self.url),
                None => self.url.clone(),
            })
            .bearer_auth(&self.token)
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json::<Vec<Value>>())
        else {
            std::thread::sleep(Duration::from_millis(200));
            return;
        };
        if let Some(last) = commands.last() {
            self.ack = last["delivery"].as_u64();
        }
        for record in commands {
            let params = record["command"]["params"].as_array().unwrap();
            let param = |name: &str| {
                params.iter().find(|p| p["name"] == name).unwrap()["value"]["value"]
                    .as_f64()
                    .unwrap() as u64
            };
            self.counts
                .entry(param("sequence"))
                .or_default()
                .push(param("count"));
        }
    }

    /// Polls until reading `sequence` has been counted.
    fn until(&mut self, sequence: u64, limit: Duration) {
        wait_for(
            limit,
            &format!("the count after reading {sequence}"),
            || {
                self.poll();
                self.counts.contains_key(&sequence).then_some(())
            },
        );
    }

    /// Checks that readings 1..=`last` were each counted, once: the count said after reading
    /// `n` is `n` every time it is said. Returns how many readings were said more than once.
    fn assert_counted_once(&self, last: u64) -> usize {
        let lost: Vec<u64> = (1..=last)
            .filter(|s| !self.counts.contains_key(s))
            .collect();
        assert!(lost.is_empty(), "readings never counted: {lost:?}");
        let wrong: Vec<(&u64, &Vec<u64>)> = self
            .counts
            .iter()
            .filter(|(sequence, counts)| counts.iter().any(|c| c != *sequence))
            .collect();
        assert!(
            wrong.is_empty(),
            "counts that are not their reading's sequence (reading → counts): {wrong:?}"
        );
        assert_eq!(
            self.counts.keys().next_back(),
            Some(&last),
            "readings never sent were counted"
        );
        self.counts.values().filter(|c| c.len() > 1).count()
    }
}

#[test]
fn the_count_goes_on_across_a_kill_of_its_process_and_its_restart() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let data = dir.path().join("plane");
    let mut up = plane(&data, port, "embedded", 1);
    let (_admin, configurer, user) = platform(&url);
    let (id, sensor_token, display_token) = deploy_counter(&url, &configurer, &user);
    wait_for(Duration::from_secs(120), "the counter running", || {
        running_on(&user, &id)
    });
    let mut tally = Tally::new(&url, &display_token);
    sensor(&url, &sensor_token, 1, 20, 50).0.wait().unwrap();
    tally.until(20, Duration::from_secs(60));
    // The app says the count while handling a reading, and its state keeps it right after:
    // give that a moment, since the embedded bus dies with the process and will not deliver
    // the reading again.
    std::thread::sleep(Duration::from_millis(500));

    up.kill();
    let _up = plane(&data, port, "embedded", 1);
    let user = wait_for(Duration::from_secs(30), "the control plane again", || {
        std::panic::catch_unwind(|| Api::login(&url, "eve", PASSWORD)).ok()
    });
    wait_for(
        Duration::from_secs(120),
        "the counter running again",
        || running_on(&user, &id),
    );
    sensor(&url, &sensor_token, 21, 20, 50).0.wait().unwrap();
    tally.until(40, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    tally.poll();
    let repeated = tally.assert_counted_once(40);
    assert_eq!(repeated, 0, "the embedded bus delivered readings again");

    let Some(brokers) = kafka_broker() else {
        return;
    };
    kafka_node_killed_and_restarted(&format!("kafka://{brokers}"));
}

/// On Kafka: the node process is killed while readings stream in, and started again.
fn kafka_node_killed_and_restarted(bus: &str) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _up = plane(&dir.path().join("plane"), port, bus, 0);
    let (_admin, configurer, user) = platform(&url);
    let token = configurer.post("/nodes", json!({ "name": "n1" }))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let node_dir = dir.path().join("n1");
    let mut node = kafka_node(&url, &token, &node_dir, bus);
    let (id, sensor_token, display_token) = deploy_counter(&url, &configurer, &user);
    wait_for(Duration::from_secs(120), "the counter running", || {
        running_on(&user, &id)
    });
    const READINGS: u64 = 200;
    let mut sending = sensor(&url, &sensor_token, 1, READINGS, 50);
    let mut tally = Tally::new(&url, &display_token);
    tally.until(READINGS / 3, Duration::from_secs(60));
    node.kill();
    let killed_after = tally.counts.len();
    let _node = kafka_node(&url, &token, &node_dir, bus);
    sending.0.wait().unwrap();
    tally.until(READINGS, Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(500));
    tally.poll();
    let repeated = tally.assert_counted_once(READINGS);
    eprintln!(
        "kafka: node killed after {killed_after} counts and restarted; {READINGS} readings, \
         {repeated} said twice (delivered again after the kill), none counted twice"
    );
}

#[test]
fn the_count_moves_with_the_deployment_when_its_node_is_killed() {
    let Some(brokers) = kafka_broker() else {
        return;
    };
    let _serial = one_at_a_time();
    let bus = format!("kafka://{brokers}");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _up = plane(&dir.path().join("plane"), port, &bus, 0);
    let (_admin, configurer, user) = platform(&url);
    let mut nodes: BTreeMap<String, Process> = ["n1", "n2"]
        .into_iter()
        .map(|name| {
            let token = configurer.post("/nodes", json!({ "name": name }))["token"]
                .as_str()
                .unwrap()
                .to_string();
            let node = kafka_node(&url, &token, &dir.path().join(name), &bus);
            (name.to_string(), node)
        })
        .collect();
    let (id, sensor_token, display_token) = deploy_counter(&url, &configurer, &user);
    let first = wait_for(Duration::from_secs(120), "the counter running", || {
        running_on(&user, &id)
    });
    const READINGS: u64 = 300;
    let mut sending = sensor(&url, &sensor_token, 1, READINGS, 100);
    let mut tally = Tally::new(&url, &display_token);
    tally.until(READINGS / 3, Duration::from_secs(60));
    nodes.get_mut(&first).unwrap().kill();
    let killed_after = tally.counts.len();
    let second = wait_for(
        Duration::from_secs(60),
        "the counter on the other node",
        || {
            tally.poll();
            running_on(&user, &id).filter(|n| *n != first)
        },
    );
    sending.0.wait().unwrap();
    tally.until(READINGS, Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(500));
    tally.poll();
    let repeated = tally.assert_counted_once(READINGS);
    eprintln!(
        "killed {first} after {killed_after} counts; moved to {second}; {READINGS} readings, \
         {repeated} handled again after the last checkpoint, none counted twice"
    );
}
