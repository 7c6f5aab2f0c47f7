//! The two runtimes behind one trait, and the rule that picks one for a model.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::config::{BackendChoice, ModelConfig};
use crate::error::ModelError;
use crate::onnx_graph::OnnxGraph;
use crate::tensor_data::TypedTensor;
use crate::{onnx_runtime, tract};

/// A model loaded into a runtime, ready to run. One session serves every caller.
pub trait Session: Send + Sync {
    /// Runs the model on inputs in `model.toml` order and returns outputs in `model.toml` order.
    fn run(&self, inputs: Vec<TypedTensor>) -> Result<Vec<TypedTensor>, String>;
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
}

impl Runtimes {
    /// `library` is ONNX Runtime's shared library; `None` reads `ORT_DYLIB_PATH`.
    pub fn new(library: Option<PathBuf>) -> Runtimes {
        let library = library.or_else(|| std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from));
        Runtimes {
            library,
            onnx_runtime: OnceLock::new(),
        }
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
            BackendKind::OnnxRuntime => Arc::new(onnx_runtime::OrtSession::load(onnx, config)?),
            BackendKind::Tract => Arc::new(tract::TractSession::load(graph, config)?),
        };
        Ok((kind, session))
    }
}
