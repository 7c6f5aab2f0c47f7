//! Model uploads the platform refuses as unprocessable (422) before storing anything: a
//! `model.toml` asking more than the admin's maxima, and a `model.onnx` whose tensors keep their
//! data in other files.

use prost::Message;
use reqwest::StatusCode;
use serde_json::Value;
use tract_onnx::pb;
use trellis_guest_artifacts as guests;
use trellis_models::ModelMaxima;

use crate::helpers::{Db, TestApp, message, on_both_databases};
use crate::uploads::model_parts;

on_both_databases!(
    a_model_toml_above_the_platform_maxima_is_refused_naming_the_field_and_nothing_is_stored,
    an_onnx_file_pointing_at_external_data_is_refused_naming_the_tensor_and_nothing_is_stored,
);

/// `parts` with `model.toml` edited by `edit`.
fn with_config(
    parts: &[(&'static str, Vec<u8>)],
    edit: impl Fn(String) -> String,
) -> Vec<(&'static str, Vec<u8>)> {
    parts
        .iter()
        .map(|(name, bytes)| match *name {
            "model.toml" => (
                *name,
                edit(String::from_utf8(bytes.clone()).unwrap()).into_bytes(),
            ),
            _ => (*name, bytes.clone()),
        })
        .collect()
}

async fn refused(app: &TestApp, token: &str, parts: Vec<(&'static str, Vec<u8>)>) -> Value {
    let before = app.snapshot().await;
    let (status, answer) = app.upload("/models", token, parts).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused upload stores nothing"
    );
    answer
}

async fn a_model_toml_above_the_platform_maxima_is_refused_naming_the_field_and_nothing_is_stored(
    db: Db,
) {
    // digits declares fp32[-1, 64] (256 bytes a row) and comfort fp32[-1, 3]: only comfort's
    // tensors fit 100 bytes.
    let Some(app) = TestApp::spawn_with(db, |settings| {
        settings.model_maxima = ModelMaxima {
            memory_mb: 128,
            deadline_ms: 5_000,
            tensor_bytes: 100,
        }
    })
    .await
    else {
        return;
    };
    let scientist = app.user("dana", "data-scientist").await;
    let comfort = model_parts("comfort", guests::COMFORT_CONTRACT);

    let answer = refused(
        &app,
        &scientist,
        with_config(&comfort, |t| {
            t.replace("memory-mb = 16", "memory-mb = 4096")
        }),
    )
    .await;
    assert_eq!(answer["field"], "model.toml", "{answer}");
    let why = message(&answer);
    assert!(
        why.contains("limits.memory-mb = 4096") && why.contains("maximum of 128"),
        "{why}"
    );

    let answer = refused(
        &app,
        &scientist,
        with_config(&comfort, |t| {
            t.replace("deadline-ms = 200", "deadline-ms = 3600000")
        }),
    )
    .await;
    let why = message(&answer);
    assert!(
        why.contains("limits.deadline-ms = 3600000") && why.contains("maximum of 5000"),
        "{why}"
    );

    let digits = model_parts("digits", guests::DIGITS_CONTRACT);
    let answer = refused(&app, &scientist, digits).await;
    let why = message(&answer);
    assert!(
        why.contains("inputs.input (fp32[-1, 64])")
            && why.contains("= 256")
            && why.contains("maximum of 100"),
        "{why}"
    );

    // At the maxima, exactly, is allowed.
    let at_most = with_config(&comfort, |t| {
        t.replace("memory-mb = 16", "memory-mb = 128")
            .replace("deadline-ms = 200", "deadline-ms = 5000")
    });
    let (status, model) = app.upload("/models", &scientist, at_most).await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
}

async fn an_onnx_file_pointing_at_external_data_is_refused_naming_the_tensor_and_nothing_is_stored(
    db: Db,
) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let scientist = app.user("dana", "data-scientist").await;
    let digits = model_parts("digits", guests::DIGITS_CONTRACT);
    // The digits model with its first weight moved, it says, to a file on the server.
    let mut proto = pb::ModelProto::decode(digits[1].1.as_slice()).unwrap();
    let weight = &mut proto.graph.as_mut().unwrap().initializer[0];
    let name = weight.name.clone();
    weight.raw_data.clear();
    weight.float_data.clear();
    weight.data_location = Some(pb::tensor_proto::DataLocation::External as i32);
    weight.external_data = vec![pb::StringStringEntryProto {
        key: "location".into(),
        value: "/etc/passwd".into(),
    }];
    let parts = vec![
        digits[0].clone(),
        ("model.onnx", proto.encode_to_vec()),
        digits[2].clone(),
    ];
    let answer = refused(&app, &scientist, parts).await;
    assert_eq!(answer["field"], "model.onnx", "{answer}");
    let why = message(&answer);
    assert!(
        why.contains(&format!("tensor `{name}`")) && why.contains("/etc/passwd"),
        "{why}"
    );

    let (status, model) = app.upload("/models", &scientist, digits).await;
    assert_eq!(status, StatusCode::CREATED, "the untouched file: {model}");
}
