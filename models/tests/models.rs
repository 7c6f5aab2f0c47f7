//! The example models through the whole pipeline, on every runtime this machine has: each must
//! reproduce the outputs ONNX Runtime's Python API computed for the committed fixtures.

mod common;

use std::sync::Arc;

use common::models::{
    TOLERANCE, assert_close, backends, digits_on_every_backend, f32_tensor, f32s, fixture, floats,
    i64s, load, versions,
};
use serde_json::Value as Json;
use trellis_guest_artifacts::{COMFORT_CONTRACT, DIGITS_CONTRACT, VISION_CONTRACT};
use trellis_host::capabilities::ModelRuntime;
use trellis_host::types::{Blob, Error, Value};
use trellis_models::{BackendChoice, ModelPipeline};

fn answer(value: Value) -> Json {
    match value {
        Value::Json(text) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected a JSON answer, got {other:?}"),
    }
}

/// The bare model on a batch of rows, against the fixture's labels and probabilities.
fn assert_batch_matches(model: &ModelPipeline, fixture: &Json, width: u32) {
    let rows: Vec<Vec<f32>> = fixture["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(floats)
        .collect();
    let flat: Vec<f32> = rows.concat();
    let outputs = model
        .run(vec![f32_tensor(
            "input",
            &[rows.len() as u32, width],
            &flat,
        )])
        .unwrap();
    let backend = model.backend();
    let expected = &fixture["onnxruntime"];
    let labels = i64s(&outputs[0]);
    let expected_labels: Vec<i64> = expected["label"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(labels, expected_labels, "labels on {backend}");
    let probabilities = f32s(&outputs[1]);
    let expected_probabilities: Vec<f32> = expected["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(floats)
        .collect();
    assert_close(
        &probabilities,
        &expected_probabilities,
        &format!("probabilities on {backend}"),
    );
}

#[test]
fn digits_model_reproduces_onnx_runtime_on_every_backend() {
    let host = common::host();
    let heldout = fixture("digits", "heldout.json");
    for backend in backends() {
        let model = load(&host, "digits", DIGITS_CONTRACT, backend);
        assert_batch_matches(&model, &heldout, 64);
    }
}

#[test]
fn comfort_model_reproduces_onnx_runtime_on_every_backend() {
    let host = common::host();
    let heldout = fixture("comfort", "heldout.json");
    for backend in backends() {
        let model = load(&host, "comfort", COMFORT_CONTRACT, backend);
        assert_batch_matches(&model, &heldout, 3);
    }
}

#[test]
fn digits_pipeline_reproduces_the_heldout_accuracy() {
    let host = common::host();
    let heldout = fixture("digits", "heldout.json");
    let metrics: Json = serde_json::from_str(
        &std::fs::read_to_string(common::models::example_dir("digits").join("metrics.json"))
            .unwrap(),
    )
    .unwrap();
    let recorded = metrics["heldout_accuracy"].as_f64().unwrap();
    let features = heldout["features"].as_array().unwrap();
    let truth = heldout["labels"].as_array().unwrap();
    for (digits, backend) in digits_on_every_backend() {
        let model = digits.load(&host, backend);
        let correct = features
            .iter()
            .zip(truth)
            .filter(|(row, truth)| {
                let numbers = row
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                answer(model.predict(&Value::Numbers(numbers)).unwrap())["label"] == **truth
            })
            .count();
        let accuracy = correct as f64 / features.len() as f64;
        assert!(
            (accuracy - recorded).abs() < 1e-6,
            "accuracy {accuracy} with the {} contract on {backend:?}; metrics.json records {recorded}",
            digits.language
        );
    }
}

#[test]
fn digits_pipeline_reads_images_as_python_did() {
    let host = common::host();
    let images = fixture("digits", "images.json");
    let dir = common::models::example_dir("digits").join("fixtures/images");
    for (digits, backend) in digits_on_every_backend() {
        let model = digits.load(&host, backend);
        let contract = digits.language;
        for image in images.as_array().unwrap() {
            let file = image["file"].as_str().unwrap();
            let png = std::fs::read(dir.join(file)).unwrap();
            let got = answer(
                model
                    .predict(&Value::Bytes(Blob {
                        media_type: "image/png".into(),
                        data: png,
                    }))
                    .unwrap(),
            );
            let expected = &image["onnxruntime"];
            assert_eq!(
                got["label"], expected["label"],
                "{file}, {contract} contract on {backend:?}"
            );
            assert_close(
                &floats(&got["scores"]),
                &floats(&expected["probabilities"]),
                &format!("{file}, {contract} contract on {backend:?}"),
            );
        }
    }
}

/// The same bytes as `random_image` in examples/models/vision/make_model.py.
fn random_image(seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761);
    if state == 0 {
        state = 1;
    }
    (0..224 * 224 * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

#[test]
fn vision_pipeline_reproduces_onnx_runtime_on_every_backend() {
    let host = common::host();
    let cases = fixture("vision", "random.json");
    for backend in backends() {
        let model = load(&host, "vision", VISION_CONTRACT, backend);
        for case in cases.as_array().unwrap() {
            let seed = case["seed"].as_u64().unwrap() as u32;
            let expected = floats(&case["onnxruntime"]["probabilities"]);
            let (label, confidence) = expected
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap();
            let got = answer(
                model
                    .predict(&Value::Bytes(Blob {
                        media_type: "application/octet-stream".into(),
                        data: random_image(seed),
                    }))
                    .unwrap(),
            );
            assert_eq!(got["label"], label, "seed {seed} on {backend:?}");
            let got_confidence = got["confidence"].as_f64().unwrap() as f32;
            assert!(
                (got_confidence - confidence).abs() <= TOLERANCE,
                "seed {seed} on {backend:?}: confidence {got_confidence}, ONNX Runtime {confidence}"
            );
        }
    }
}

#[test]
fn auto_prefers_onnx_runtime_when_its_library_is_there() {
    let host = common::host();
    let model = load(&host, "comfort", COMFORT_CONTRACT, BackendChoice::Auto);
    let expected = match common::models::runtimes().onnx_runtime() {
        Ok(()) => "onnx-runtime",
        Err(_) => "tract",
    };
    assert_eq!(model.backend().name(), expected);
}

#[test]
fn one_pipeline_serves_many_threads_alike() {
    let host = common::host();
    let model = Arc::new(load(&host, "digits", DIGITS_CONTRACT, BackendChoice::Auto));
    let heldout = fixture("digits", "heldout.json");
    let rows: Vec<Vec<f64>> = heldout["features"].as_array().unwrap()[..40]
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect();
    let alone: Vec<Value> = rows
        .iter()
        .map(|row| model.predict(&Value::Numbers(row.clone())).unwrap())
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for (row, expected) in rows.iter().zip(&alone) {
                    assert_eq!(
                        &model.predict(&Value::Numbers(row.clone())).unwrap(),
                        expected
                    );
                }
            });
        }
    });
}

#[test]
fn apps_reach_only_the_models_their_manifest_names() {
    let host = Arc::new(common::host());
    let catalog = common::models::catalog(&host);
    catalog.insert(load(&host, "digits", DIGITS_CONTRACT, BackendChoice::Auto));
    catalog.insert(load(
        &host,
        "comfort",
        COMFORT_CONTRACT,
        BackendChoice::Auto,
    ));
    let app = catalog.for_app(
        &["comfort".to_string(), "weather".to_string()],
        &versions(&[
            ("comfort", "1.0.0"),
            ("digits", "1.0.0"),
            ("weather", "1.0.0"),
        ]),
    );

    let answer = app
        .predict("comfort", Value::Numbers(vec![31.0, 60.0, 30.0]))
        .unwrap();
    assert!(matches!(answer, Value::Json(_)), "{answer:?}");
    match app.predict("digits", Value::Numbers(vec![0.0; 64])) {
        Err(Error::UnknownModel(why)) => assert!(why.contains("manifest"), "{why}"),
        other => panic!("digits is not in the manifest, got {other:?}"),
    }
    match app.predict("weather", Value::Numbers(vec![1.0])) {
        Err(Error::UnknownModel(why)) => assert!(why.contains("weather"), "{why}"),
        other => panic!("weather is not loaded, got {other:?}"),
    }
}

/// The commands the smart-classroom app sends for an action of the comfort model.
fn commands_for(action: &str) -> Vec<String> {
    match action {
        "off" => vec![
            "fan:set-speed:speed=0".into(),
            "ac:set-mode:mode=off".into(),
        ],
        "fan" => vec![
            "fan:set-speed:speed=2".into(),
            "ac:set-mode:mode=off".into(),
        ],
        "cool" => vec![
            "fan:set-speed:speed=2".into(),
            "ac:set-mode:mode=cool,setpoint=22".into(),
        ],
        other => panic!("the comfort model has no action `{other}`"),
    }
}

#[test]
fn an_app_asks_a_model_through_inference_and_acts_on_the_answer() {
    let host = Arc::new(common::host());
    let catalog = common::models::catalog(&host);
    let comfort = catalog.insert(load(
        &host,
        "comfort",
        COMFORT_CONTRACT,
        BackendChoice::Auto,
    ));
    let action = |climate: [f64; 3]| {
        answer(comfort.predict(&Value::Numbers(climate.to_vec())).unwrap())["action"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (hot, cold) = ([31.0, 65.0, 30.0], [17.0, 40.0, 0.0]);
    let (hot_action, cold_action) = (action(hot), action(cold));
    assert_ne!(
        hot_action, cold_action,
        "the two rooms should need different things"
    );

    let app = common::load(&host, trellis_guest_artifacts::SMART_CLASSROOM);
    let rec = common::recorded(&[]);
    let caps = trellis_host::Capabilities {
        models: catalog.for_app(&["comfort".to_string()], &versions(&[("comfort", "1.0.0")])),
        ..rec.caps
    };
    // Each call waits on the model, which an unoptimised test build runs slowly.
    let limits = trellis_host::InstanceLimits {
        call_deadline: std::time::Duration::from_secs(2),
        ..common::quick_limits()
    };
    let mut instance = app.instantiate(caps, limits).unwrap();
    instance.init().unwrap();
    // After each reading the app knows the latest of each role; where the model's answer for
    // that changes, the app must have sent that answer's commands.
    let mut known: [Option<f64>; 3] = [None; 3];
    let mut last_action: Option<String> = None;
    let mut expected = Vec::new();
    let roles = ["temperature", "humidity", "occupancy"];
    for (sequence, (slot, value)) in [hot, cold]
        .iter()
        .flat_map(|climate| climate.iter().copied().enumerate())
        .enumerate()
    {
        instance
            .on_reading(&common::reading(
                roles[slot],
                sequence as u64,
                Value::Number(value),
            ))
            .unwrap();
        known[slot] = Some(value);
        if let [Some(t), Some(h), Some(o)] = known {
            let now = action([t, h, o]);
            if last_action.as_ref() != Some(&now) {
                expected.extend(commands_for(&now));
                last_action = Some(now);
            }
        }
        assert_eq!(
            rec.controllers.sent(),
            expected,
            "after {} = {value}",
            roles[slot]
        );
    }
    assert_eq!(last_action, Some(cold_action));
}

/// A batch through the pipeline (one inference for its rows) answers each input as `predict`
/// answers it alone (within the runtimes' tolerance), on every runtime; an input the contract refuses keeps its own error and
/// leaves the others their answers.
#[test]
fn digits_batch_answers_each_input_as_predict_does() {
    let host = common::host();
    let heldout = fixture("digits", "heldout.json");
    let mut inputs: Vec<Value> = heldout["features"].as_array().unwrap()[..40]
        .iter()
        .map(|row| {
            Value::Numbers(
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect(),
            )
        })
        .collect();
    inputs.insert(7, Value::Numbers(vec![1.0; 3]));
    inputs.insert(20, Value::Text("seven".into()));
    for (digits, backend) in digits_on_every_backend() {
        let model = digits.load(&host, backend);
        let backend = format!("{} contract on {backend:?}", digits.language);
        let batch = model.predict_batch(&inputs);
        assert_eq!(batch.len(), inputs.len());
        for (input, batched) in inputs.iter().zip(batch) {
            match (model.predict(input), batched) {
                (Ok(alone), Ok(batched)) => {
                    let (alone, batched) = (answer(alone), answer(batched));
                    assert_eq!(alone["label"], batched["label"], "{backend}");
                    // A batch may sum in another order than a single row: the last digit of
                    // a probability may differ, within the runtimes' tolerance.
                    assert_close(
                        &floats(&batched["scores"]),
                        &floats(&alone["scores"]),
                        &format!("{backend} batched scores"),
                    );
                }
                (Err(alone), Err(batched)) => assert_eq!(alone.to_string(), batched.to_string()),
                (alone, batched) => panic!("{backend}: alone {alone:?}, in a batch {batched:?}"),
            }
        }
    }
}
