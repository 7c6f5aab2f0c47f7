//! The process's own log on stderr: `--log-format json` for collectors, `RUST_LOG` to filter.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{ADMIN_PASSWORD, Process, free_port};

/// Starts `trellis ARGS` with stderr piped; its lines arrive on the returned channel.
fn start(args: &[&str], rust_log: Option<&str>) -> (Process, mpsc::Receiver<String>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trellis"));
    command
        .args(args)
        .env("TRELLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(filter) = rust_log {
        command.env("RUST_LOG", filter);
    }
    let mut child = command.spawn().expect("starting trellis");
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (Process(child), received)
}

/// The first line `accept` takes within 60 s, with every line seen before it.
fn first_line(
    lines: &mpsc::Receiver<String>,
    mut accept: impl FnMut(&str) -> bool,
) -> (String, Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if accept(&line) => return (line, seen),
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("no such line on stderr; it said:\n{}", seen.join("\n"));
}

#[test]
fn json_events_name_their_source_for_the_control_plane_and_its_node_processes() {
    let _cluster = common::one_at_a_time();
    let data = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let (_up, lines) = start(
        &[
            "--log-format",
            "json",
            "up",
            "--nodes",
            "2",
            "--heartbeat-ms",
            "250",
            "--listen",
            &listen,
            "--data-dir",
            data.path().to_str().unwrap(),
        ],
        None,
    );
    let mut up = std::collections::BTreeSet::new();
    let (_, before) = first_line(&lines, |line| {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON event ({e}): {line}"));
        assert!(
            event["timestamp"].is_string() && event["level"].is_string(),
            "{line}"
        );
        if event["target"]
            .as_str()
            .is_some_and(|target| target.starts_with("trellis_control::"))
            && let Some(name) = event["fields"]["message"]
                .as_str()
                .and_then(|m| m.strip_prefix("node "))
                .and_then(|m| m.strip_suffix(" is up"))
        {
            up.insert(name.to_string());
        }
        up.len() == 2
    });
    assert_eq!(
        up.into_iter().collect::<Vec<_>>(),
        ["local-1", "local-2"],
        "both nodes, the embedded one and the process, are seen to come up; before: {before:?}"
    );
}

#[test]
fn rust_log_chooses_what_is_shown() {
    let _cluster = common::one_at_a_time();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let (_up, _) = common::up(
        &["--nodes", "0", "--listen", &format!("127.0.0.1:{port}")],
        data.path(),
    );
    let url = format!("http://127.0.0.1:{port}");
    let node_data = tempfile::tempdir().unwrap();
    let node_args = [
        "node",
        "--control-plane",
        url.as_str(),
        "--token",
        "not-a-token",
        "--data-dir",
        node_data.path().to_str().unwrap(),
    ];

    // The default filter shows the node's refusal, naming where it comes from.
    let (_node, lines) = start(&node_args, None);
    let (refused, _) = first_line(&lines, |line| line.contains("heartbeat refused"));
    assert!(
        refused.contains("ERROR") && refused.contains("trellis_node"),
        "{refused}"
    );

    // A filter that admits only the node's debug detail shows that refusal too, and nothing
    // from other crates.
    let (_node, lines) = start(&node_args, Some("trellis_node=debug"));
    let (_, before) = first_line(&lines, |line| line.contains("heartbeat refused"));
    for line in before {
        assert!(
            line.contains("trellis_node"),
            "another crate's event: {line}"
        );
    }
}
