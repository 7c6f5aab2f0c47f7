//! The person model with its Python contract, on every runtime this machine has: each camera
//! frame of the fixtures, decoded and prepared inside the component, gets the answer ONNX
//! Runtime's Python API gave for it; inputs the contract cannot read are refused naming why.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::models::{
    TOLERANCE, assert_close, backends, f32_tensor, f32s, fixture, floats, load, versions,
};
use serde_json::Value as Json;
use trellis_guest_artifacts::PERSON_CONTRACT;
use trellis_host::capabilities::{ModelRuntime, NotificationSink, RecentReadings};
use trellis_host::types::{Blob, Error, InstanceInfo, Urgency, Value};
use trellis_host::{CallError, Capabilities, InstanceLimits};
use trellis_models::{BackendChoice, PredictError};

fn answer(value: Value) -> Json {
    match value {
        Value::Json(text) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected a JSON answer, got {other:?}"),
    }
}

fn frame(file: &str) -> Value {
    let path = common::models::example_dir("person")
        .join("fixtures/frames")
        .join(file);
    Value::Bytes(Blob {
        media_type: "image/png".into(),
        data: std::fs::read(path).unwrap(),
    })
}

#[test]
fn person_model_reproduces_onnx_runtime_on_the_fixture_features() {
    let host = common::host();
    let frames = fixture("person", "frames.json");
    for backend in backends() {
        let model = load(&host, "person", PERSON_CONTRACT, backend);
        for frame in frames.as_array().unwrap() {
            let outputs = model
                .run(vec![f32_tensor(
                    "input",
                    &[1, 576],
                    &floats(&frame["features"]),
                )])
                .unwrap();
            assert_close(
                &f32s(&outputs[1]),
                &floats(&frame["onnxruntime"]["probabilities"]),
                &format!("{} on {backend:?}", frame["file"]),
            );
        }
    }
}

#[test]
fn the_python_contract_reads_each_frame_as_python_did() {
    let host = common::host();
    let frames = fixture("person", "frames.json");
    for backend in backends() {
        let model = load(&host, "person", PERSON_CONTRACT, backend);
        for expected in frames.as_array().unwrap() {
            let file = expected["file"].as_str().unwrap();
            let got = answer(model.predict(&frame(file)).unwrap());
            let reference = &expected["onnxruntime"];
            let probabilities = floats(&reference["probabilities"]);
            assert_eq!(
                got["person"],
                reference["label"] == 1,
                "{file} on {backend:?}: {got}"
            );
            let confidence = got["confidence"].as_f64().unwrap() as f32;
            let best = probabilities.iter().copied().fold(0.0, f32::max);
            assert!(
                (confidence - best).abs() <= TOLERANCE,
                "{file} on {backend:?}: confidence {confidence}, ONNX Runtime {best}"
            );
        }
    }
}

/// A batch (one inference for all frames) answers each frame as `predict` does alone.
#[test]
fn a_batch_of_frames_answers_each_as_predict_does() {
    let host = common::host();
    let frames = fixture("person", "frames.json");
    let inputs: Vec<Value> = frames
        .as_array()
        .unwrap()
        .iter()
        .map(|f| frame(f["file"].as_str().unwrap()))
        .collect();
    let model = load(&host, "person", PERSON_CONTRACT, BackendChoice::Auto);
    for (input, batched) in inputs.iter().zip(model.predict_batch(&inputs)) {
        let (alone, batched) = (
            answer(model.predict(input).unwrap()),
            answer(batched.unwrap()),
        );
        assert_eq!(alone["person"], batched["person"]);
        assert_close(
            &[batched["confidence"].as_f64().unwrap() as f32],
            &[alone["confidence"].as_f64().unwrap() as f32],
            "batched confidence",
        );
    }
}

#[test]
fn frames_the_contract_cannot_read_are_invalid_input_naming_why() {
    let host = Arc::new(common::host());
    let catalog = common::models::catalog(&host);
    let model = catalog.insert(load(&host, "person", PERSON_CONTRACT, BackendChoice::Auto));
    let refusal = |value: Value| match model.predict(&value) {
        Err(PredictError::Preprocess(CallError::Failed { message, .. })) => message,
        other => panic!("{value:?} should be refused, got {other:?}"),
    };
    let gif = Value::Bytes(Blob {
        media_type: "image/gif".into(),
        data: b"GIF89a\x01\x00\x01\x00".to_vec(),
    });
    assert!(refusal(gif).contains("neither PNG nor PGM"));
    // A PNG cut short: its first chunk ends early.
    let Value::Bytes(mut cut) = frame("01-person-empty.png") else {
        unreachable!()
    };
    cut.data.truncate(40);
    assert!(refusal(Value::Bytes(cut)).contains("cut short"));
    let tiny = Value::Bytes(Blob {
        media_type: "image/x-portable-graymap".into(),
        data: b"P2\n2 2\n255\n0 255\n128 64\n".to_vec(),
    });
    assert!(refusal(tiny).contains("it must be at least 24x24"));
    assert!(refusal(Value::Text("a person".into())).contains("expected a camera frame"));
    assert!(refusal(Value::Numbers(vec![0.5; 10])).contains("expected 576 numbers"));
    assert!(refusal(Value::Numbers(vec![2.0; 576])).contains("outside 0..1"));

    // An app hears the refusal as invalid input naming the model, and the model serves on.
    let app = catalog.for_app(&["person".to_string()], &versions(&[("person", "1.0.0")]));
    match app.predict("person", Value::Text("a person".into())) {
        Err(Error::InvalidInput(why)) => assert!(why.contains("model `person`"), "{why}"),
        other => panic!("text is not a frame, got {other:?}"),
    }
    let grey = answer(model.predict(&Value::Numbers(vec![0.5; 576])).unwrap());
    assert!(grey["person"].is_boolean(), "a flat grey frame: {grey}");
}

/// Keeps every notification's title.
#[derive(Default)]
struct Notified(Mutex<Vec<String>>);

impl NotificationSink for Notified {
    fn send(&self, _urgency: Urgency, title: &str, _body: &str) -> Result<(), Error> {
        self.0.lock().unwrap().push(title.to_string());
        Ok(())
    }
}

/// The intruder alarm (Python) with the person model (Python contract), in one host: after
/// each frame, a motion sounds the alarm and notifies exactly when ONNX Runtime saw a person in
/// that frame; stillness asks nothing, and a frame is judged once however often things move.
#[test]
fn the_intruder_alarm_sounds_exactly_for_the_frames_with_a_person() {
    let host = Arc::new(common::host());
    let catalog = common::models::catalog(&host);
    catalog.insert(load(&host, "person", PERSON_CONTRACT, BackendChoice::Auto));
    let instance = |role: &str| InstanceInfo {
        id: format!("door-{role}"),
        location: "home/house/front-door".into(),
        labels: vec![],
    };
    let sensors = Arc::new(RecentReadings::new(BTreeMap::from([
        ("camera".to_string(), vec![instance("camera")]),
        ("motion".to_string(), vec![instance("motion")]),
    ])));
    let alarm = Arc::new(common::RecordingControllers::new(&["alarm"]));
    let notified = Arc::new(Notified::default());
    let caps = Capabilities {
        sensors: sensors.clone(),
        controllers: alarm.clone(),
        models: catalog.for_app(&["person".to_string()], &versions(&[("person", "1.0.0")])),
        notifications: notified.clone(),
        log: Arc::new(common::RecordingLog::default()),
        ..Capabilities::default()
    };
    let limits = InstanceLimits {
        memory_bytes: 64 << 20,
        call_deadline: Duration::from_secs(10),
        ..InstanceLimits::default()
    };
    let app = common::load(&host, trellis_guest_artifacts::INTRUDER_ALARM);
    let mut app = app.instantiate(caps, limits).unwrap();
    app.init().unwrap();

    let mut sequence = 0;
    let mut feed = |app: &mut trellis_host::AppInstance, role: &str, value: Value| {
        sequence += 1;
        let reading = common::reading(role, sequence, value);
        sensors.record(&reading);
        app.on_reading(&reading).unwrap();
        sequence
    };
    let mut expected_titles = Vec::new();
    for expected in fixture("person", "frames.json").as_array().unwrap() {
        let file = expected["file"].as_str().unwrap();
        let sounded = alarm.sent().len();
        let frame_sequence = feed(&mut app, "camera", frame(file));
        feed(&mut app, "motion", Value::Number(0.0));
        assert_eq!(alarm.sent().len(), sounded, "{file}: no motion, no alarm");
        feed(&mut app, "motion", Value::Number(1.0));
        feed(&mut app, "motion", Value::Number(1.0));
        let person = expected["onnxruntime"]["label"] == 1;
        let sent = alarm.sent();
        if person {
            assert_eq!(sent.len(), sounded + 1, "{file}: one alarm, {sent:?}");
            let last = sent.last().unwrap();
            assert!(
                last.starts_with(&format!("alarm:sound:frame={frame_sequence},confidence=")),
                "{file}: {last}"
            );
            expected_titles.push(format!("Person at the door in frame #{frame_sequence}"));
        } else {
            assert_eq!(sent.len(), sounded, "{file}: no person, yet {sent:?}");
        }
    }
    assert_eq!(*notified.0.lock().unwrap(), expected_titles);
    assert!(!expected_titles.is_empty());
}
