//! `trellis:platform/inference`: the models named in the app's manifest.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::{too_large, value_size};
use crate::bindings::trellis::platform::inference as wit;
use crate::instance_state::InstanceState;
use crate::types::{Error, Tensor, Value};

/// Runs models for an instance: the contract pipeline (`predict`) or the bare model (`run`).
pub trait ModelRuntime: Send + Sync {
    /// Contract `preprocess`, the model, contract `postprocess`.
    fn predict(&self, model: &str, input: Value) -> Result<Value, Error>;
    /// The model alone.
    fn run(&self, model: &str, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, Error>;
}

/// A runtime with no models.
pub struct NoModels;

impl ModelRuntime for NoModels {
    fn predict(&self, model: &str, _input: Value) -> Result<Value, Error> {
        Err(unknown(model))
    }
    fn run(&self, model: &str, _inputs: Vec<Tensor>) -> Result<Vec<Tensor>, Error> {
        Err(unknown(model))
    }
}

/// The error for a model this instance may not call.
pub fn unknown(model: &str) -> Error {
    Error::UnknownModel(format!("no model named `{model}` is available to this app"))
}

pub(crate) struct InferenceCtx {
    pub(crate) runtime: Arc<dyn ModelRuntime>,
    pub(crate) max_message_bytes: usize,
}

impl wit::Host for InferenceCtx {
    fn predict(&mut self, model: String, input: Value) -> Result<Value, Error> {
        let size = value_size(&input);
        if size > self.max_message_bytes {
            return Err(too_large("the model input", size, self.max_message_bytes));
        }
        self.runtime.predict(&model, input)
    }
    fn run(&mut self, model: String, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, Error> {
        let size: usize = inputs.iter().map(|t| t.data.len()).sum();
        if size > self.max_message_bytes {
            return Err(too_large("the input tensors", size, self.max_message_bytes));
        }
        self.runtime.run(&model, inputs)
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<_, HasSelf<InferenceCtx>>(linker, |s| &mut s.inference)
}
