//! The two runtimes behind one trait, and the rule that picks one for a model.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::config::{BackendChoice, ModelConfig};
use crate::error::ModelError;
use crate::onnx_graph::OnnxGraph;
use crate::tensor_data::TypedTensor;
use crate::worker::{ModelWorker, WorkerSession};
use crate::{onnx_runtime, tract};

/// A model loaded into a runtime, ready to run. One session serves every caller.
pub trait Session: Send + Sync {
    /// Runs the model on inputs in `model.toml` order and returns outputs in `model.toml` order.
    fn run(&self, inputs: Vec<TypedTensor>) -> Result<Vec<TypedTensor>, RunError>;
}

/// Why a session did not run the model.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RunError {
    /// The runtime refused or failed this run; the session serves the next one as before.
    #[error("{0}")]
    Failed(String),
    /// The worker process that ran the model died or overran its deadline and was stopped; the
    /// next run starts a new one.
    #[error("{0}")]
    WorkerStopped(String),
}

impl From<String> for RunError {
    fn from(message: String) -> RunError {
        RunError::Failed(message)
    }
}

/// Which runtime a session runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// ONNX Runtime, loaded from its shared library.
    OnnxRuntime,
    /// tract, built into the binary.
    Tract,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::OnnxRuntime => "onnx-runtime",
            BackendKind::Tract => "tract",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The runtimes this process can use. ONNX Runtime's library is found on first use, so a process
/// that never loads a model never touches it.
pub struct Runtimes {
    library: Option<PathBuf>,
    onnx_runtime: OnceLock<Result<(), String>>,
    /// Where set, ONNX Runtime loads and runs each model in a worker process of its own.
    worker: Option<ModelWorker>,
}

impl Runtimes {
    /// `library` is ONNX Runtime's shared library; `None` reads `ORT_DYLIB_PATH`.
    pub fn new(library: Option<PathBuf>) -> Runtimes {
        let library = library.or_else(|| std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from));
        Runtimes {
            library,
            onnx_runtime: OnceLock::new(),
            worker: None,
        }
    }

    /// The same runtimes, with every ONNX Runtime model loaded and run in a worker process of its
    /// own: ONNX Runtime is C++, and a model that crashes it then takes down only its worker.
    /// tract is Rust, and its panics are caught where it runs.
    pub fn isolated(mut self, worker: ModelWorker) -> Runtimes {
        self.worker = Some(worker);
        self
    }

    /// Whether ONNX Runtime can run models here, or why not.
    pub fn onnx_runtime(&self) -> Result<(), String> {
        self.onnx_runtime
            .get_or_init(|| match &self.library {
                Some(path) => onnx_runtime::initialise(path),
                None => {
                    Err("no library configured (set ORT_DYLIB_PATH to libonnxruntime.so)".into())
                }
            })
            .clone()
    }

    /// Loads a checked model into the runtime its config asks for.
    pub fn load(
        &self,
        onnx: &[u8],
        graph: &OnnxGraph,
        config: &ModelConfig,
    ) -> Result<(BackendKind, Arc<dyn Session>), ModelError> {
        let kind = match config.backend {
            BackendChoice::Tract => BackendKind::Tract,
            BackendChoice::OnnxRuntime => {
                self.onnx_runtime()
                    .map_err(ModelError::OnnxRuntimeUnavailable)?;
                BackendKind::OnnxRuntime
            }
            BackendChoice::Auto => match self.onnx_runtime() {
                Ok(()) => BackendKind::OnnxRuntime,
                Err(_) => BackendKind::Tract,
            },
        };
        let session: Arc<dyn Session> = match kind {
            BackendKind::OnnxRuntime => match (&self.worker, &self.library) {
                (Some(worker), Some(library)) => {
                    Arc::new(WorkerSession::load(worker, library, onnx, config)?)
                }
                _ => Arc::new(onnx_runtime::OrtSession::load(onnx, config)?),
            },
            BackendKind::Tract => Arc::new(tract::TractSession::load(graph, config)?),
        };
        Ok((kind, session))
    }
}
