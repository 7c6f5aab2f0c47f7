//! `trellis up --demo`: the README's "run it" command, on a fresh registry. Readings from its
//! simulated classrooms reach the smart-classroom app on the embedded node, which asks the
//! comfort model and commands the simulated fans and air conditioners.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[test]
fn the_demo_runs_the_classroom_app_against_its_simulated_devices() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let components = Path::new(trellis_guest_artifacts::SMART_CLASSROOM)
        .parent()
        .unwrap();
    let _plane = Process(
        Command::new(env!("CARGO_BIN_EXE_trellis"))
            .args(["up", "--demo", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--examples")
            .arg(workspace("examples"))
            .arg("--components")
            .arg(components)
            .env("TRELLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdout(Stdio::null())
            .spawn()
            .expect("starting trellis up --demo"),
    );
    let admin = wait_for(Duration::from_secs(30), "the control plane", || {
        std::panic::catch_unwind(|| Api::login(&url, "admin", ADMIN_PASSWORD)).ok()
    });
    // Each controller hears from its classroom's app, which could only decide by asking the
    // comfort model (an app without its model fails every reading instead).
    let controllers = wait_for(
        Duration::from_secs(120),
        "every controller commanded",
        || {
            let list = admin.get("/controllers").as_array()?.clone();
            (list.len() == 4
                && list
                    .iter()
                    .all(|c| c["state"]["commands"].as_u64() >= Some(1)))
            .then_some(list)
        },
    );
    for controller in &controllers {
        let state = &controller["state"];
        assert!(
            state["last-command"] == "set-speed" || state["last-command"] == "set-mode",
            "{controller}"
        );
    }
    // The node says `running` at its next heartbeat, which may come after the first commands.
    let deployments = wait_for(Duration::from_secs(30), "both deployments running", || {
        let deployments = admin.deployments();
        deployments
            .iter()
            .all(|d| d["state"] == "running")
            .then_some(deployments)
    });
    assert_eq!(deployments.len(), 2);
    for deployment in deployments {
        assert!(
            !deployment["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("failed"),
            "{deployment}"
        );
    }
}
