//! Model packages crafted against the platform, through the real pipeline on every runtime this
//! machine has: tensor shapes whose size overflows, and ONNX files that point at data outside
//! themselves. Each is refused with an error naming the tensor, and nothing wraps or is read.

mod common;

use std::sync::Arc;

use common::RecordingLog;
use common::models::{backends, f32_tensor, f32s, runtimes, versions};
use common::onnx_files::{
    any_size, config, external_tensor, fixed, graph, graph_attribute, model, node, tensor,
    tensor_attribute,
};
use trellis_guest_artifacts::{DIGITS_CONTRACT, read};
use trellis_host::capabilities::ModelRuntime;
use trellis_host::types::{Error, Tensor, TensorType};
use trellis_models::{BackendChoice, ModelCatalog, ModelError, ModelPackage, ModelPipeline};

fn backend_name(backend: BackendChoice) -> &'static str {
    match backend {
        BackendChoice::Tract => "tract",
        BackendChoice::OnnxRuntime => "onnx-runtime",
        BackendChoice::Auto => "auto",
    }
}

fn load(config: &str, onnx: Vec<u8>) -> Result<ModelPipeline, ModelError> {
    let package = ModelPackage::from_parts(config, onnx, read(DIGITS_CONTRACT))?;
    ModelPipeline::load(
        &common::host(),
        &runtimes(),
        package,
        Arc::new(RecordingLog::default()),
    )
}

/// y = Identity(x), x of three dimensions of any size.
fn identity(backend: BackendChoice) -> ModelPipeline {
    let onnx = model(graph(
        vec![node("Identity", &["x"], &["y"])],
        vec![],
        vec![any_size("x", 3)],
        vec![any_size("y", 3)],
    ));
    let toml = config("identity", backend_name(backend), &[-1; 3], &[-1; 3]);
    load(&toml, onnx).unwrap_or_else(|e| panic!("loading identity on {backend:?}: {e}"))
}

#[test]
fn three_huge_any_size_dimensions_are_refused_naming_the_tensor_not_wrapped_to_zero_bytes() {
    for backend in backends() {
        let model = identity(backend);
        let values: Vec<f32> = (0..24).map(|i| i as f32).collect();
        let small = model.run(vec![f32_tensor("x", &[2, 3, 4], &values)]);
        assert_eq!(f32s(&small.unwrap()[0]), values, "on {backend:?}");

        // 2^22 · 2^22 · 2^22 elements of 4 bytes: 2^68 bytes, which wraps to 0 in 64 bits.
        let huge = Tensor {
            name: "x".into(),
            ty: TensorType::Fp32,
            dimensions: vec![1 << 22; 3],
            data: Vec::new(),
        };
        let why = model.run(vec![huge.clone()]).err().unwrap().to_string();
        assert!(
            why.contains("`x`") && why.contains("[4194304, 4194304, 4194304]"),
            "on {backend:?}: {why}"
        );
        assert!(why.contains("overflows"), "on {backend:?}: {why}");

        // The same through the `inference` import an app calls, and the model goes on.
        let catalog = ModelCatalog::new(
            Arc::new(common::host()),
            runtimes(),
            Arc::new(RecordingLog::default()),
        );
        catalog.insert(model);
        let app = catalog.for_app(
            &["identity".to_string()],
            &versions(&[("identity", "1.0.0")]),
        );
        match app.run("identity", vec![huge]) {
            Err(Error::InvalidInput(why)) => assert!(why.contains("overflows"), "{why}"),
            other => panic!("on {backend:?}: a huge shape is invalid input, got {other:?}"),
        }
        let again = app.run("identity", vec![f32_tensor("x", &[2, 3, 4], &values)]);
        assert_eq!(f32s(&again.unwrap()[0]), values, "on {backend:?}");
    }
}

#[test]
fn a_declared_shape_whose_size_overflows_is_refused_naming_the_tensor() {
    let onnx = model(graph(
        vec![node("Identity", &["x"], &["y"])],
        vec![],
        vec![any_size("x", 3)],
        vec![any_size("y", 3)],
    ));
    let max = i64::from(u32::MAX);
    let huge = config("identity", "tract", &[max; 3], &[-1; 3]);
    let why = load(&huge, onnx.clone()).err().unwrap();
    assert_eq!(why.file(), "model.toml", "{why}");
    let why = why.to_string();
    assert!(
        why.contains("`x`") && why.contains("fp32[4294967295, 4294967295, 4294967295]"),
        "{why}"
    );
    assert!(why.contains("overflows"), "{why}");

    let beyond = config("identity", "tract", &[max + 1, 1, 1], &[-1; 3]);
    let why = load(&beyond, onnx).err().unwrap().to_string();
    assert!(why.contains("`x` has dimension 4294967296"), "{why}");
}

/// The error of loading `onnx` (x, y fp32[3]) on every runtime, which must be the refusal of
/// external data.
fn external_refusals(onnx: Vec<u8>) -> Vec<(Option<String>, String)> {
    backends()
        .into_iter()
        .map(|backend| {
            let toml = config("external", backend_name(backend), &[3], &[3]);
            match load(&toml, onnx.clone()) {
                Err(e @ ModelError::ExternalData { .. }) => {
                    assert_eq!(e.file(), "model.onnx");
                    let text = e.to_string();
                    let ModelError::ExternalData { tensor, location } = e else {
                        unreachable!()
                    };
                    assert!(text.contains(&format!("`{tensor}`")), "{text}");
                    (location, tensor)
                }
                Err(other) => panic!("on {backend:?}: refused, but not for its data: {other}"),
                Ok(_) => panic!("on {backend:?}: a model with external data was loaded"),
            }
        })
        .collect()
}

#[test]
fn an_initializer_with_external_data_is_refused_before_a_runtime_reads_it() {
    let onnx = model(graph(
        vec![node("Add", &["x", "w"], &["y"])],
        vec![external_tensor("w", 3, "/etc/passwd")],
        vec![fixed("x", &[3])],
        vec![fixed("y", &[3])],
    ));
    for (location, tensor) in external_refusals(onnx) {
        assert_eq!(tensor, "w");
        assert_eq!(location.as_deref(), Some("/etc/passwd"));
    }

    // Entries under `external_data` count even where `data_location` says nothing.
    let mut weights = external_tensor("w", 3, "weights.bin");
    weights.data_location = None;
    let onnx = model(graph(
        vec![node("Add", &["x", "w"], &["y"])],
        vec![weights],
        vec![fixed("x", &[3])],
        vec![fixed("y", &[3])],
    ));
    for (_, tensor) in external_refusals(onnx) {
        assert_eq!(tensor, "w");
    }
}

#[test]
fn an_attribute_tensor_with_external_data_is_refused_in_the_graph_and_in_subgraphs() {
    let mut constant = node("Constant", &[], &["w"]);
    constant
        .attribute
        .push(tensor_attribute("value", external_tensor("", 3, "w.bin")));
    let onnx = model(graph(
        vec![constant.clone(), node("Add", &["x", "w"], &["y"])],
        vec![],
        vec![fixed("x", &[3])],
        vec![fixed("y", &[3])],
    ));
    for (location, tensor) in external_refusals(onnx) {
        assert_eq!(tensor, "attribute `value` of node `Constant_w` (Constant)");
        assert_eq!(location.as_deref(), Some("w.bin"));
    }

    // y = If(c) then x + w (w from a Constant inside the branch) else x; c is a constant.
    let mut inner = constant;
    inner.attribute[0].t.as_mut().unwrap().name = "deep".into();
    let then_branch = graph(
        vec![inner, node("Add", &["x", "w"], &["z"])],
        vec![],
        vec![],
        vec![fixed("z", &[3])],
    );
    let else_branch = graph(
        vec![node("Identity", &["x"], &["z2"])],
        vec![],
        vec![],
        vec![fixed("z2", &[3])],
    );
    let mut branch = node("If", &["c"], &["y"]);
    branch.attribute = vec![
        graph_attribute("then_branch", then_branch),
        graph_attribute("else_branch", else_branch),
    ];
    let mut condition = tensor("c", &[]);
    condition.dims.clear();
    condition.data_type = tract_onnx::pb::tensor_proto::DataType::Bool as i32;
    condition.float_data.clear();
    condition.int32_data = vec![1];
    let onnx = model(graph(
        vec![branch],
        vec![condition],
        vec![fixed("x", &[3])],
        vec![fixed("y", &[3])],
    ));
    for (_, tensor) in external_refusals(onnx) {
        assert_eq!(tensor, "deep");
    }
}
