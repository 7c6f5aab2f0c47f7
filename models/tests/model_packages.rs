//! Bad model packages and bad inputs: each is refused with an error that names the file or the
//! tensor at fault, and a refused call leaves the model serving.

mod common;

use std::sync::Arc;

use common::RecordingLog;
use common::models::{example_dir, f32_tensor, f32s, package, runtimes, versions};
use trellis_guest_artifacts::{CLASSROOM_THERMOSTAT, COMFORT_CONTRACT, DIGITS_CONTRACT, read};
use trellis_host::capabilities::ModelRuntime;
use trellis_host::types::{Error, Value};
use trellis_host::{CallError, Host, HostConfig, LoadError};
use trellis_models::{
    BackendChoice, ModelError, ModelPackage, ModelPipeline, PredictError, Runtimes,
};

fn digits_toml() -> String {
    std::fs::read_to_string(example_dir("digits").join("model.toml")).unwrap()
}

fn digits_onnx() -> Vec<u8> {
    std::fs::read(example_dir("digits").join("model.onnx")).unwrap()
}

fn try_load(host: &Host, config: &str, onnx: Vec<u8>, contract: Vec<u8>) -> ModelError {
    let package = match ModelPackage::from_parts(config, onnx, contract) {
        Ok(package) => package,
        Err(e) => return e,
    };
    match ModelPipeline::load(
        host,
        &runtimes(),
        package,
        Arc::new(RecordingLog::default()),
    ) {
        Ok(_) => panic!("the package should have been refused"),
        Err(e) => e,
    }
}

fn refused(config: &str) -> String {
    let host = common::host();
    try_load(&host, config, digits_onnx(), read(DIGITS_CONTRACT)).to_string()
}

#[test]
fn a_config_that_disagrees_with_the_onnx_file_is_refused_naming_each_difference() {
    let renamed = digits_toml().replacen("name = \"input\"", "name = \"pixels\"", 1);
    let why = refused(&renamed);
    assert!(
        why.starts_with("model.toml does not match model.onnx"),
        "{why}"
    );
    assert!(
        why.contains("input `pixels`") && why.contains("no such input"),
        "{why}"
    );
    assert!(why.contains("needs input `input`"), "{why}");

    let narrowed = digits_toml().replacen("shape = [-1, 64]", "shape = [-1, 32]", 1);
    let why = refused(&narrowed);
    assert!(
        why.contains("model.toml says fp32[-1, 32], model.onnx has fp32[?, 64]"),
        "{why}"
    );

    let retyped = digits_toml().replacen("type = \"i64\"", "type = \"i32\"", 1);
    let why = refused(&retyped);
    assert!(
        why.contains("output `label`: model.toml says i32[-1]"),
        "{why}"
    );
}

#[test]
fn a_malformed_config_is_refused_naming_the_field() {
    let why = refused(&digits_toml().replacen("version = \"1.0.0\"\n", "", 1));
    assert!(
        why.starts_with("model.toml:") && why.contains("version"),
        "{why}"
    );

    let why = refused(&digits_toml().replacen("backend = \"auto\"", "backend = \"gpu\"", 1));
    assert!(
        why.starts_with("model.toml:") && why.contains("gpu"),
        "{why}"
    );

    let why = refused(&digits_toml().replacen("shape = [-1, 64]", "shape = [-1, 0]", 1));
    assert!(why.contains("dimension 0"), "{why}");
}

#[test]
fn bytes_that_are_not_onnx_are_refused_naming_the_file() {
    let host = common::host();
    let why = try_load(
        &host,
        &digits_toml(),
        b"not a model".to_vec(),
        read(DIGITS_CONTRACT),
    );
    assert!(
        matches!(
            why,
            ModelError::File {
                file: "model.onnx",
                ..
            }
        ),
        "{why}"
    );
}

#[test]
fn a_contract_that_is_not_a_contract_is_refused_naming_the_world() {
    let host = common::host();
    let why = try_load(
        &host,
        &digits_toml(),
        digits_onnx(),
        read(CLASSROOM_THERMOSTAT),
    );
    assert!(
        matches!(why, ModelError::Contract(LoadError::WorldMismatch { .. })),
        "{why}"
    );
    assert!(why.to_string().starts_with("contract.wasm:"), "{why}");
}

#[test]
fn a_package_directory_missing_a_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.toml"), digits_toml()).unwrap();
    std::fs::write(dir.path().join("model.onnx"), digits_onnx()).unwrap();
    let why = ModelPackage::read_dir(dir.path()).err().unwrap();
    assert!(
        matches!(
            why,
            ModelError::File {
                file: "contract.wasm",
                ..
            }
        ),
        "{why}"
    );

    std::fs::write(dir.path().join("contract.wasm"), read(DIGITS_CONTRACT)).unwrap();
    let package = ModelPackage::read_dir(dir.path()).unwrap();
    assert_eq!(package.config.name, "digits");
}

/// `scaler.onnx` (made by fixtures/make_scaler.py) uses ai.onnx.ml's Scaler.
fn scaler_package(backend: &str) -> (String, Vec<u8>) {
    let config = format!(
        r#"
name = "scaler"
version = "1.0.0"
backend = "{backend}"
[[inputs]]
name = "input"
type = "fp32"
shape = [-1, 3]
[[outputs]]
name = "scaled"
type = "fp32"
shape = [-1, 3]
"#
    );
    let onnx = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scaler.onnx"),
    )
    .unwrap();
    (config, onnx)
}

#[test]
fn tract_names_the_operators_it_lacks_and_onnx_runtime_runs_them() {
    let host = common::host();
    let (config, onnx) = scaler_package("tract");
    let why = try_load(&host, &config, onnx, read(COMFORT_CONTRACT));
    assert!(matches!(why, ModelError::TractUnsupported { .. }), "{why}");
    let text = why.to_string();
    assert!(
        text.contains("ai.onnx.ml.Scaler") && text.contains("ONNX Runtime"),
        "{text}"
    );

    if runtimes().onnx_runtime().is_err() {
        return;
    }
    let (config, onnx) = scaler_package("onnx-runtime");
    let package = ModelPackage::from_parts(&config, onnx, read(COMFORT_CONTRACT)).unwrap();
    let model = ModelPipeline::load(
        &host,
        &runtimes(),
        package,
        Arc::new(RecordingLog::default()),
    )
    .unwrap();
    let input = [4.0_f32, 6.0, 1.0];
    let outputs = model
        .run(vec![f32_tensor("input", &[1, 3], &input)])
        .unwrap();
    // Scaler computes (x - offset) * scale; the fixture uses offset [1, 2, 3], scale [2, 0.5, -1].
    assert_eq!(f32s(&outputs[0]), vec![6.0, 2.0, 2.0]);
}

#[test]
fn a_pinned_onnx_runtime_without_its_library_is_a_load_error_and_auto_falls_back() {
    let host = Host::new(HostConfig::default()).unwrap();
    let runtimes = Runtimes::new(Some("/nonexistent/libonnxruntime.so".into()));
    let why = ModelPipeline::load(
        &host,
        &runtimes,
        package("digits", DIGITS_CONTRACT, BackendChoice::OnnxRuntime),
        Arc::new(RecordingLog::default()),
    )
    .err()
    .unwrap();
    assert!(
        matches!(why, ModelError::OnnxRuntimeUnavailable(_)),
        "{why}"
    );

    let model = ModelPipeline::load(
        &host,
        &runtimes,
        package("digits", DIGITS_CONTRACT, BackendChoice::Auto),
        Arc::new(RecordingLog::default()),
    )
    .unwrap();
    assert_eq!(model.backend().name(), "tract");
}

#[test]
fn inputs_the_contract_refuses_are_invalid_input_and_the_model_keeps_serving() {
    let host = Arc::new(common::host());
    let catalog = common::models::catalog(&host);
    let model = catalog.insert(common::models::load(
        &host,
        "digits",
        DIGITS_CONTRACT,
        BackendChoice::Auto,
    ));
    match model.predict(&Value::Text("seven".into())) {
        Err(PredictError::Preprocess(CallError::Failed { message, .. })) => {
            assert!(
                message.contains("expected an image or 64 numbers"),
                "{message}"
            )
        }
        other => panic!("text is not a digit, got {other:?}"),
    }
    let app = catalog.for_app(&["digits".to_string()], &versions(&[("digits", "1.0.0")]));
    match app.predict("digits", Value::Numbers(vec![1.0; 3])) {
        Err(Error::InvalidInput(why)) => assert!(why.contains("model `digits`"), "{why}"),
        other => panic!("3 numbers are not a digit, got {other:?}"),
    }
    assert!(model.predict(&Value::Numbers(vec![0.0; 64])).is_ok());
}

#[test]
fn tensors_that_do_not_fit_the_model_are_refused_naming_the_input() {
    let host = common::host();
    let model = common::models::load(&host, "digits", DIGITS_CONTRACT, BackendChoice::Auto);
    let why = model
        .run(vec![f32_tensor("input", &[1, 32], &[0.0; 32])])
        .err()
        .unwrap()
        .to_string();
    assert!(
        why.contains("fp32[1, 32] for input `input`, which takes fp32[-1, 64]"),
        "{why}"
    );

    let mut short = f32_tensor("input", &[1, 64], &[0.0; 64]);
    short.data.truncate(100);
    let why = model.run(vec![short]).err().unwrap().to_string();
    assert!(
        why.contains("100 bytes for input `input`; its dimensions need 256"),
        "{why}"
    );

    let why = model
        .run(vec![f32_tensor("pixels", &[1, 64], &[0.0; 64])])
        .err()
        .unwrap()
        .to_string();
    assert!(
        why.contains("`pixels`, which is not an input of model `digits`"),
        "{why}"
    );
}
