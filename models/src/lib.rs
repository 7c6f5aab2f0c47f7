//! Models: an ONNX file run natively (ONNX Runtime or tract), between the sandboxed
//! `preprocess` and `postprocess` of its contract component.
//!
//! A [`ModelPackage`] is checked and loaded into a [`ModelPipeline`]: its contract by the
//! WebAssembly [`trellis_host::Host`], its model by the [`Runtimes`] of this process. A
//! [`ModelCatalog`] holds the loaded ones by name and version, loads each once however many
//! callers ask for it at the same moment, and serves them to apps through the `inference`
//! import ([`AppModels`]).
//!
//! This crate, not the host, is where ONNX lives: the engine runs components and knows models
//! only through the `inference` capability's [`trellis_host::capabilities::ModelRuntime`] trait.

mod app_models;
mod backend;
mod batcher;
mod catalog;
mod config;
mod error;
mod external_data;
mod maxima;
mod metrics;
mod onnx_graph;
mod onnx_runtime;
mod package;
mod panic_guard;
mod pipeline;
mod tensor_data;
mod tract;
mod worker;
mod worker_serve;
mod worker_wire;

pub use app_models::AppModels;
pub use backend::{BackendKind, RunError, Runtimes, Session};
pub use catalog::ModelCatalog;
pub use config::{BackendChoice, Batching, ElementType, ModelConfig, ModelLimits, TensorSpec};
pub use error::{ModelError, PredictError};
pub use maxima::{ModelMaxima, OverLimit};
pub use metrics::{CatalogMetrics, InferenceMetrics};
pub use package::ModelPackage;
pub use pipeline::ModelPipeline;
pub use tensor_data::{Elements, TypedTensor};
pub use worker::ModelWorker;
pub use worker_serve::serve_model_worker;
