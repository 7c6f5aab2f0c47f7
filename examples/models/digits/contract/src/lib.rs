//! The digits model's contract: accepts an image of one handwritten digit (PNG or PGM bytes, any
//! size, greyscale or colour) or its 64 features, and answers
//! `{"label": 7, "confidence": 0.98, "scores": [...]}`.

mod features;
mod image;

use trellis_contract_sdk::{Contract, Tensor, Value, f32_tensor, f32_values, output};

/// The model's input and output names, as `model.toml` declares them.
const INPUT: &str = "input";
const PROBABILITIES: &str = "probabilities";

struct Digits;

impl Contract for Digits {
    fn preprocess(input: Value) -> Result<Vec<Tensor>, String> {
        let features = match input {
            Value::Numbers(numbers) => features::from_numbers(&numbers)?,
            Value::Bytes(blob) => features::from_image(&image::decode(&blob.data)?)?,
            other => {
                return Err(format!(
                    "expected an image or 64 numbers, got {}",
                    kind(&other)
                ));
            }
        };
        Ok(vec![f32_tensor(
            INPUT,
            &[1, features::FEATURES as u32],
            &features,
        )])
    }

    /// The label is the most probable class, read from the probabilities rather than the model's
    /// own label output, so every runtime gives the same answer.
    fn postprocess(outputs: Vec<Tensor>) -> Result<Value, String> {
        let scores = f32_values(output(&outputs, PROBABILITIES)?)?;
        let (label, confidence) = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .ok_or("the model returned no probabilities")?;
        let scores: Vec<String> = scores.iter().map(|s| format!("{s:.6}")).collect();
        Ok(Value::Json(format!(
            "{{\"label\":{label},\"confidence\":{confidence:.6},\"scores\":[{}]}}",
            scores.join(",")
        )))
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Number(_) => "one number",
        Value::Numbers(_) => "numbers",
        Value::Text(_) => "text",
        Value::Bytes(_) => "bytes",
        Value::Json(_) => "JSON",
    }
}

trellis_contract_sdk::export_contract!(Digits);
