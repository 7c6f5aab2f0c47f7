//! The intruder alarm end to end through `trellis up`: a Python app and the person model's
//! Python contract, pushed and deployed with the CLI, and simulated devices at a door talking
//! to the device gateway as real ones would (`trellis simulate`): a camera sending the model's
//! fixture frames in turn, with and without a person, a motion sensor, and an alarm. The alarm
//! sounds, and a notification is recorded, for the frames with a person and for no other; the
//! frames without one are judged and pass in silence.

mod common;

use std::time::Duration;

use serde_json::{Value, json};

use common::*;

/// Whether each fixture frame shows a person, in the order of the frames' names (the order the
/// simulated camera sends them in).
fn frame_truths() -> Vec<bool> {
    let path = workspace("examples/models/person/fixtures/frames.json");
    let frames: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut frames: Vec<(String, bool)> = frames
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["person"].as_bool().unwrap(),
            )
        })
        .collect();
    frames.sort();
    frames.into_iter().map(|(_, person)| person).collect()
}

/// The frame numbers in `texts` that follow `prefix` (`... frame #17 ...` gives 17).
fn frames_after(texts: &[String], prefix: &str) -> Vec<u64> {
    texts
        .iter()
        .filter_map(|text| {
            let rest = &text[text.find(prefix)? + prefix.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

#[test]
fn the_alarm_sounds_for_a_person_at_the_door_and_stays_silent_otherwise() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let (_plane, url, admin) = running_platform(&dir.path().join("plane"), 1);

    admin.post(
        "/sensor-types",
        json!({ "name": "camera", "value": "bytes", "media_type": "image/png" }),
    );
    admin.post(
        "/sensor-types",
        json!({ "name": "motion", "value": "number" }),
    );
    admin.post(
        "/controller-types",
        json!({ "name": "alarm", "commands": [{ "name": "sound", "params": [
            { "name": "frame", "value": "number" },
            { "name": "confidence", "value": "number" }] }] }),
    );
    let door = json!({ "site": "home", "building": "house", "room": "front-door" });
    let register = |collection: &str, name: &str, kind: &str| {
        register_device(&admin, collection, name, kind, &door)
    };
    let (_, camera) = register("sensors", "door-camera", "camera");
    let (_, motion) = register("sensors", "door-motion", "motion");
    let (alarm, alarm_token) = register("controllers", "door-alarm", "alarm");

    let homes = tempfile::tempdir().unwrap();
    let me = Person::logged_in(homes.path(), &url, "admin", ADMIN_PASSWORD);
    me.ok(&[
        "model",
        "push",
        workspace("examples/models/person").to_str().unwrap(),
        "--contract",
        trellis_guest_artifacts::PERSON_CONTRACT,
    ]);
    me.ok(&[
        "app",
        "push",
        workspace("examples/apps/intruder-alarm").to_str().unwrap(),
        "--component",
        trellis_guest_artifacts::INTRUDER_ALARM,
    ]);
    me.ok(&["deploy", "intruder-alarm", "--at", "site=home"]);
    let deployment = admin.deployments()[0]["id"].as_str().unwrap().to_string();

    let frames = workspace("examples/models/person/fixtures/frames");
    let _devices = [
        simulate(&url, &alarm_token, &["controller"]),
        simulate(
            &url,
            &camera,
            &[
                "sensor",
                "--type",
                "camera",
                "--frames",
                frames.to_str().unwrap(),
                "--rate-hz",
                "2",
            ],
        ),
        // The motion wave: moving for half of each 6 s swing, still for the other half.
        simulate(
            &url,
            &motion,
            &["sensor", "--type", "motion", "--rate-hz", "4"],
        ),
    ];

    // Frame n (from 1) is the ((n - 1) mod count)th fixture frame.
    let truths = frame_truths();
    let shows_person = |frame: u64| truths[(frame as usize - 1) % truths.len()];
    let app_lines = || -> Vec<String> {
        admin.get("/logs?app=intruder-alarm&source=guest&limit=1000")["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| line["text"].as_str().unwrap().to_string())
            .collect()
    };
    let alarm_titles = || -> Vec<String> {
        admin
            .get(&format!("/deployments/{deployment}/notifications"))
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["title"].as_str())
            .filter(|title| title.starts_with("Person at the door"))
            .map(str::to_string)
            .collect()
    };
    // Both kinds of frame judged, and the alarm sounded at least twice.
    let (lines, titles) = wait_for(
        Duration::from_secs(300),
        "frames with and without a person judged, and the alarm sounded",
        || {
            let lines = app_lines();
            let titles = alarm_titles();
            let silent = frames_after(&lines, "no person in frame #");
            let sounded = frames_after(&lines, "person in frame #")
                .len()
                .saturating_sub(silent.len());
            (silent.len() >= 2 && sounded >= 2 && !titles.is_empty()).then_some((lines, titles))
        },
    );

    let silent = frames_after(&lines, "no person in frame #");
    let sounded: Vec<u64> = frames_after(
        &lines
            .iter()
            .filter(|l| l.contains("sounding the alarm"))
            .cloned()
            .collect::<Vec<_>>(),
        "person in frame #",
    );
    assert!(
        silent.iter().all(|&f| !shows_person(f)),
        "silent for a frame with a person: {silent:?} of {lines:#?}"
    );
    assert!(
        sounded.iter().all(|&f| shows_person(f)),
        "the alarm sounded for an empty frame: {sounded:?} of {lines:#?}"
    );
    let notified = frames_after(&titles, "frame #");
    assert!(
        !notified.is_empty() && notified.iter().all(|&f| shows_person(f)),
        "notified for {notified:?}: {titles:?}"
    );

    // The alarm heard each sounding, the last for a frame with a person.
    let state = wait_for(Duration::from_secs(30), "the alarm's state", || {
        let state = admin.get(&format!("/controllers/{alarm}"))["state"].clone();
        (state["commands"].as_u64() >= Some(2)).then_some(state)
    });
    assert_eq!(state["last-command"], "sound", "{state}");
    let frame = state["frame"].as_f64().unwrap() as u64;
    assert!(
        shows_person(frame),
        "the alarm sounded for frame {frame}: {state}"
    );
    assert!(state["confidence"].as_f64().unwrap() >= 0.5, "{state}");
    let running = &admin.get(&format!("/deployments/{deployment}"));
    assert_eq!(running["state"], "running", "{running}");
}
