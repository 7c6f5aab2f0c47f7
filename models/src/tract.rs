//! tract: pure Rust, nothing to install, so `trellis up` runs models anywhere. It lacks some
//! `ai.onnx.ml` operators; a model that needs one is refused at load with their names.

use std::sync::Arc;

use tract_onnx::prelude::{
    DatumType, Framework, InferenceFact, InferenceModel, InferenceModelExt, IntoRunnable,
    IntoTValue, TDim, TValue, Tensor, TractResult, TypedRunnableModel, tvec,
};

use crate::backend::{RunError, Session};
use crate::config::{ElementType, ModelConfig};
use crate::error::ModelError;
use crate::onnx_graph::OnnxGraph;
use crate::panic_guard::caught;
use crate::tensor_data::{Elements, TypedTensor};

/// A model optimised and planned by tract. Running it takes `&self`, so callers run in parallel.
pub struct TractSession {
    plan: Arc<TypedRunnableModel>,
    /// For each graph input, in graph order, the index of that input in `model.toml`.
    feed: Vec<usize>,
    /// For each output in `model.toml`, its index among the graph's outputs.
    take: Vec<usize>,
}

impl TractSession {
    pub fn load(graph: &OnnxGraph, config: &ModelConfig) -> Result<TractSession, ModelError> {
        let onnx = tract_onnx::onnx();
        let missing: Vec<String> = graph
            .operators()
            .into_iter()
            .filter(|(_, op)| !onnx.op_register.0.contains_key(op))
            .map(|(domain, op)| match domain.as_str() {
                "" => op,
                _ => format!("{domain}.{op}"),
            })
            .collect();
        if !missing.is_empty() {
            return Err(ModelError::TractUnsupported { operators: missing });
        }
        let failed = |e: tract_onnx::prelude::TractError| ModelError::Backend {
            backend: "tract",
            message: format!("{e:#}"),
        };
        let plan = caught(|| {
            onnx.model_for_proto_model(&graph.proto)
                .and_then(|model| with_declared_inputs(model, graph, config))
                .and_then(|model| model.into_optimized())
                .and_then(|model| model.into_runnable())
                .map_err(failed)
        })
        .map_err(|message| ModelError::Backend {
            backend: "tract",
            message,
        })??;
        let feed = graph
            .inputs
            .iter()
            .map(|t| position(config.inputs.iter().map(|s| &s.name), &t.name))
            .collect();
        let take = config
            .outputs
            .iter()
            .map(|s| position(graph.outputs.iter().map(|t| &t.name), &s.name))
            .collect();
        Ok(TractSession { plan, feed, take })
    }
}

/// Tells tract each input's type and shape as `model.toml` declares them: exporters often leave
/// the batch dimension unnamed, and tract needs a symbol for it. Every `-1` in the first place
/// is the shared batch size `N`; any other `-1` gets its own symbol.
fn with_declared_inputs(
    mut model: InferenceModel,
    graph: &OnnxGraph,
    config: &ModelConfig,
) -> TractResult<InferenceModel> {
    for (i, input) in graph.inputs.iter().enumerate() {
        let spec = &config.inputs[position(config.inputs.iter().map(|s| &s.name), &input.name)];
        let dims: Vec<TDim> = spec
            .shape
            .iter()
            .enumerate()
            .map(|(axis, &d)| match (axis, d) {
                (_, d) if d > 0 => TDim::from(d),
                (0, _) => model.sym("N").into(),
                (axis, _) => model.sym(&format!("{}_{axis}", spec.name)).into(),
            })
            .collect();
        model.set_input_fact(i, InferenceFact::dt_shape(datum_type(spec.ty), dims))?;
    }
    Ok(model)
}

fn datum_type(ty: ElementType) -> DatumType {
    match ty {
        ElementType::Fp32 => DatumType::F32,
        ElementType::Fp64 => DatumType::F64,
        ElementType::U8 => DatumType::U8,
        ElementType::I32 => DatumType::I32,
        ElementType::I64 => DatumType::I64,
        ElementType::Fp16 | ElementType::Bf16 => {
            unreachable!("half-precision packages are refused before they reach a runtime")
        }
    }
}

/// Where `name` is among `names`; the package check has made sure it is there.
fn position<'a>(mut names: impl Iterator<Item = &'a String>, name: &str) -> usize {
    names
        .position(|n| n == name)
        .expect("model.toml was checked against model.onnx")
}

impl Session for TractSession {
    fn run(&self, inputs: Vec<TypedTensor>) -> Result<Vec<TypedTensor>, RunError> {
        let run = || -> TractResult<Vec<TypedTensor>> {
            let mut fed = tvec![];
            for &i in &self.feed {
                fed.push(to_tvalue(&inputs[i])?);
            }
            let outputs = self.plan.run(fed)?;
            self.take
                .iter()
                .map(|&i| from_tvalue(&outputs[i]))
                .collect()
        };
        Ok(caught(run)?.map_err(|e| format!("{e:#}"))?)
    }
}

fn to_tvalue(tensor: &TypedTensor) -> TractResult<TValue> {
    let shape = &tensor.shape;
    let tensor = match &tensor.elements {
        Elements::F32(v) => Tensor::from_shape(shape, v)?,
        Elements::F64(v) => Tensor::from_shape(shape, v)?,
        Elements::U8(v) => Tensor::from_shape(shape, v)?,
        Elements::I32(v) => Tensor::from_shape(shape, v)?,
        Elements::I64(v) => Tensor::from_shape(shape, v)?,
    };
    Ok(tensor.into_tvalue())
}

fn from_tvalue(value: &TValue) -> TractResult<TypedTensor> {
    fn typed<T: tract_onnx::prelude::Datum + Copy>(
        value: &Tensor,
        wrap: fn(Vec<T>) -> Elements,
    ) -> TractResult<TypedTensor> {
        let view = value.to_plain_array_view::<T>()?;
        Ok(TypedTensor {
            shape: value.shape().to_vec(),
            elements: wrap(view.iter().copied().collect()),
        })
    }
    // tract computes some integer outputs (an index from ArgMax, say) as symbolic dimensions;
    // by then they are plain numbers, and ONNX says they are int64.
    let value = match value.datum_type() {
        DatumType::TDim => value.cast_to_dt(DatumType::I64)?,
        _ => std::borrow::Cow::Borrowed(&**value),
    };
    match value.datum_type() {
        DatumType::F32 => typed(&value, Elements::F32),
        DatumType::F64 => typed(&value, Elements::F64),
        DatumType::U8 => typed(&value, Elements::U8),
        DatumType::I32 => typed(&value, Elements::I32),
        DatumType::I64 => typed(&value, Elements::I64),
        other => Err(anyhow::anyhow!(
            "tract produced {other:?} elements, which are not supported"
        )),
    }
}
