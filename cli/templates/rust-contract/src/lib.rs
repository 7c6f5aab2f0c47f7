//! {{name}}: numbers in as one f32 tensor `input` of shape [1, n]; the model's f32 tensor
//! `output` back as numbers. Rename the tensors to match model.toml.

use trellis_contract_sdk::{Contract, Tensor, Value, f32_tensor, f32_values, output};

struct {{Type}};

impl Contract for {{Type}} {
    fn preprocess(input: Value) -> Result<Vec<Tensor>, String> {
        let numbers: Vec<f32> = match input {
            Value::Number(n) => vec![n as f32],
            Value::Numbers(list) => list.iter().map(|&n| n as f32).collect(),
            other => return Err(format!("expected a number or a list of numbers, got {other:?}")),
        };
        Ok(vec![f32_tensor("input", &[1, numbers.len() as u32], &numbers)])
    }

    fn postprocess(outputs: Vec<Tensor>) -> Result<Value, String> {
        let values = f32_values(output(&outputs, "output")?)?;
        Ok(Value::Numbers(values.into_iter().map(f64::from).collect()))
    }
}

trellis_contract_sdk::export_contract!({{Type}});
