//! The digits contract, run as a real component: what it makes of each kind of input, what it
//! answers, and how it refuses what it cannot read.

use trellis_host_test_support as common;

use std::sync::Arc;

use common::RecordingLog;
use trellis_guest_artifacts::{CLASSROOM_THERMOSTAT, COMFORT_CONTRACT, DIGITS_CONTRACT, read};
use trellis_host::types::{Blob, Tensor, TensorType, Value};
use trellis_host::{CallError, ContractInstance, LoadError};

/// A fresh instance of the contract component at `path`.
fn start(path: &str) -> ContractInstance {
    let host = common::host();
    let contract = host
        .load_contract(&read(path))
        .unwrap_or_else(|e| panic!("loading {path}: {e}"));
    contract
        .instantiate(Arc::new(RecordingLog::default()), common::quick_limits())
        .unwrap()
}

fn digits() -> ContractInstance {
    start(DIGITS_CONTRACT)
}

fn f32s(tensor: &Tensor) -> Vec<f32> {
    assert_eq!(tensor.ty, TensorType::Fp32);
    tensor
        .data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// A digit-like pattern of 64 features in 0..=16.
fn pattern() -> Vec<f64> {
    (0..64)
        .map(|i| {
            if (2..6).contains(&(i % 8)) {
                (i % 17) as f64
            } else {
                0.0
            }
        })
        .collect()
}

fn png(width: u32, height: u32, color: png::ColorType, samples: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .unwrap()
        .write_image_data(samples)
        .unwrap();
    bytes
}

/// The pattern drawn `scale`× larger as dark ink on white paper, one grey level a pixel.
fn drawn(scale: usize) -> (usize, Vec<u8>) {
    let features = pattern();
    let side = 8 * scale;
    let grey = (0..side * side)
        .map(|i| {
            let feature = features[(i / side / scale) * 8 + (i % side) / scale];
            (255.0 - feature * 255.0 / 16.0).round() as u8
        })
        .collect();
    (side, grey)
}

fn assert_features(tensors: &[Tensor], tolerance: f32) {
    assert_eq!(tensors.len(), 1);
    assert_eq!(tensors[0].name, "input");
    assert_eq!(tensors[0].dimensions, [1, 64]);
    for (got, want) in f32s(&tensors[0]).iter().zip(pattern()) {
        assert!((got - want as f32).abs() <= tolerance, "{got} vs {want}");
    }
}

#[test]
fn sixty_four_numbers_pass_through_as_the_input_tensor() {
    let tensors = digits().preprocess(&Value::Numbers(pattern())).unwrap();
    assert_features(&tensors, 0.0);
}

#[test]
fn greyscale_and_colour_images_of_any_size_give_the_same_features() {
    let mut contract = digits();
    // 8-bit grey levels carry the features to within 16/255.
    let tolerance = 16.0 / 255.0;
    for scale in [1, 4, 7] {
        let (side, grey) = drawn(scale);
        let rgb: Vec<u8> = grey.iter().flat_map(|&g| [g, g, g]).collect();
        let mut pgm = format!("P5\n{side} {side}\n255\n").into_bytes();
        pgm.extend(&grey);
        let images = [
            (
                "image/png",
                png(side as u32, side as u32, png::ColorType::Grayscale, &grey),
            ),
            (
                "image/png",
                png(side as u32, side as u32, png::ColorType::Rgb, &rgb),
            ),
            ("image/x-portable-graymap", pgm),
        ];
        for (media_type, data) in images {
            let image = Value::Bytes(Blob {
                media_type: media_type.into(),
                data,
            });
            assert_features(&contract.preprocess(&image).unwrap(), tolerance);
        }
    }
}

#[test]
fn the_answer_is_the_most_probable_digit() {
    let mut scores = [0.01f32; 10];
    scores[7] = 0.91;
    let probabilities = Tensor {
        name: "probabilities".into(),
        dimensions: vec![1, 10],
        ty: TensorType::Fp32,
        data: scores.iter().flat_map(|s| s.to_le_bytes()).collect(),
    };
    let label = Tensor {
        name: "label".into(),
        dimensions: vec![1],
        ty: TensorType::I64,
        data: 3i64.to_le_bytes().to_vec(),
    };
    match digits().postprocess(&[label, probabilities]).unwrap() {
        Value::Json(json) => {
            assert!(
                json.starts_with("{\"label\":7,\"confidence\":0.910000,\"scores\":[0.010000,"),
                "{json}"
            );
        }
        other => panic!("expected JSON, got {other:?}"),
    }
}

#[test]
fn unreadable_inputs_are_refused_with_what_was_expected() {
    let mut contract = digits();
    let cases = [
        (
            Value::Text("seven".into()),
            "expected an image or 64 numbers, got text",
        ),
        (Value::Numbers(vec![1.0; 63]), "expected 64 numbers"),
        (
            Value::Bytes(Blob {
                media_type: "image/gif".into(),
                data: b"GIF89a".to_vec(),
            }),
            "neither PNG nor PGM",
        ),
        (
            Value::Bytes(Blob {
                media_type: "image/png".into(),
                data: b"\x89PNG\r\n\x1a\nbroken".to_vec(),
            }),
            "bad PNG",
        ),
    ];
    for (input, expected) in cases {
        match contract.preprocess(&input) {
            Err(CallError::Failed { export, message }) => {
                assert_eq!(export, "preprocess");
                assert!(message.contains(expected), "{message}");
            }
            other => panic!("expected `{expected}`, got {other:?}"),
        }
    }
    let missing = contract.postprocess(&[]).unwrap_err();
    assert!(
        missing.to_string().contains("no output `probabilities`"),
        "{missing}"
    );
}

#[test]
fn apps_and_contracts_are_not_mistaken_for_each_other() {
    let host = common::host();
    match host.load_contract(&read(CLASSROOM_THERMOSTAT)) {
        Err(LoadError::WorldMismatch { world, problems }) => {
            assert_eq!(world, "trellis:platform/contract@0.1.0");
            assert!(
                problems.contains("missing export `preprocess`"),
                "{problems}"
            );
            assert!(
                problems.contains(
                    "imports `trellis:platform/controllers@0.1.0`, which this world does not offer"
                ),
                "{problems}"
            );
        }
        other => panic!("{:?}", other.err()),
    }
    match host.load_app(&read(DIGITS_CONTRACT)) {
        Err(LoadError::WorldMismatch { problems, .. }) => assert!(
            problems.contains("missing export `on-reading`"),
            "{problems}"
        ),
        other => panic!("{:?}", other.err()),
    }
}

fn models_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/models")
}

#[test]
fn the_committed_images_read_as_the_python_reference_reads_them() {
    let fixtures = models_dir().join("digits/fixtures");
    let images: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures.join("images.json")).unwrap()).unwrap();
    let images = images.as_array().unwrap();
    assert_eq!(images.len(), 10);
    let mut contract = digits();
    for image in images {
        let file = image["file"].as_str().unwrap();
        let png = std::fs::read(fixtures.join("images").join(file)).unwrap();
        let tensors = contract
            .preprocess(&Value::Bytes(Blob {
                media_type: "image/png".into(),
                data: png,
            }))
            .unwrap();
        let reference: Vec<f32> = image["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        for (got, want) in f32s(&tensors[0]).iter().zip(&reference) {
            assert!((got - want).abs() < 1e-4, "{file}: {got} vs {want}");
        }
    }
}

fn comfort() -> ContractInstance {
    start(COMFORT_CONTRACT)
}

#[test]
fn comfort_reads_numbers_or_json_and_answers_an_action() {
    let mut contract = comfort();
    let from_numbers = contract
        .preprocess(&Value::Numbers(vec![26.5, 60.0, 25.0]))
        .unwrap();
    let from_json = contract
        .preprocess(&Value::Json(
            r#"{"temperature":26.5,"humidity":60,"occupancy":25}"#.into(),
        ))
        .unwrap();
    assert_eq!(from_numbers, from_json);
    assert_eq!(f32s(&from_numbers[0]), [26.5, 60.0, 25.0]);
    assert_eq!(from_numbers[0].dimensions, [1, 3]);

    let probabilities = Tensor {
        name: "probabilities".into(),
        dimensions: vec![1, 3],
        ty: TensorType::Fp32,
        data: [0.1f32, 0.2, 0.7]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect(),
    };
    let Value::Json(answer) = contract.postprocess(&[probabilities]).unwrap() else {
        panic!("expected JSON")
    };
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["action"], "cool");
    assert_eq!(answer["class"], 2);

    let error = contract
        .preprocess(&Value::Numbers(vec![20.0, 140.0, 3.0]))
        .unwrap_err();
    assert!(error.to_string().contains("humidity 140"), "{error}");
}
