//! The vision model's contract: accepts an RGB image (PNG of any size, or 224×224×3 raw bytes
//! row by row), normalises it the way ImageNet models expect, and answers
//! `{"label": 3, "confidence": 0.41}`.

mod rgb;

use trellis_contract_sdk::{Contract, Tensor, Value, f32_tensor, f32_values, output};

const INPUT: &str = "input";
const PROBABILITIES: &str = "probabilities";
/// The model's input is `SIDE`×`SIDE` pixels.
const SIDE: usize = 224;
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

struct Vision;

impl Contract for Vision {
    fn preprocess(input: Value) -> Result<Vec<Tensor>, String> {
        let Value::Bytes(blob) = input else {
            return Err("expected an image (PNG, or 224x224 RGB bytes)".into());
        };
        let image = rgb::decode(&blob.data, SIDE)?.resized(SIDE);
        Ok(vec![f32_tensor(
            INPUT,
            &[1, 3, SIDE as u32, SIDE as u32],
            &normalise(&image.pixels),
        )])
    }

    fn postprocess(outputs: Vec<Tensor>) -> Result<Value, String> {
        let scores = f32_values(output(&outputs, PROBABILITIES)?)?;
        let (label, confidence) = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .ok_or("the model returned no probabilities")?;
        Ok(Value::Json(format!(
            "{{\"label\":{label},\"confidence\":{confidence:.6}}}"
        )))
    }
}

/// Interleaved RGB bytes (HWC) to planar floats (CHW), each channel shifted and scaled.
fn normalise(pixels: &[[u8; 3]]) -> Vec<f32> {
    let mut planes = vec![0.0; pixels.len() * 3];
    for (i, pixel) in pixels.iter().enumerate() {
        for c in 0..3 {
            planes[c * pixels.len() + i] = (pixel[c] as f32 / 255.0 - MEAN[c]) / STD[c];
        }
    }
    planes
}

trellis_contract_sdk::export_contract!(Vision);
