//! `trellis:platform/inference`: the models named in the app's manifest.
//!
//! A model runs natively, where epoch interruption cannot reach it, and may take longer than the
//! app's call may (a slow model, a batch to wait for, a worker process that hangs). So each model
//! call waits at most until the app call's deadline: the model goes on in the background and its
//! answer is dropped, while the app's call traps at once as a deadline miss.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{HasData, Linker};
use wasmtime_wasi::runtime::in_tokio;

use super::{too_large, value_size};
use crate::bindings::trellis::platform::inference as wit;
use crate::deadline_poll::DeadlineReached;
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

/// An instance's models, and when the call in progress must end (`None`: no bound).
struct Bounded<'a> {
    ctx: &'a InferenceCtx,
    deadline: Option<Instant>,
}

struct BoundedInference;

impl HasData for BoundedInference {
    type Data<'a> = Bounded<'a>;
}

impl wit::Host for Bounded<'_> {
    fn predict(&mut self, model: String, input: Value) -> wasmtime::Result<Result<Value, Error>> {
        let size = value_size(&input);
        if size > self.ctx.max_message_bytes {
            return Ok(Err(too_large(
                "the model input",
                size,
                self.ctx.max_message_bytes,
            )));
        }
        let runtime = self.ctx.runtime.clone();
        until_deadline(self.deadline, model, move |model| {
            runtime.predict(model, input)
        })
    }
    fn run(
        &mut self,
        model: String,
        inputs: Vec<Tensor>,
    ) -> wasmtime::Result<Result<Vec<Tensor>, Error>> {
        let size: usize = inputs.iter().map(|t| t.data.len()).sum();
        if size > self.ctx.max_message_bytes {
            return Ok(Err(too_large(
                "the input tensors",
                size,
                self.ctx.max_message_bytes,
            )));
        }
        let runtime = self.ctx.runtime.clone();
        until_deadline(self.deadline, model, move |model| {
            runtime.run(model, inputs)
        })
    }
}

/// Runs a model call on a blocking thread and waits for it until `deadline`; past it, the app's
/// call traps as a deadline miss while the model call ends unwatched.
fn until_deadline<T: Send + 'static>(
    deadline: Option<Instant>,
    model: String,
    call: impl FnOnce(&str) -> Result<T, Error> + Send + 'static,
) -> wasmtime::Result<Result<T, Error>> {
    let Some(deadline) = deadline else {
        return Ok(call(&model));
    };
    let name = model.clone();
    let waited = in_tokio(async move {
        let running = tokio::task::spawn_blocking(move || call(&model));
        tokio::time::timeout_at(deadline.into(), running).await
    });
    match waited {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(failed)) => Ok(Err(Error::Unavailable(format!("model `{name}`: {failed}")))),
        Err(_) => Err(wasmtime::Error::new(DeadlineReached)),
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<_, BoundedInference>(linker, |s| Bounded {
        ctx: &s.inference,
        deadline: s.call_deadline,
    })
}
