//! Mutated model packages and inputs: every broken `model.toml`, ONNX file and prediction input
//! is refused with a message, none panics, and a refused input leaves the model answering.
//! Each case's seed is in the failure's message.

mod common;

use std::sync::Arc;

use common::RecordingLog;
use common::models::{example_dir, runtimes};
use trellis_guest_artifacts::{DIGITS_CONTRACT, read};
use trellis_host::types::{Blob, Value};
use trellis_models::{BackendChoice, ModelConfig, ModelPackage, ModelPipeline};
use trellis_mutations::{Mutator, cases};

fn example(name: &str, file: &str) -> Vec<u8> {
    std::fs::read(example_dir(name).join(file)).unwrap()
}

#[test]
fn a_mutated_model_toml_is_parsed_or_refused_with_a_message() {
    let originals: Vec<String> = ["comfort", "digits", "person", "vision"]
        .iter()
        .map(|name| String::from_utf8(example(name, "model.toml")).unwrap())
        .collect();
    let mut refused = 0;
    let total = cases(3000);
    for seed in 0..total {
        let text = Mutator::new(seed).text(&originals[seed as usize % originals.len()]);
        if let Err(message) = ModelConfig::parse(&text) {
            refused += 1;
            assert!(
                !message.trim().is_empty(),
                "seed {seed}: empty refusal for\n{text}"
            );
        }
    }
    assert!(refused * 4 >= total, "only {refused} of {total} refused");
}

/// Loads on tract, the runtime of the embedded default. (ONNX Runtime is a C++ library that
/// may crash on a hostile file; that it never runs one inside the control plane is its own test.)
#[test]
fn a_mutated_onnx_file_is_loaded_or_refused_with_a_message() {
    let host = common::host();
    let config = String::from_utf8(example("digits", "model.toml")).unwrap();
    let onnx = example("digits", "model.onnx");
    let contract = read(DIGITS_CONTRACT);
    let mut refused = 0;
    let total = cases(2000);
    for seed in 0..total {
        let mutant = Mutator::new(seed).bytes(&onnx);
        let loaded =
            ModelPackage::from_parts(&config, mutant, contract.clone()).and_then(|mut package| {
                package.config.backend = BackendChoice::Tract;
                ModelPipeline::load(
                    &host,
                    &runtimes(),
                    package,
                    Arc::new(RecordingLog::default()),
                )
            });
        match loaded {
            Ok(model) => {
                // A mutant that loads must answer or refuse, not panic.
                let _ = model.predict(&Value::Numbers(vec![0.5; 64]));
            }
            Err(e) => {
                refused += 1;
                assert!(
                    !e.to_string().trim().is_empty(),
                    "seed {seed}: empty refusal"
                );
            }
        }
    }
    assert!(refused * 4 >= total, "only {refused} of {total} refused");
}

#[test]
fn a_mutated_prediction_input_is_answered_or_refused_and_the_model_goes_on() {
    let host = common::host();
    let mut package = ModelPackage::from_parts(
        &String::from_utf8(example("digits", "model.toml")).unwrap(),
        example("digits", "model.onnx"),
        read(DIGITS_CONTRACT),
    )
    .unwrap();
    package.config.backend = BackendChoice::Tract;
    let model = ModelPipeline::load(
        &host,
        &runtimes(),
        package,
        Arc::new(RecordingLog::default()),
    )
    .unwrap();
    let images: Vec<Vec<u8>> = std::fs::read_dir(example_dir("digits").join("fixtures/images"))
        .unwrap()
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    assert!(!images.is_empty());
    let odd_numbers = [
        f64::NAN,
        f64::INFINITY,
        -1e308,
        1e308,
        -0.0,
        1e-310,
        8.0,
        16.0,
        -1.0,
    ];
    let reference = model.predict(&Value::Numbers(vec![8.0; 64])).unwrap();
    for seed in 0..cases(400) {
        let mut mutator = Mutator::new(seed);
        let input = if seed % 2 == 0 {
            let image = &images[seed as usize % images.len()];
            Value::Bytes(Blob {
                media_type: "image/png".into(),
                data: mutator.bytes(image),
            })
        } else {
            // Any count around the 64 the model takes, of values no sensor should send.
            let count = seed as usize % 130;
            let numbers =
                (0..count).map(|i| odd_numbers[(seed as usize * 7 + i) % odd_numbers.len()]);
            Value::Numbers(numbers.collect())
        };
        if let Err(e) = model.predict(&input) {
            assert!(
                !e.to_string().trim().is_empty(),
                "seed {seed}: empty refusal"
            );
        }
    }
    assert_eq!(
        format!(
            "{:?}",
            model.predict(&Value::Numbers(vec![8.0; 64])).unwrap()
        ),
        format!("{reference:?}"),
        "the model answers as before the mutants"
    );
}
