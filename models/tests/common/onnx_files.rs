//! ONNX files made in the test from protobuf messages (the same `onnx.proto` types tract reads
//! them with), for models no exporter would write: shapes of any size, data outside the file.

use prost::Message;
use tract_onnx::pb;
use tract_onnx::pb::tensor_proto::{DataLocation, DataType};
use tract_onnx::pb::tensor_shape_proto::{Dimension, dimension};

/// An fp32 graph input or output whose dimensions are each named (of any size).
pub fn any_size(name: &str, rank: usize) -> pb::ValueInfoProto {
    let dim = (0..rank)
        .map(|axis| Dimension {
            value: Some(dimension::Value::DimParam(format!("{name}_{axis}"))),
            ..Default::default()
        })
        .collect();
    value_info(name, dim)
}

/// An fp32 graph input or output of fixed dimensions.
pub fn fixed(name: &str, dims: &[i64]) -> pb::ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(dimension::Value::DimValue(d)),
            ..Default::default()
        })
        .collect();
    value_info(name, dim)
}

fn value_info(name: &str, dim: Vec<Dimension>) -> pb::ValueInfoProto {
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn node(op: &str, inputs: &[&str], outputs: &[&str]) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        name: format!("{op}_{}", outputs.join("_")),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// An fp32 tensor holding `values` in the file.
pub fn tensor(name: &str, values: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: vec![values.len() as i64],
        data_type: DataType::Float as i32,
        float_data: values.to_vec(),
        ..Default::default()
    }
}

/// An fp32 tensor of `len` elements whose data, it says, is in the file `location`.
pub fn external_tensor(name: &str, len: i64, location: &str) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: vec![len],
        data_type: DataType::Float as i32,
        data_location: Some(DataLocation::External as i32),
        external_data: vec![pb::StringStringEntryProto {
            key: "location".into(),
            value: location.into(),
        }],
        ..Default::default()
    }
}

/// A graph attribute (the branch of an `If`, the body of a `Loop`).
pub fn graph_attribute(name: &str, graph: pb::GraphProto) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Graph as i32,
        g: Some(graph),
        ..Default::default()
    }
}

/// A tensor attribute (the `value` of a `Constant`).
pub fn tensor_attribute(name: &str, tensor: pb::TensorProto) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Tensor as i32,
        t: Some(tensor),
        ..Default::default()
    }
}

/// A graph of `nodes` from `inputs` to `outputs`.
pub fn graph(
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    inputs: Vec<pb::ValueInfoProto>,
    outputs: Vec<pb::ValueInfoProto>,
) -> pb::GraphProto {
    pb::GraphProto {
        name: "crafted".into(),
        node: nodes,
        initializer: initializers,
        input: inputs,
        output: outputs,
        ..Default::default()
    }
}

/// The ONNX file of a model of `graph` (opset 17).
pub fn model(graph: pb::GraphProto) -> Vec<u8> {
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        producer_name: "trellis tests".into(),
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

/// The `model.toml` of a package named `name` with fp32 tensors `x` in and `y` out of `shape`.
pub fn config(name: &str, backend: &str, x: &[i64], y: &[i64]) -> String {
    format!(
        r#"name = "{name}"
version = "1.0.0"
backend = "{backend}"

[[inputs]]
name = "x"
type = "fp32"
shape = {x:?}

[[outputs]]
name = "y"
type = "fp32"
shape = {y:?}
"#
    )
}
