//! `trellis logs` against `trellis up --demo`: the demo's apps, run by the node inside `trellis
//! up`, ship their lines to the control plane, and the command finds them, follows new ones
//! (`-f`) and downloads them (`--format`).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;

fn trellis(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(args)
        .env("TRELLIS_HOME", home)
        .output()
        .expect("running trellis")
}

fn ok(home: &Path, args: &[&str]) -> String {
    let output = trellis(home, args);
    assert!(
        output.status.success(),
        "trellis {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_demos_logs_are_listed_followed_and_downloaded() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let components = Path::new(trellis_guest_artifacts::SMART_CLASSROOM)
        .parent()
        .unwrap();
    let examples = workspace("examples");
    let (_plane, url) = up(
        &[
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--examples",
            examples.to_str().unwrap(),
            "--components",
            components.to_str().unwrap(),
        ],
        &dir.path().join("plane"),
    );
    let home = dir.path().join("home");
    wait_for(Duration::from_secs(30), "logging in", || {
        trellis(
            &home,
            &[
                "login",
                "--url",
                &url,
                "--user",
                "admin",
                "--password",
                ADMIN_PASSWORD,
            ],
        )
        .status
        .success()
        .then_some(())
    });

    // The smart-classroom app's own lines, from the node in `trellis up`.
    let listed = wait_for(Duration::from_secs(180), "the app's lines", || {
        let out = ok(
            &home,
            &[
                "logs",
                "--app",
                "smart-classroom",
                "--source",
                "guest",
                "-n",
                "5",
            ],
        );
        out.contains("humidity").then_some(out)
    });
    for line in listed.lines() {
        assert!(line.contains(" INFO  local-1/dep_"), "{listed}");
    }
    let found = ok(
        &home,
        &[
            "logs", "--grep", "people", "--level", "info", "--since", "10m",
        ],
    );
    assert!(found.contains("people"), "{found}");

    // Following prints lines stored after it began.
    let mut follow = Process(
        Command::new(env!("CARGO_BIN_EXE_trellis"))
            .args([
                "logs",
                "-f",
                "-n",
                "0",
                "--app",
                "smart-classroom",
                "--json",
            ])
            .env("TRELLIS_HOME", &home)
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting trellis logs -f"),
    );
    let stdout = follow.0.stdout.take().unwrap();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if sender.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let started = chrono::Utc::now();
    let line = lines
        .recv_timeout(Duration::from_secs(60))
        .expect("a new line while following");
    let line: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(line["app"], "smart-classroom", "{line}");
    let time = chrono::DateTime::parse_from_rfc3339(line["time"].as_str().unwrap()).unwrap();
    assert!(
        time >= started - chrono::Duration::seconds(5),
        "an old line: {line}"
    );
    follow.kill();

    // Downloads, whole, to stdout.
    let csv = ok(
        &home,
        &["logs", "--format", "csv", "--app", "smart-classroom"],
    );
    assert!(
        csv.starts_with(
            "id,time,level,source,event,node,deployment,instance,app,app_version,text\n"
        ),
        "{csv}"
    );
    assert!(csv.lines().count() > 2, "{csv}");
    let ndjson = ok(&home, &["logs", "--format", "ndjson", "--grep", "deployed"]);
    assert!(!ndjson.is_empty());
    for line in ndjson.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(row["event"], "deployed", "{row}");
    }
}
