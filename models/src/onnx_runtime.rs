//! ONNX Runtime through `ort`, loaded from a shared library at run time (the PyPI wheel's
//! `libonnxruntime.so` works), so a missing or too-old library is an error, not a crash.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use ort::environment::Environment;
use ort::session::Session as OrtInner;
use ort::value::{DynValue, Tensor, TensorElementType, ValueType};

use crate::backend::{RunError, Session};
use crate::config::ModelConfig;
use crate::error::ModelError;
use crate::tensor_data::{Elements, TypedTensor};

/// ONNX Runtime allows one environment per process, bound to the library it was loaded from.
/// Only a success is kept, so a wrong path tried first does not spoil a right one tried later.
static ENVIRONMENT: OnceLock<(PathBuf, Environment)> = OnceLock::new();
static LOADING: Mutex<()> = Mutex::new(());

/// Loads the library at `path` (once per process) and checks it provides the API `ort` needs.
pub fn initialise(path: &Path) -> Result<(), String> {
    let _one_at_a_time = LOADING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((loaded, _)) = ENVIRONMENT.get() {
        return if loaded == path {
            Ok(())
        } else {
            Err(format!(
                "this process already loaded ONNX Runtime from {}",
                loaded.display()
            ))
        };
    }
    if !path.is_file() {
        return Err(format!("{} does not exist", path.display()));
    }
    let environment = ort::init_from(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .with_name("trellis")
        .with_telemetry(false)
        .build()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let _ = ENVIRONMENT.set((path.to_path_buf(), environment));
    Ok(())
}

fn environment() -> &'static Environment {
    &ENVIRONMENT
        .get()
        .expect("sessions are made only after `initialise` succeeded")
        .1
}

/// A model in ONNX Runtime.
pub struct OrtSession {
    // `ort` takes `&mut` to run a session, so callers take turns; ONNX Runtime spreads each run
    // over its intra-op threads, which keeps the cores busy meanwhile.
    session: Mutex<OrtInner>,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

impl OrtSession {
    pub fn load(onnx: &[u8], config: &ModelConfig) -> Result<OrtSession, ModelError> {
        OrtSession::load_named(
            onnx,
            config.inputs.iter().map(|t| t.name.clone()).collect(),
            config.outputs.iter().map(|t| t.name.clone()).collect(),
        )
    }

    /// Loads the model, to be fed `inputs` and to give `outputs`, by name and in that order.
    pub fn load_named(
        onnx: &[u8],
        inputs: Vec<String>,
        outputs: Vec<String>,
    ) -> Result<OrtSession, ModelError> {
        let failed = |e: String| ModelError::Backend {
            backend: "onnx-runtime",
            message: e,
        };
        let session = OrtInner::builder(environment())
            .map_err(|e| failed(e.to_string()))?
            .commit_from_memory(onnx)
            .map_err(|e| failed(e.to_string()))?;
        Ok(OrtSession {
            session: Mutex::new(session),
            inputs,
            outputs,
        })
    }
}

impl Session for OrtSession {
    fn run(&self, inputs: Vec<TypedTensor>) -> Result<Vec<TypedTensor>, RunError> {
        let values = self
            .inputs
            .iter()
            .zip(inputs)
            .map(|(name, tensor)| Ok((name.as_str(), to_value(tensor)?)))
            .collect::<Result<Vec<_>, ort::Error>>()
            .map_err(|e| e.to_string())?;
        let mut session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let outputs = session.run(values).map_err(|e| e.to_string())?;
        let outputs = self
            .outputs
            .iter()
            .map(|name| {
                let value = outputs
                    .get(name)
                    .ok_or_else(|| format!("the model produced no output `{name}`"))?;
                from_value(value).map_err(|e| format!("output `{name}`: {e}"))
            })
            .collect::<Result<_, String>>()?;
        Ok(outputs)
    }
}

fn to_value(tensor: TypedTensor) -> ort::Result<DynValue> {
    let shape = tensor.shape;
    Ok(match tensor.elements {
        Elements::F32(v) => Tensor::from_array((shape, v))?.into_dyn(),
        Elements::F64(v) => Tensor::from_array((shape, v))?.into_dyn(),
        Elements::U8(v) => Tensor::from_array((shape, v))?.into_dyn(),
        Elements::I32(v) => Tensor::from_array((shape, v))?.into_dyn(),
        Elements::I64(v) => Tensor::from_array((shape, v))?.into_dyn(),
    })
}

fn from_value(value: &DynValue) -> Result<TypedTensor, String> {
    let ValueType::Tensor { ty, .. } = value.dtype() else {
        return Err(format!("{} is not a tensor", value.dtype()));
    };
    fn typed<T: ort::value::PrimitiveTensorElementType + Copy>(
        value: &DynValue,
        wrap: fn(Vec<T>) -> Elements,
    ) -> Result<TypedTensor, String> {
        let (shape, data) = value.try_extract_tensor::<T>().map_err(|e| e.to_string())?;
        Ok(TypedTensor {
            shape: shape.iter().map(|&d| d as usize).collect(),
            elements: wrap(data.to_vec()),
        })
    }
    match ty {
        TensorElementType::Float32 => typed(value, Elements::F32),
        TensorElementType::Float64 => typed(value, Elements::F64),
        TensorElementType::Uint8 => typed(value, Elements::U8),
        TensorElementType::Int32 => typed(value, Elements::I32),
        TensorElementType::Int64 => typed(value, Elements::I64),
        other => Err(format!("{other:?} tensors are not supported")),
    }
}
