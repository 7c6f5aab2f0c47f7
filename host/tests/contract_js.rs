//! A JavaScript contract (`tests/guests/tensors-js`), run as a real component: the SDK's tensors
//! carry each element type in the layout wasi-nn defines, bytes keep their media type, and a
//! contract that returns no tensors is refused with a clear error.

use trellis_host_test_support as common;

use std::sync::Arc;

use common::RecordingLog;
use trellis_guest_artifacts::{TENSORS_JS, read};
use trellis_host::types::{Blob, Tensor, TensorType, Value};
use trellis_host::{CallError, ContractInstance, InstanceLimits};

fn start() -> ContractInstance {
    let contract = common::host().load_contract(&read(TENSORS_JS)).unwrap();
    let limits = InstanceLimits {
        memory_bytes: 64 << 20,
        call_deadline: std::time::Duration::from_secs(2),
        ..common::quick_limits()
    };
    contract
        .instantiate(Arc::new(RecordingLog::default()), limits)
        .unwrap()
}

const VALUES: [f64; 4] = [1.0, 2.5, 0.5, 3.0];

/// The little-endian bytes of each value, as wasi-nn lays out a tensor of `ty`.
fn expected_bytes(ty: TensorType) -> Vec<u8> {
    let each = |f: &dyn Fn(f64) -> Vec<u8>| VALUES.iter().flat_map(|v| f(*v)).collect();
    match ty {
        TensorType::Fp32 => each(&|v| (v as f32).to_le_bytes().to_vec()),
        TensorType::Fp64 => each(&|v| v.to_le_bytes().to_vec()),
        TensorType::I32 => each(&|v| (v as i32).to_le_bytes().to_vec()),
        TensorType::I64 => each(&|v| (v as i64).to_le_bytes().to_vec()),
        TensorType::U8 => each(&|v| vec![v as u8]),
        // bfloat16: the upper half of the float32.
        TensorType::Bf16 => each(&|v| ((v as f32).to_bits() >> 16).to_le_bytes()[..2].to_vec()),
        // Half precision: every value here is exact, so the sign, exponent (bias 15) and the top
        // ten mantissa bits of the float32 say it.
        TensorType::Fp16 => each(&|v| {
            let bits = (v as f32).to_bits();
            let exponent = ((bits >> 23) & 0xff) as i32 - 127 + 15;
            let half = ((bits >> 16) & 0x8000) | ((exponent as u32) << 10) | ((bits >> 13) & 0x3ff);
            (half as u16).to_le_bytes().to_vec()
        }),
    }
}

#[test]
fn numbers_become_a_tensor_of_each_element_type_in_the_wasi_nn_layout() {
    let tensors = start()
        .preprocess(&Value::Numbers(VALUES.to_vec()))
        .unwrap();
    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["f16", "f32", "f64", "bf16", "u8", "i32", "i64"]);
    for tensor in &tensors {
        assert_eq!(tensor.dimensions, [1, 4], "{}", tensor.name);
        assert_eq!(tensor.data, expected_bytes(tensor.ty), "{}", tensor.name);
    }
}

#[test]
fn the_models_tensors_come_back_as_arrays() {
    let mut contract = start();
    let tensors = contract
        .preprocess(&Value::Numbers(VALUES.to_vec()))
        .unwrap();
    let answer = contract.postprocess(&tensors).unwrap();
    let Value::Json(json) = answer else {
        panic!("expected JSON, got {answer:?}")
    };
    let answer: serde_json::Value = serde_json::from_str(&json).unwrap();
    for dtype in ["f16", "f32", "f64", "bf16", "i32", "i64"] {
        let values: Vec<f64> = answer[dtype]["values"]
            .as_array()
            .unwrap_or_else(|| panic!("{dtype} in {answer}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let expected: Vec<f64> = if dtype.starts_with('i') {
            VALUES.iter().map(|v| v.trunc()).collect()
        } else {
            VALUES.to_vec()
        };
        assert_eq!(values, expected, "{dtype}");
        assert_eq!(answer[dtype]["shape"], serde_json::json!([1, 4]));
    }
}

#[test]
fn bytes_keep_their_media_type() {
    let frame = Value::Bytes(Blob {
        media_type: "image/png".into(),
        data: vec![137, 80, 78, 71],
    });
    let tensors = start().preprocess(&frame).unwrap();
    assert_eq!(tensors.len(), 1);
    assert_eq!(tensors[0].name, "image/png");
    assert_eq!(tensors[0].ty, TensorType::U8);
    assert_eq!(tensors[0].data, [137, 80, 78, 71]);
}

#[test]
fn a_preprocess_that_returns_no_tensors_is_refused() {
    match start().preprocess(&Value::Text("no tensors".into())) {
        Err(CallError::Failed { message, .. }) => assert!(
            message.contains("preprocess must return an array of Tensor"),
            "{message}"
        ),
        other => panic!("expected the contract's error, got {other:?}"),
    }
    let bad = Tensor {
        name: "short".into(),
        dimensions: vec![2],
        ty: TensorType::Fp32,
        data: vec![0; 3],
    };
    match start().postprocess(&[bad]) {
        Err(CallError::Failed { message, .. }) => assert!(
            message.contains("tensor short: 3 bytes, but shape [2] of f32 needs 8"),
            "{message}"
        ),
        other => panic!("expected the contract's error, got {other:?}"),
    }
}
