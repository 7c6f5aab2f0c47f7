//! Model and app uploads: checked before anything is stored, served back by hash, and the
//! inference endpoint that runs a model's pipeline.

use reqwest::StatusCode;
use serde_json::Value;
use trellis_guest_artifacts as guests;

use crate::fixtures::classroom;
use crate::helpers::{Db, TestApp, message, on_both_databases, workspace_file};

on_both_databases!(
    a_model_package_is_checked_stored_and_served,
    an_app_is_checked_against_its_world_and_the_registry,
    the_python_digits_contract_is_a_second_version_answering_as_the_first,
);

/// The parts of a model package from `examples/models/<name>`.
pub fn model_parts(name: &str, contract: &str) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "model.toml",
            workspace_file(&format!("examples/models/{name}/model.toml")),
        ),
        (
            "model.onnx",
            workspace_file(&format!("examples/models/{name}/model.onnx")),
        ),
        ("contract.wasm", guests::read(contract)),
    ]
}

/// The parts of an app upload from `examples/apps/<name>`.
pub fn app_parts(name: &str, component: &str) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "trellis.toml",
            workspace_file(&format!("examples/apps/{name}/trellis.toml")),
        ),
        ("app.wasm", guests::read(component)),
    ]
}

fn replace(
    parts: &[(&'static str, Vec<u8>)],
    name: &str,
    bytes: Vec<u8>,
) -> Vec<(&'static str, Vec<u8>)> {
    parts
        .iter()
        .map(|(n, b)| (*n, if *n == name { bytes.clone() } else { b.clone() }))
        .collect()
}

async fn a_model_package_is_checked_stored_and_served(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let scientist = app.user("dana", "data-scientist").await;
    let digits = model_parts("digits", guests::DIGITS_CONTRACT);
    let (status, model) = app.upload("/models", &scientist, digits.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    assert_eq!(
        (model["name"].as_str(), model["version"].as_str()),
        (Some("digits"), Some("1.0.0"))
    );
    assert_eq!(model["inputs"][0], "input: fp32[-1, 64]");
    assert_eq!(model["uploaded_by"], "dana");

    // The store holds exactly the uploaded bytes, by hash.
    let onnx = app
        .client
        .get(app.url(&format!(
            "/artifacts/{}",
            model["onnx_sha256"].as_str().unwrap()
        )))
        .bearer_auth(&scientist)
        .send()
        .await
        .unwrap();
    assert_eq!(onnx.bytes().await.unwrap().to_vec(), digits[1].1);

    // The inference endpoint runs the whole pipeline: PNG in, the reference answer out.
    let user = app.user("eve", "end-user").await;
    let images: Value = serde_json::from_slice(&workspace_file(
        "examples/models/digits/fixtures/images.json",
    ))
    .unwrap();
    for image in images.as_array().unwrap().iter().take(3) {
        let file = image["file"].as_str().unwrap();
        let response = app
            .client
            .post(app.url("/models/digits/latest/predict"))
            .bearer_auth(&user)
            .header("content-type", "image/png")
            .body(workspace_file(&format!(
                "examples/models/digits/fixtures/images/{file}"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(
            answer["label"], image["onnxruntime"]["label"],
            "{file}: {answer}"
        );
    }
    let (status, answer) = app
        .post(
            "/models/digits/1.0.0/predict",
            &user,
            Value::String("hello".into()),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(message(&answer).contains("preprocess"), "{answer}");
    let (status, _) = app
        .post("/models/digits/9.9.9/predict", &user, Value::Null)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Bad packages: each names the file at fault and stores nothing.
    let before = app.snapshot().await;
    let toml = String::from_utf8(digits[0].1.clone()).unwrap();
    let cases = [
        (
            replace(
                &digits,
                "model.toml",
                toml.replace("version = \"1.0.0\"", "version = \"2.0.0\"")
                    .replace("[-1, 64]", "[-1, 32]")
                    .into_bytes(),
            ),
            "model.toml does not match model.onnx",
        ),
        (
            replace(&digits, "model.toml", b"name = ".to_vec()),
            "model.toml",
        ),
        (
            replace(
                &digits,
                "model.toml",
                toml.replace("1.0.0", "2.0.0").into_bytes(),
            )
            .into_iter()
            .map(|(n, b)| {
                (
                    n,
                    if n == "model.onnx" {
                        b"not onnx".to_vec()
                    } else {
                        b
                    },
                )
            })
            .collect(),
            "model.onnx",
        ),
        (
            replace(
                &digits,
                "contract.wasm",
                guests::read(guests::CLASSROOM_THERMOSTAT),
            )
            .into_iter()
            .map(|(n, b)| {
                (
                    n,
                    if n == "model.toml" {
                        toml.replace("1.0.0", "2.0.0").into_bytes()
                    } else {
                        b
                    },
                )
            })
            .collect(),
            "contract.wasm",
        ),
        (digits.clone(), "already exists"),
        (digits[..2].to_vec(), "lacks contract.wasm"),
        (
            [digits.clone(), vec![("notes.txt", b"hi".to_vec())]].concat(),
            "unexpected part `notes.txt`",
        ),
    ];
    for (parts, expected) in cases {
        let (status, answer) = app.upload("/models", &scientist, parts).await;
        assert!(status.is_client_error(), "{expected}: {status} {answer}");
        assert!(
            message(&answer).contains(expected),
            "wanted `{expected}`: {answer}"
        );
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused upload left something behind"
    );

    let (_, versions) = app.get("/models/digits", &user).await;
    assert_eq!(versions.as_array().unwrap().len(), 1);
}

/// digits 1.1.0 is the example's Python contract with the same model.onnx: uploaded beside the
/// Rust 1.0.0, it becomes the latest version and answers every fixture image as 1.0.0 does.
async fn the_python_digits_contract_is_a_second_version_answering_as_the_first(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let scientist = app.user("dana", "data-scientist").await;
    let (status, answer) = app
        .upload(
            "/models",
            &scientist,
            model_parts("digits", guests::DIGITS_CONTRACT),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let python = vec![
        (
            "model.toml",
            workspace_file("examples/models/digits/digits-contract-python/model.toml"),
        ),
        (
            "model.onnx",
            workspace_file("examples/models/digits/model.onnx"),
        ),
        (
            "contract.wasm",
            guests::read(guests::DIGITS_CONTRACT_PYTHON),
        ),
    ];
    let (status, model) = app.upload("/models", &scientist, python).await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    assert_eq!(model["version"], "1.1.0", "{model}");

    let user = app.user("eve", "end-user").await;
    let images: Value = serde_json::from_slice(&workspace_file(
        "examples/models/digits/fixtures/images.json",
    ))
    .unwrap();
    for image in images.as_array().unwrap() {
        let file = image["file"].as_str().unwrap();
        let png = workspace_file(&format!("examples/models/digits/fixtures/images/{file}"));
        let mut answers = Vec::new();
        for version in ["1.0.0", "1.1.0", "latest"] {
            let response = app
                .client
                .post(app.url(&format!("/models/digits/{version}/predict")))
                .bearer_auth(&user)
                .header("content-type", "image/png")
                .body(png.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{file} on {version}");
            answers.push(response.json::<Value>().await.unwrap());
        }
        assert_eq!(answers[0]["label"], image["onnxruntime"]["label"], "{file}");
        assert_eq!(answers[1], answers[0], "{file}: 1.1.0, then 1.0.0");
        assert_eq!(answers[2], answers[1], "{file}: latest is 1.1.0");
    }
}

async fn an_app_is_checked_against_its_world_and_the_registry(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let developer = app.user("pat", "app-developer").await;
    let thermostat = app_parts("classroom-thermostat", guests::CLASSROOM_THERMOSTAT);

    // Before the types exist, the manifest's every unknown name is reported.
    let before = app.snapshot().await;
    let (status, answer) = app.upload("/apps", &developer, thermostat.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for missing in [
        "sensor type `temperature`",
        "controller type `fan`",
        "controller type `air-conditioner`",
    ] {
        assert!(message(&answer).contains(missing), "{missing}: {answer}");
    }
    classroom(&app).await;
    let before_registered = app.snapshot().await;
    assert_ne!(before, before_registered);
    let (status, answer) = app
        .upload(
            "/apps",
            &developer,
            app_parts("smart-classroom", guests::SMART_CLASSROOM),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message(&answer).contains("model `comfort` has not been uploaded"),
        "{answer}"
    );
    let (status, answer) = app
        .upload(
            "/apps",
            &developer,
            replace(
                &thermostat,
                "app.wasm",
                guests::read(guests::DIGITS_CONTRACT),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&answer).contains("app.wasm"), "{answer}");
    let (status, answer) = app
        .upload(
            "/apps",
            &developer,
            replace(
                &thermostat,
                "trellis.toml",
                b"name = \"x\"\n[sensor.t]\n".to_vec(),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&answer).contains("trellis.toml"), "{answer}");
    assert_eq!(app.snapshot().await, before_registered);

    let (status, uploaded) = app.upload("/apps", &developer, thermostat.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    assert_eq!(uploaded["sensors"]["temperature"]["max"], 8);
    assert_eq!(uploaded["config"]["fan-above"], "number");
    let (status, answer) = app.upload("/apps", &developer, thermostat).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(message(&answer).contains("raise `version`"), "{answer}");
    let (_, apps) = app.get("/apps", &developer).await;
    assert_eq!(apps.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_over_the_limit_is_refused_whole() {
    let parts = model_parts("digits", guests::DIGITS_CONTRACT);
    // Just over the limit: the server answers once it has read the limit's worth and closes
    // the connection without reading the rest, so what it leaves unread must fit in the
    // socket's buffers, or the sender fails on a broken pipe before it reads the answer.
    let total: usize = parts.iter().map(|(_, bytes)| bytes.len()).sum();
    let limit = total - (8 << 10);
    let app = TestApp::spawn_with(Db::Sqlite, move |settings| {
        settings.max_upload_bytes = limit
    })
    .await
    .unwrap();
    let scientist = app.user("dana", "data-scientist").await;
    let before = app.snapshot().await;
    let (status, answer) = app.upload("/models", &scientist, parts).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert!(!message(&answer).is_empty());
    assert_eq!(app.snapshot().await, before);
}
