//! An ONNX Runtime model's worker process that dies (killed, as a crash inside ONNX Runtime
//! would end it) takes only that model's next prediction down: it is answered 503 naming how the
//! worker ended, the prediction after it starts a new worker and is answered as before, and
//! `trellis up` goes on. Runs where `ORT_DYLIB_PATH` names ONNX Runtime (the test script sets it).

mod common;

use std::time::Duration;

use serde_json::{Value, json};
use trellis_guest_artifacts::DIGITS_CONTRACT;

use common::{ADMIN_PASSWORD, Api, PASSWORD, Person, wait_for, workspace};

const PREDICT: &str = "/models/digits/1.0.0/predict";

/// The first held-out digit's 64 features.
fn a_digit() -> Value {
    let heldout: Value = serde_json::from_slice(
        &std::fs::read(workspace("examples/models/digits/fixtures/heldout.json")).unwrap(),
    )
    .unwrap();
    heldout["features"][0].clone()
}

#[test]
fn a_killed_model_worker_fails_one_prediction_clearly_and_the_next_gets_a_new_worker() {
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        assert!(
            std::env::var("TRELLIS_REQUIRE_ONNX_RUNTIME").as_deref() != Ok("1"),
            "TRELLIS_REQUIRE_ONNX_RUNTIME is set but ORT_DYLIB_PATH is not"
        );
        eprintln!("skipped: no ORT_DYLIB_PATH, so no model runs in a worker process");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (plane, url) = common::up(
        &["--listen", "127.0.0.1:0", "--nodes", "0"],
        &root.path().join("data"),
    );
    let admin = wait_for(Duration::from_secs(30), "the control plane", || {
        std::panic::catch_unwind(|| Api::login(&url, "admin", ADMIN_PASSWORD)).ok()
    });
    admin.post(
        "/users",
        json!({ "name": "dana", "password": PASSWORD, "role": "data-scientist" }),
    );
    let dana = Person::logged_in(root.path(), &url, "dana", PASSWORD);
    dana.push_example_model("digits", DIGITS_CONTRACT);
    let dana_api = Api::login(&url, "dana", PASSWORD);

    let answered = dana_api.post(PREDICT, a_digit());
    let workers = plane.model_workers();
    assert_eq!(
        workers.len(),
        1,
        "digits in a worker of its own: {workers:?}"
    );
    let killed = workers[0];
    let kill = std::process::Command::new("kill")
        .args(["-KILL", &killed.to_string()])
        .status()
        .unwrap();
    assert!(kill.success(), "kill -KILL {killed}: {kill}");
    wait_for(Duration::from_secs(10), "the worker gone", || {
        (!plane.model_workers().contains(&killed)).then_some(())
    });

    let (status, body) = dana_api.try_post(PREDICT, a_digit());
    assert_eq!(status, reqwest::StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("worker process") && error.contains("signal 9"),
        "the answer does not say how the worker ended: {body}"
    );

    assert_eq!(dana_api.post(PREDICT, a_digit()), answered);
    let workers = plane.model_workers();
    assert!(
        workers.len() == 1 && workers[0] != killed,
        "a new worker for digits: {workers:?} (the killed one was {killed})"
    );
    assert_eq!(
        admin.get("/auth/me")["name"],
        "admin",
        "the platform goes on"
    );
}
