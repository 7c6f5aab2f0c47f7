//! Readings from simulated devices through the device gateway and the bus, to apps on a node,
//! and their commands back to simulated controllers: each test once on the embedded bus of
//! `trellis up` and once on a real Kafka broker (`scripts/with-kafka`). Over Kafka, a node
//! killed mid-stream loses no reading.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use common::*;

/// A simulated sensor sending readings 1, 2, ... `count`, each valued its own sequence number.
fn counting_sensor(url: &str, token: &str, count: u64, rate_hz: u32) -> Process {
    let (count, rate_hz) = (count.to_string(), rate_hz.to_string());
    simulate(
        url,
        token,
        &[
            "sensor",
            "--pattern",
            "ramp",
            "--value",
            "1",
            "--step",
            "1",
            "--rate-hz",
            &rate_hz,
            "--count",
            &count,
        ],
    )
}

/// Registers a device; returns (id, token).
fn register(configurer: &Api, collection: &str, name: &str, kind: &str) -> (String, String) {
    let location = json!({ "site": "south", "building": "main", "room": "room-2" });
    let device = configurer.post(
        &format!("/{collection}"),
        json!({ "name": name, "type": kind, "location": location, "users": ["*"] }),
    );
    (
        device["id"].as_str().unwrap().to_string(),
        device["token"].as_str().unwrap().to_string(),
    )
}

fn controller_state(api: &Api, id: &str) -> Value {
    api.get(&format!("/controllers/{id}"))["state"].clone()
}

/// The buses to run a test on: the embedded one, and Kafka when a broker is there.
fn buses() -> Vec<String> {
    let mut buses = vec!["embedded".to_string()];
    buses.extend(kafka_broker().map(|brokers| format!("kafka://{brokers}")));
    buses
}

/// Runs `test` on each bus, one cluster at a time.
fn on_every_bus(test: fn(&str)) {
    for bus in buses() {
        let _serial = one_at_a_time();
        eprintln!("on the {bus} bus");
        test(&bus);
    }
}

/// A control plane on a bus with the small platform of [`platform`], and where its files go.
struct Cluster {
    dir: tempfile::TempDir,
    url: String,
    plane: Process,
    configurer: Api,
    user: Api,
}

impl Cluster {
    /// `trellis up --bus BUS --nodes NODES`, its data under `dir/plane`.
    fn start(bus: &str, nodes: u32) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let plane = control_plane_on_bus(&dir.path().join("plane"), port, nodes, bus);
        let (_admin, configurer, user) = platform(&url);
        Cluster {
            dir,
            url,
            plane,
            configurer,
            user,
        }
    }
}

#[test]
fn readings_reach_the_app_and_its_commands_reach_the_controllers() {
    on_every_bus(thermostat);
}

fn thermostat(bus: &str) {
    let Cluster {
        dir,
        url,
        plane: _plane,
        configurer,
        user,
    } = Cluster::start(bus, 1);
    let (sensor, sensor_token) = register(&configurer, "sensors", "south-t", "temperature");
    let (fan, fan_token) = register(&configurer, "controllers", "south-fan", "fan");
    let (ac, ac_token) = register(&configurer, "controllers", "south-ac", "air-conditioner");
    let deployment = user.post(
        "/deployments",
        json!({ "app": "classroom-thermostat", "bindings": { "temperature": [sensor], "fan": [fan], "ac": [ac] } }),
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(Duration::from_secs(120), "the thermostat running", || {
        user.deployments()
            .iter()
            .any(|d| d["id"] == deployment.as_str() && d["state"] == "running")
            .then_some(())
    });
    let _fan = simulate(&url, &fan_token, &["controller"]);
    let _ac = simulate(&url, &ac_token, &["controller"]);

    // Hot: the fan runs and the air conditioning cools.
    let mut hot = simulate(
        &url,
        &sensor_token,
        &[
            "sensor",
            "--pattern",
            "steady",
            "--value",
            "30",
            "--rate-hz",
            "20",
            "--count",
            "10",
        ],
    );
    wait_for(Duration::from_secs(60), "the AC cooling", || {
        let (fan, ac) = (
            controller_state(&configurer, &fan),
            controller_state(&configurer, &ac),
        );
        (ac["mode"] == "cool" && fan["speed"] == 2.0).then_some(())
    });
    hot.0.wait().unwrap();
    // Cool again, as a script says: both switch off.
    let script = dir.path().join("cooling.txt");
    std::fs::write(&script, "19.5\n18\n\n17.5\n18\n18\n").unwrap();
    simulate(
        &url,
        &sensor_token,
        &[
            "sensor",
            "--script",
            script.to_str().unwrap(),
            "--rate-hz",
            "20",
            "--first-sequence",
            "11",
        ],
    )
    .0
    .wait()
    .unwrap();
    wait_for(Duration::from_secs(60), "the AC and fan off", || {
        let (fan, ac) = (
            controller_state(&configurer, &fan),
            controller_state(&configurer, &ac),
        );
        (ac["mode"] == "off" && fan["speed"] == 0.0).then_some(())
    });
    assert_eq!(
        configurer.get(&format!("/sensors/{sensor}"))["readings"],
        15
    );
    // The history holds them, and the fan shows the commands it was handed, newest first.
    let history = configurer.get(&format!("/sensors/{sensor}/readings"));
    assert_eq!(history["total"], 15, "{history}");
    let sent = configurer.get(&format!("/controllers/{fan}"))["last_commands"].clone();
    let sent = sent.as_array().expect("the fan's last commands");
    assert!(!sent.is_empty() && sent.len() <= 5, "{sent:?}");
    assert!(
        sent.iter()
            .all(|c| c["deployment"] == deployment.as_str() && c["command"]["name"].is_string()),
        "{sent:?}"
    );
    let times: Vec<&str> = sent.iter().map(|c| c["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
}

/// Registers the display type and the echo app, which echoes every reading to its display.
fn echo_app(url: &str, configurer: &Api) {
    configurer.post(
        "/controller-types",
        json!({ "name": "display", "commands": [{ "name": "echo" }] }),
    );
    let developer = Api::login(url, "pat", PASSWORD);
    developer.upload_app(
        &workspace("tests/guests/echo/trellis.toml"),
        trellis_guest_artifacts::ECHO,
    );
}

#[test]
fn one_sensor_feeds_every_deployment_bound_to_it() {
    on_every_bus(shared_sensor);
}

fn shared_sensor(bus: &str) {
    let Cluster {
        dir: _dir,
        url,
        plane: _plane,
        configurer,
        user,
    } = Cluster::start(bus, 1);
    echo_app(&url, &configurer);
    let (sensor, sensor_token) = register(&configurer, "sensors", "shared-t", "temperature");
    let displays: Vec<(String, String)> = ["display-1", "display-2"]
        .iter()
        .map(|name| register(&configurer, "controllers", name, "display"))
        .collect();
    let mut deployments = Vec::new();
    for (display, _) in &displays {
        let body = json!({ "app": "echo", "bindings": { "in": [sensor], "out": [display] } });
        deployments.push(
            user.post("/deployments", body)["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    wait_for(
        Duration::from_secs(120),
        "both echo deployments running",
        || {
            user.deployments()
                .iter()
                .filter(|d| deployments.contains(&d["id"].as_str().unwrap().to_string()))
                .all(|d| d["state"] == "running")
                .then_some(())
        },
    );
    let _sims: Vec<Process> = displays
        .iter()
        .map(|(_, token)| simulate(&url, token, &["controller"]))
        .collect();

    const READINGS: u64 = 40;
    counting_sensor(&url, &sensor_token, READINGS, 50)
        .0
        .wait()
        .unwrap();
    for (display, _) in &displays {
        let state = wait_for(Duration::from_secs(60), "every reading echoed", || {
            let state = controller_state(&configurer, display);
            (state["commands"] == READINGS).then_some(state)
        });
        assert_eq!(state["sequence"], READINGS as f64, "{state}");
        assert_eq!(state["value"], READINGS as f64, "{state}");
    }
}

/// Kill -9 the node running a deployment while a simulated sensor sends numbered readings: the
/// deployment moves to the other node, resumes from its last committed reading, and every
/// reading reaches the display at least once.
#[test]
fn a_node_killed_mid_stream_loses_no_reading() {
    let Some(brokers) = kafka_broker() else {
        return;
    };
    let _serial = one_at_a_time();
    let bus = format!("kafka://{brokers}");
    let Cluster {
        dir,
        url,
        plane: _plane,
        configurer,
        user,
    } = Cluster::start(&bus, 0);
    echo_app(&url, &configurer);
    let mut nodes: std::collections::BTreeMap<String, Process> = ["n1", "n2"]
        .into_iter()
        .map(|name| {
            let token = configurer.post("/nodes", json!({ "name": name }))["token"]
                .as_str()
                .unwrap()
                .to_string();
            let node = node_on_bus(&url, &token, &dir.path().join(name), &bus);
            (name.to_string(), node)
        })
        .collect();
    let (sensor, sensor_token) = register(&configurer, "sensors", "counted-t", "temperature");
    let (display, display_token) = register(&configurer, "controllers", "tally", "display");
    let body = json!({ "app": "echo", "bindings": { "in": [sensor], "out": [display] } });
    let deployment = user.post("/deployments", body)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let placed_on = |state: &str| {
        user.deployments()
            .into_iter()
            .find(|d| d["id"] == deployment.as_str() && d["state"] == state)
            .and_then(|d| d["node"].as_str().map(str::to_string))
    };
    let first = wait_for(Duration::from_secs(120), "the echo app running", || {
        placed_on("running")
    });

    const READINGS: u64 = 300;
    let mut sensor = counting_sensor(&url, &sensor_token, READINGS, 100);
    // The test is the display: it polls the gateway for the echoes, as a device would.
    let mut tally = Tally::new(&url, &display_token);
    wait_for(
        Duration::from_secs(60),
        "a third of the readings echoed",
        || {
            tally.poll();
            (tally.distinct() >= READINGS as usize / 3).then_some(())
        },
    );
    nodes.get_mut(&first).unwrap().kill();
    let killed_at = tally.distinct();
    let second = wait_for(
        Duration::from_secs(60),
        "the deployment running elsewhere",
        || {
            tally.poll();
            placed_on("running").filter(|n| *n != first)
        },
    );
    sensor.0.wait().unwrap();
    wait_for(Duration::from_secs(60), "every reading echoed", || {
        tally.poll();
        (tally.distinct() == READINGS as usize).then_some(())
    });
    let lost: Vec<u64> = (1..=READINGS)
        .filter(|s| !tally.seen.contains_key(s))
        .collect();
    let duplicates: u64 = tally.seen.values().map(|n| n - 1).sum();
    eprintln!(
        "killed {first} after {killed_at} echoes; moved to {second}; {} readings, lost {}, \
         handled twice {duplicates}",
        READINGS,
        lost.len()
    );
    assert!(lost.is_empty(), "lost readings {lost:?}");
    assert!(
        tally.seen.keys().all(|s| (1..=READINGS).contains(s)),
        "echoes of readings never sent: {:?}",
        tally
            .seen
            .keys()
            .filter(|s| !(1..=READINGS).contains(*s))
            .collect::<Vec<_>>()
    );
}

/// The echoes a display received, counted by reading sequence.
struct Tally {
    client: reqwest::blocking::Client,
    url: String,
    token: String,
    /// The delivery of the last command received, acknowledged by the next poll.
    ack: Option<u64>,
    seen: std::collections::BTreeMap<u64, u64>,
}

impl Tally {
    fn new(url: &str, token: &str) -> Tally {
        Tally {
            client: reqwest::blocking::Client::new(),
            url: format!("{url}/api/v1/device/commands?wait_ms=200"),
            token: token.to_string(),
            ack: None,
            seen: Default::default(),
        }
    }

    fn poll(&mut self) {
        let commands: Vec<Value> = self
            .client
            .get(match self.ack {
                Some(ack) => format!("{}&ack={ack}", self.url),
                None => self.url.clone(),
            })
            .bearer_auth(&self.token)
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .unwrap();
        if let Some(last) = commands.last() {
            self.ack = last["delivery"].as_u64();
        }
        for record in commands {
            let params = record["command"]["params"].as_array().unwrap();
            let sequence =
                params.iter().find(|p| p["name"] == "sequence").unwrap()["value"]["value"]
                    .as_f64()
                    .unwrap() as u64;
            *self.seen.entry(sequence).or_default() += 1;
        }
    }

    fn distinct(&self) -> usize {
        self.seen.len()
    }
}

#[test]
fn a_bad_script_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.txt");
    std::fs::write(&script, "21.5\n22 degrees\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(["simulate", "sensor", "--token", "unused", "--script"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:2: not a JSON value: 22 degrees",
            script.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_bus_that_is_not_there_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let nobody = format!("kafka://127.0.0.1:{}", free_port());
    for (bus, said) in [
        (nobody.as_str(), "no Kafka broker answers at 127.0.0.1:"),
        (
            "kafak://127.0.0.1:9092",
            "bus URL `kafak://127.0.0.1:9092` names no bus",
        ),
    ] {
        let mut up = Process(
            Command::new(env!("CARGO_BIN_EXE_trellis"))
                .args(["up", "--listen", "127.0.0.1:0", "--bus", bus])
                .arg("--data-dir")
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let status = wait_for(Duration::from_secs(30), "trellis up to give up", || {
            up.0.try_wait().unwrap()
        });
        assert!(!status.success(), "started on {bus}");
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut up.0.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(stderr.contains(said), "{bus}: {stderr}");
    }
}
