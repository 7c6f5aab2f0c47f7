//! `trellis watch`, `trellis node load` and `trellis schedule preview` against `trellis up` with
//! its node in-process: the node's heartbeats show live and in its recent load, and a cron
//! expression's next starts are listed (or its fault named).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use serde_json::Value;

#[test]
fn node_heartbeats_are_watched_and_schedules_previewed() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _plane = control_plane(&dir.path().join("plane"), port, 1);
    let url = format!("http://127.0.0.1:{port}");
    let admin = Person::new(dir.path(), "admin");
    wait_for(Duration::from_secs(30), "logging in", || {
        let args = [
            "login",
            "--url",
            &url,
            "--user",
            "admin",
            "--password",
            ADMIN_PASSWORD,
        ];
        admin.trellis(&args).status.success().then_some(())
    });

    // The node's heartbeats, as they come.
    let mut watch = Process(
        Command::new(env!("CARGO_BIN_EXE_trellis"))
            .args(["--json", "watch", "--node", "local-1"])
            .env("TRELLIS_HOME", &admin.home)
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting trellis watch"),
    );
    let stdout = watch.0.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut events = Vec::new();
    while events.len() < 2 {
        let line = received
            .recv_timeout(Duration::from_secs(20))
            .expect("trellis watch printed the node's heartbeats");
        events.push(serde_json::from_str::<Value>(&line).expect("a JSON event"));
    }
    for event in &events {
        assert_eq!(event["type"], "node", "{event}");
        assert_eq!(event["name"], "local-1", "{event}");
        assert_eq!(event["state"], "up", "{event}");
        assert!(
            event["memory"]["total_mb"].as_f64().unwrap() > 0.0,
            "{event}"
        );
    }
    watch.kill();

    // The same heartbeats are in the node's recent load.
    let load: Value =
        serde_json::from_str(&admin.ok(&["--json", "node", "load", "local-1"])).unwrap();
    let points = load.as_array().expect("the load's points");
    assert!(points.len() >= 2, "{load}");
    let table = admin.ok(&["node", "load", "local-1"]);
    assert!(table.contains("CPU %"), "{table}");

    // Watching nothing, or an unknown node, is refused with the reason.
    let nothing = admin.refused(&["watch"]);
    assert!(nothing.contains("name what to watch"), "{nothing}");
    let unknown = admin.refused(&["watch", "--node", "vm-9"]);
    assert!(unknown.contains("no node `vm-9`"), "{unknown}");

    // Schedules.
    let starts = admin.ok(&["schedule", "preview", "15 6 * * *", "--count", "3"]);
    let starts: Vec<chrono::DateTime<chrono::Utc>> =
        starts.lines().map(|line| line.parse().unwrap()).collect();
    assert_eq!(starts.len(), 3, "{starts:?}");
    for pair in starts.windows(2) {
        assert_eq!((pair[1] - pair[0]).num_hours(), 24, "{starts:?}");
    }
    assert!(starts[0] > chrono::Utc::now());
    let bad = admin.refused(&["schedule", "preview", "every day"]);
    assert!(
        bad.contains("`every day` is not a cron expression"),
        "{bad}"
    );
}
