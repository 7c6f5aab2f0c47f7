//! The digits package's two contracts, Rust (1.0.0) and Python (1.1.0): on every fixture they give
//! the model the same tensor and the same answer, and they refuse the same bad inputs, each with
//! an error naming what is wrong.

mod common;

use common::models::{DIGITS, Digits, backends, example_dir, fixture};
use serde_json::Value as Json;
use trellis_host::CallError;
use trellis_host::types::{Blob, Value};
use trellis_models::{ModelPipeline, PredictError};

fn image(data: Vec<u8>) -> Value {
    Value::Bytes(Blob {
        media_type: "application/octet-stream".into(),
        data,
    })
}

fn answer(model: &ModelPipeline, input: &Value) -> Json {
    match model.predict(input) {
        Ok(Value::Json(text)) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected a JSON answer, got {other:?}"),
    }
}

/// Every committed input: the fixture images, their other encodings and the held-out rows.
fn fixture_inputs() -> Vec<(String, Value)> {
    let dir = example_dir("digits").join("fixtures");
    let mut inputs = Vec::new();
    for entry in fixture("digits", "images.json").as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        inputs.push((
            file.to_string(),
            image(std::fs::read(dir.join("images").join(file)).unwrap()),
        ));
    }
    for entry in fixture("digits", "encodings.json").as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        inputs.push((
            file.to_string(),
            image(std::fs::read(dir.join("encodings").join(file)).unwrap()),
        ));
    }
    let heldout = fixture("digits", "heldout.json");
    for (i, row) in heldout["features"].as_array().unwrap().iter().enumerate() {
        let numbers = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        inputs.push((format!("held-out row {i}"), Value::Numbers(numbers)));
    }
    inputs
}

/// The contracts compute alike (the Python one rounds to f32 as Rust does), so the model sees
/// the same tensor and the answers are equal, not merely close.
#[test]
fn the_python_contract_answers_every_fixture_as_the_rust_one() {
    let host = common::host();
    let [rust, python] = DIGITS;
    let inputs = fixture_inputs();
    for backend in backends() {
        let (rust, python) = (rust.load(&host, backend), python.load(&host, backend));
        for (what, input) in &inputs {
            assert_eq!(
                answer(&python, input),
                answer(&rust, input),
                "{what} on {backend:?}: Python's answer, then Rust's"
            );
        }
    }
}

fn refusal(digits: &Digits, model: &ModelPipeline, input: &Value) -> String {
    match model.predict(input) {
        Err(PredictError::Preprocess(CallError::Failed { message, .. })) => message,
        other => panic!(
            "the {} contract should refuse the input, got {other:?}",
            digits.language
        ),
    }
}

/// A fixture image: an 8-bit grey 32×32 PNG.
fn fixture_png() -> Vec<u8> {
    std::fs::read(example_dir("digits").join("fixtures/images/digit-3.png")).unwrap()
}

#[test]
fn bad_inputs_are_refused_naming_the_problem_by_both_contracts() {
    let host = common::host();
    let png = fixture_png();
    let mut bad_crc = png.clone();
    bad_crc[20] ^= 0xff; // Inside IHDR's width: the chunk's CRC no longer matches.
    let truncated = png[..png.len() / 2].to_vec();
    let mut wrong_depth = png.clone();
    wrong_depth[24] = 3; // Bit depth 3 does not exist (its CRC is fixed below).
    let crc = crc32(&wrong_depth[12..29]);
    wrong_depth[29..33].copy_from_slice(&crc.to_be_bytes());
    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "a GIF",
            image(b"GIF89a....".to_vec()),
            &["neither PNG nor PGM"],
        ),
        ("a PNG with a bad CRC", image(bad_crc), &["bad PNG", "CRC"]),
        ("half a PNG", image(truncated), &["bad PNG"]),
        ("a 3-bit PNG", image(wrong_depth), &["bad PNG"]),
        (
            "a 4×4 image",
            image(b"P5\n4 4\n255\n0123456789abcdef".to_vec()),
            &["the image is 4×4; it must be at least 8×8"],
        ),
        (
            "a short PGM",
            image(b"P5\n16 16\n255\n\x00\x01".to_vec()),
            &["PGM data shorter than width × height"],
        ),
        (
            "a PGM without a header",
            image(b"P2\n4\n".to_vec()),
            &["bad PGM header"],
        ),
        (
            "ten numbers",
            Value::Numbers(vec![1.0; 10]),
            &["expected 64 numbers", "got 10"],
        ),
        (
            "numbers out of range",
            Value::Numbers(vec![20.0; 64]),
            &["is outside 0..=16"],
        ),
        (
            "text",
            Value::Text("seven".into()),
            &["expected an image or 64 numbers, got text"],
        ),
    ];
    for digits in DIGITS {
        let model = digits.load(&host, trellis_models::BackendChoice::Tract);
        for (what, input, expected) in &cases {
            let why = refusal(&digits, &model, input);
            for part in *expected {
                assert!(
                    why.contains(part),
                    "{what}, {} contract: `{why}` should say `{part}`",
                    digits.language
                );
            }
        }
        // A refusal leaves the contract serving.
        answer(&model, &image(fixture_png()));
    }
}

/// Pure Python reads an image in the contract's memory and time: one larger than a VGA frame
/// (the largest fixture, read by the tests above within the package's limits) is refused before
/// its pixels are read, with the limit named.
#[test]
fn the_python_contract_refuses_an_image_over_its_size_limit_naming_it() {
    let host = common::host();
    let python = DIGITS[1];
    let model = python.load(&host, trellis_models::BackendChoice::Tract);
    let mut png = fixture_png();
    png[16..24].copy_from_slice(&[0, 0, 2, 0x81, 0, 0, 1, 0xe0]); // IHDR: 641×480.
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let why = refusal(&python, &model, &image(png));
    assert!(
        why.contains("the image is 641×480; this contract reads images of up to 307200 pixels"),
        "{why}"
    );
}

/// CRC-32 as PNG chunks use it (ISO 3309).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An encoding that keeps every grey level reads as its source image: the answer ONNX Runtime
/// gave for the source, within the runtimes' tolerance, from either contract.
#[test]
fn every_lossless_encoding_reads_as_its_source_image() {
    let host = common::host();
    let dir = example_dir("digits").join("fixtures/encodings");
    let references = fixture("digits", "images.json");
    for (digits, backend) in common::models::digits_on_every_backend() {
        let model = digits.load(&host, backend);
        for entry in fixture("digits", "encodings.json").as_array().unwrap() {
            if entry["lossless"] != true {
                continue;
            }
            let file = entry["file"].as_str().unwrap();
            let source = references
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["file"] == entry["source"])
                .unwrap();
            let got = answer(&model, &image(std::fs::read(dir.join(file)).unwrap()));
            let what = format!("{file}, {} contract on {backend:?}", digits.language);
            assert_eq!(got["label"], source["onnxruntime"]["label"], "{what}");
            common::models::assert_close(
                &common::models::floats(&got["scores"]),
                &common::models::floats(&source["onnxruntime"]["probabilities"]),
                &what,
            );
        }
    }
}
