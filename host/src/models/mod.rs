//! Models: an ONNX file run natively (ONNX Runtime or tract), between the sandboxed
//! `preprocess` and `postprocess` of its contract component.
//!
//! A [`ModelPackage`] is checked and loaded into a [`ModelPipeline`]; a [`ModelCatalog`] holds
//! the loaded ones and serves them to apps through the `inference` import.

mod backend;
mod catalog;
mod config;
mod error;
mod onnx_graph;
mod onnx_runtime;
mod package;
mod pipeline;
mod tensor_data;
mod tract;

pub use backend::{BackendKind, Runtimes, Session};
pub use catalog::ModelCatalog;
pub use config::{BackendChoice, ElementType, ModelConfig, ModelLimits, TensorSpec};
pub use error::{ModelError, PredictError};
pub use package::ModelPackage;
pub use pipeline::ModelPipeline;
pub use tensor_data::{Elements, TypedTensor};
