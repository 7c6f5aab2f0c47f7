//! What an ONNX file declares: its inputs, outputs and operators, read from the protobuf without
//! building a runtime, so a package can be checked before either backend sees it.

use tract_onnx::pb;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
use tract_onnx::prelude::Framework;

use crate::config::{ElementType, TensorSpec};

/// The parsed ONNX file.
pub struct OnnxGraph {
    pub proto: pb::ModelProto,
    pub inputs: Vec<GraphTensor>,
    pub outputs: Vec<GraphTensor>,
}

/// A graph input or output as the file declares it.
pub struct GraphTensor {
    pub name: String,
    /// The element type, or the ONNX name of a type packages cannot declare (such as `string`).
    pub ty: Result<ElementType, String>,
    /// Each dimension: a fixed size, or `None` for a symbolic or unknown one.
    pub dims: Option<Vec<Option<i64>>>,
}

impl OnnxGraph {
    /// Parses ONNX bytes. The error says why they are not an ONNX model.
    pub fn parse(bytes: &[u8]) -> Result<OnnxGraph, String> {
        let proto = tract_onnx::onnx()
            .proto_model_for_read(&mut &*bytes)
            .map_err(|e| format!("not an ONNX model ({e:#})"))?;
        let graph = proto.graph.as_ref().ok_or("the ONNX model has no graph")?;
        // Older exporters list initializers (weights) among the inputs; they are not fed.
        let inputs = graph
            .input
            .iter()
            .filter(|i| !graph.initializer.iter().any(|w| w.name == i.name))
            .map(GraphTensor::from_proto)
            .collect();
        let outputs = graph.output.iter().map(GraphTensor::from_proto).collect();
        Ok(OnnxGraph {
            inputs,
            outputs,
            proto,
        })
    }

    /// Every operator the graph uses, as `domain:op` (or `op` in the default domain), once each.
    pub fn operators(&self) -> Vec<(String, String)> {
        let mut ops: Vec<(String, String)> = self
            .proto
            .graph
            .iter()
            .flat_map(|g| &g.node)
            .map(|n| (n.domain.clone(), n.op_type.clone()))
            .collect();
        ops.sort();
        ops.dedup();
        ops
    }

    /// Checks `model.toml`'s tensors against the graph's. Returns every mismatch, one per line.
    pub fn check(&self, inputs: &[TensorSpec], outputs: &[TensorSpec]) -> Result<(), String> {
        let mut problems = Vec::new();
        for (side, declared, actual) in [
            ("input", inputs, &self.inputs),
            ("output", outputs, &self.outputs),
        ] {
            for spec in declared {
                match actual.iter().find(|t| t.name == spec.name) {
                    None => problems.push(format!(
                        "{side} `{}` is declared in model.toml, but model.onnx has no such {side} (it has {})",
                        spec.name,
                        names(actual)
                    )),
                    Some(tensor) => problems.extend(tensor.mismatch(side, spec)),
                }
            }
            if side == "input" {
                for tensor in actual {
                    if !declared.iter().any(|s| s.name == tensor.name) {
                        problems.push(format!(
                            "model.onnx needs input `{}`, which model.toml does not declare",
                            tensor.name
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

impl GraphTensor {
    fn from_proto(info: &pb::ValueInfoProto) -> GraphTensor {
        let tensor = match info.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(pb::type_proto::Value::TensorType(t)) => Some(t),
            _ => None,
        };
        let ty = match tensor {
            Some(t) => element_type(t.elem_type),
            None => Err("a non-tensor value".into()),
        };
        let dims = tensor.and_then(|t| t.shape.as_ref()).map(|shape| {
            shape
                .dim
                .iter()
                .map(|d| match d.value {
                    Some(Dim::DimValue(n)) if n > 0 => Some(n),
                    _ => None,
                })
                .collect()
        });
        GraphTensor {
            name: info.name.clone(),
            ty,
            dims,
        }
    }

    /// How `spec` disagrees with this tensor. A fixed dimension in the file must be declared with
    /// the same size; a symbolic one may be declared as anything.
    fn mismatch(&self, side: &str, spec: &TensorSpec) -> Option<String> {
        let actual = self.describe();
        let problem = || {
            Some(format!(
                "{side} `{}`: model.toml says {}, model.onnx has {actual}",
                spec.name,
                spec.describe()
            ))
        };
        match &self.ty {
            Ok(ty) if *ty == spec.ty => {}
            _ => return problem(),
        }
        if let Some(dims) = &self.dims {
            if dims.len() != spec.shape.len() {
                return problem();
            }
            for (actual, &declared) in dims.iter().zip(&spec.shape) {
                if let Some(size) = actual
                    && *size != declared
                {
                    return problem();
                }
            }
        }
        None
    }

    fn describe(&self) -> String {
        let ty = match &self.ty {
            Ok(ty) => ty.name().to_string(),
            Err(name) => name.clone(),
        };
        match &self.dims {
            Some(dims) => {
                let dims: Vec<String> = dims
                    .iter()
                    .map(|d| d.map_or("?".into(), |n| n.to_string()))
                    .collect();
                format!("{ty}[{}]", dims.join(", "))
            }
            None => format!("{ty} of unknown shape"),
        }
    }
}

fn element_type(code: i32) -> Result<ElementType, String> {
    let ty = DataType::try_from(code).map_err(|_| format!("ONNX element type {code}"))?;
    Ok(match ty {
        DataType::Float => ElementType::Fp32,
        DataType::Double => ElementType::Fp64,
        DataType::Float16 => ElementType::Fp16,
        DataType::Bfloat16 => ElementType::Bf16,
        DataType::Uint8 => ElementType::U8,
        DataType::Int32 => ElementType::I32,
        DataType::Int64 => ElementType::I64,
        other => return Err(format!("{other:?}").to_lowercase()),
    })
}

fn names(tensors: &[GraphTensor]) -> String {
    let names: Vec<String> = tensors.iter().map(|t| format!("`{}`", t.name)).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
