//! ONNX tensors may keep their data in another file (`data_location = EXTERNAL`, with
//! `external_data` naming the file). An uploaded model has no other files, and a runtime told to
//! read one would read a path of the uploader's choosing on the server. So every tensor of the
//! file is looked at before a runtime sees it: initializers, sparse initializers, tensors in
//! node attributes, in subgraphs (`If`, `Loop`, `Scan` bodies), in local functions and in
//! training graphs.

use tract_onnx::pb;
use tract_onnx::pb::tensor_proto::DataLocation;

/// A tensor of the model that points at data outside the file.
#[derive(Debug, PartialEq, Eq)]
pub struct ExternalTensor {
    /// The tensor's name (for an unnamed attribute tensor, the node and attribute it sits in).
    pub tensor: String,
    /// Where it says its data is (the `location` entry), if it says.
    pub location: Option<String>,
}

/// The first tensor of `model` whose data is external, if any.
pub fn find(model: &pb::ModelProto) -> Option<ExternalTensor> {
    let graphs = model.graph.iter().chain(
        model
            .training_info
            .iter()
            .flat_map(|t| t.initialization.iter().chain(&t.algorithm)),
    );
    for graph in graphs {
        if let Some(found) = in_graph(graph) {
            return Some(found);
        }
    }
    model
        .functions
        .iter()
        .flat_map(|f| &f.node)
        .find_map(in_node)
}

fn in_graph(graph: &pb::GraphProto) -> Option<ExternalTensor> {
    let sparse = graph
        .sparse_initializer
        .iter()
        .flat_map(|s| s.values.iter().chain(&s.indices));
    graph
        .initializer
        .iter()
        .chain(sparse)
        .find_map(|t| external(t, || t.name.clone()))
        .or_else(|| graph.node.iter().find_map(in_node))
}

fn in_node(node: &pb::NodeProto) -> Option<ExternalTensor> {
    node.attribute.iter().find_map(|attribute| {
        let sparse = attribute
            .sparse_tensor
            .iter()
            .chain(&attribute.sparse_tensors)
            .flat_map(|s| s.values.iter().chain(&s.indices));
        let unnamed = || {
            format!(
                "attribute `{}` of node `{}` ({})",
                attribute.name, node.name, node.op_type
            )
        };
        attribute
            .t
            .iter()
            .chain(&attribute.tensors)
            .chain(sparse)
            .find_map(|t| {
                external(t, || match t.name.as_str() {
                    "" => unnamed(),
                    name => name.to_string(),
                })
            })
            .or_else(|| {
                attribute
                    .g
                    .iter()
                    .chain(&attribute.graphs)
                    .find_map(in_graph)
            })
    })
}

/// `tensor` as external, named by `name`, if its data lives elsewhere. A tensor with
/// `external_data` entries counts whatever its `data_location` says: a runtime may read them.
fn external(tensor: &pb::TensorProto, name: impl FnOnce() -> String) -> Option<ExternalTensor> {
    let located_outside = tensor.data_location == Some(DataLocation::External as i32);
    if !located_outside && tensor.external_data.is_empty() {
        return None;
    }
    let location = tensor
        .external_data
        .iter()
        .find(|entry| entry.key == "location")
        .map(|entry| entry.value.clone());
    Some(ExternalTensor {
        tensor: name(),
        location,
    })
}
