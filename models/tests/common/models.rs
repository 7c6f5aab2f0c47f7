//! The example model packages, loaded on each runtime this machine has.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use super::RecordingLog;
use trellis_host::Host;
use trellis_host::types::{Tensor, TensorType};
use trellis_models::{BackendChoice, ModelCatalog, ModelPackage, ModelPipeline, Runtimes};

/// Largest difference allowed between a probability computed here and the one ONNX Runtime's
/// Python API computed for the fixtures, on either backend.
pub const TOLERANCE: f32 = 1e-5;

/// `examples/models/<name>`.
pub fn example_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/models")
        .join(name)
}

/// An example package with its contract from the guest build, pinned to `backend`.
pub fn package(name: &str, contract: &str, backend: BackendChoice) -> ModelPackage {
    package_with(name, "model.toml", contract, backend)
}

/// An example package whose `model.toml` is `config` (relative to the example's folder).
pub fn package_with(
    name: &str,
    config: &str,
    contract: &str,
    backend: BackendChoice,
) -> ModelPackage {
    let dir = example_dir(name);
    let config = std::fs::read_to_string(dir.join(config)).unwrap();
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let mut package =
        ModelPackage::from_parts(&config, onnx, trellis_guest_artifacts::read(contract)).unwrap();
    package.config.backend = backend;
    package
}

/// The runtimes of this test process: ONNX Runtime where `ORT_DYLIB_PATH` names its library.
pub fn runtimes() -> Arc<Runtimes> {
    static RUNTIMES: LazyLock<Arc<Runtimes>> = LazyLock::new(|| Arc::new(Runtimes::new(None)));
    RUNTIMES.clone()
}

/// An empty catalog that loads with `host` and this process's runtimes.
pub fn catalog(host: &Arc<Host>) -> ModelCatalog {
    ModelCatalog::new(host.clone(), runtimes(), Arc::new(RecordingLog::default()))
}

/// Model versions by name, as an assignment names them.
pub fn versions(models: &[(&str, &str)]) -> BTreeMap<String, String> {
    models
        .iter()
        .map(|(name, version)| (name.to_string(), version.to_string()))
        .collect()
}

pub fn load(host: &Host, name: &str, contract: &str, backend: BackendChoice) -> ModelPipeline {
    load_package(host, package(name, contract, backend))
}

pub fn load_package(host: &Host, package: ModelPackage) -> ModelPipeline {
    let what = format!(
        "{} {} on {:?}",
        package.config.name, package.config.version, package.config.backend
    );
    ModelPipeline::load(
        host,
        &runtimes(),
        package,
        Arc::new(RecordingLog::default()),
    )
    .unwrap_or_else(|e| panic!("loading {what}: {e}"))
}

/// One version of the digits package: the same model.onnx with a contract in one language.
#[derive(Clone, Copy, Debug)]
pub struct Digits {
    pub language: &'static str,
    /// Its `model.toml`, relative to `examples/models/digits`.
    pub config: &'static str,
    /// Its contract's component.
    pub contract: &'static str,
}

/// Every version of the digits package: each must give the fixtures' answers.
pub const DIGITS: [Digits; 2] = [
    Digits {
        language: "Rust",
        config: "model.toml",
        contract: trellis_guest_artifacts::DIGITS_CONTRACT,
    },
    Digits {
        language: "Python",
        config: "digits-contract-python/model.toml",
        contract: trellis_guest_artifacts::DIGITS_CONTRACT_PYTHON,
    },
];

/// Each digits package on each backend of [`backends`].
pub fn digits_on_every_backend() -> Vec<(Digits, BackendChoice)> {
    let backends = backends();
    DIGITS
        .iter()
        .flat_map(|digits| backends.iter().map(|&backend| (*digits, backend)))
        .collect()
}

impl Digits {
    pub fn package(&self, backend: BackendChoice) -> ModelPackage {
        package_with("digits", self.config, self.contract, backend)
    }

    pub fn load(&self, host: &Host, backend: BackendChoice) -> ModelPipeline {
        load_package(host, self.package(backend))
    }
}

/// The backends to test on: tract always, ONNX Runtime where its library is configured. With
/// `TRELLIS_REQUIRE_ONNX_RUNTIME=1` (the test script sets it) a missing library fails the test
/// instead of skipping its half.
pub fn backends() -> Vec<BackendChoice> {
    match runtimes().onnx_runtime() {
        Ok(()) => vec![BackendChoice::Tract, BackendChoice::OnnxRuntime],
        Err(why) => {
            assert!(
                std::env::var("TRELLIS_REQUIRE_ONNX_RUNTIME").as_deref() != Ok("1"),
                "ONNX Runtime is required here but unavailable: {why}"
            );
            eprintln!("ONNX Runtime unavailable ({why}): testing on tract only");
            vec![BackendChoice::Tract]
        }
    }
}

/// The JSON fixture at `examples/models/<name>/fixtures/<file>`.
pub fn fixture(name: &str, file: &str) -> serde_json::Value {
    let path = example_dir(name).join("fixtures").join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

pub fn f32_tensor(name: &str, dimensions: &[u32], values: &[f32]) -> Tensor {
    Tensor {
        name: name.into(),
        dimensions: dimensions.to_vec(),
        ty: TensorType::Fp32,
        data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

pub fn f32s(tensor: &Tensor) -> Vec<f32> {
    assert_eq!(tensor.ty, TensorType::Fp32, "tensor `{}`", tensor.name);
    tensor
        .data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

pub fn i64s(tensor: &Tensor) -> Vec<i64> {
    assert_eq!(tensor.ty, TensorType::I64, "tensor `{}`", tensor.name);
    tensor
        .data
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// A JSON array of numbers as f32s.
pub fn floats(json: &serde_json::Value) -> Vec<f32> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

/// Asserts two probability vectors agree within [`TOLERANCE`].
pub fn assert_close(actual: &[f32], expected: &[f32], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= TOLERANCE,
            "{what}[{i}]: {a} here, {e} from ONNX Runtime (tolerance {TOLERANCE})"
        );
    }
}
