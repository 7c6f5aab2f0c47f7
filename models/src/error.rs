//! What can go wrong loading a model package or running its pipeline, naming the file or stage.

use trellis_host::{CallError, LoadError};

/// A model package could not be loaded. Each error names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file is missing, unreadable or malformed.
    #[error("{file}: {message}")]
    File { file: &'static str, message: String },
    /// `model.toml` and `model.onnx` disagree; one line per difference.
    #[error("model.toml does not match model.onnx:\n{0}")]
    Mismatch(String),
    /// `contract.wasm` is not a component of the `contract` world.
    #[error("contract.wasm: {0}")]
    Contract(#[from] LoadError),
    /// A tensor of `model.onnx` keeps its data in another file, which no runtime may read.
    #[error(
        "model.onnx: tensor `{tensor}` keeps its data outside the file{}; save the model with its data inside it (onnx.save_model(model, path, save_as_external_data=False))",
        location.as_ref().map(|l| format!(" (in `{l}`)")).unwrap_or_default()
    )]
    ExternalData {
        tensor: String,
        location: Option<String>,
    },
    /// tract cannot run an operator the model uses.
    #[error(
        "model.onnx uses {} which tract does not implement; install ONNX Runtime (set ORT_DYLIB_PATH) or set backend = \"onnx-runtime\" in model.toml",
        operators.join(", ")
    )]
    TractUnsupported { operators: Vec<String> },
    /// `model.toml` pins ONNX Runtime, and it cannot be loaded.
    #[error("model.toml asks for ONNX Runtime, which is not available: {0}")]
    OnnxRuntimeUnavailable(String),
    /// The runtime refused the model.
    #[error("{backend} could not load model.onnx: {message}")]
    Backend {
        backend: &'static str,
        message: String,
    },
}

impl ModelError {
    /// The package file the error concerns, for an upload form to show it beside that file. A
    /// mismatch between `model.toml` and `model.onnx` is ascribed to `model.toml`, which says
    /// what the model should be; a runtime that is not available, too (it asks for it).
    pub fn file(&self) -> &'static str {
        match self {
            ModelError::File { file, .. } => file,
            ModelError::Mismatch(_) | ModelError::OnnxRuntimeUnavailable(_) => "model.toml",
            ModelError::Contract(_) => "contract.wasm",
            ModelError::ExternalData { .. }
            | ModelError::TractUnsupported { .. }
            | ModelError::Backend { .. } => "model.onnx",
        }
    }
}

/// A prediction failed; the model and every other caller go on.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    /// The contract's `preprocess` refused the input or failed.
    #[error("preprocess: {0}")]
    Preprocess(CallError),
    /// The tensors do not fit the model: from the contract's `preprocess`, or from a direct run.
    #[error("{0}")]
    Tensors(String),
    /// The runtime failed to run the model.
    #[error("inference: {0}")]
    Inference(String),
    /// The worker process running the model died or overran its deadline; the next prediction
    /// gets a new one.
    #[error("inference: {0}")]
    WorkerStopped(String),
    /// The contract's `postprocess` failed.
    #[error("postprocess: {0}")]
    Postprocess(CallError),
    /// A contract instance could not be started.
    #[error("starting the contract: {0}")]
    Instantiate(CallError),
}
