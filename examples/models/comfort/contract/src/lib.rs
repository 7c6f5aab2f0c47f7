//! The comfort model's contract. Input: `[temperature, humidity, occupancy]` as numbers, or JSON
//! `{"temperature": 26.5, "humidity": 60, "occupancy": 25}`. Answer: JSON
//! `{"action": "fan", "class": 1, "confidence": 0.93, "scores": [...]}`.

use serde_json::{Value as Json, json};
use trellis_contract_sdk::{Contract, Tensor, Value, f32_tensor, f32_values, output};

const INPUT: &str = "input";
const PROBABILITIES: &str = "probabilities";
const ACTIONS: [&str; 3] = ["off", "fan", "cool"];
const FIELDS: [&str; 3] = ["temperature", "humidity", "occupancy"];

struct Comfort;

impl Contract for Comfort {
    fn preprocess(input: Value) -> Result<Vec<Tensor>, String> {
        let climate = match input {
            Value::Numbers(numbers) => numbers,
            Value::Json(text) => from_json(&text)?,
            _ => return Err(
                "expected [temperature, humidity, occupancy] or a JSON object with those fields"
                    .into(),
            ),
        };
        let features = check(&climate)?;
        Ok(vec![f32_tensor(INPUT, &[1, 3], &features)])
    }

    /// The class is the most probable one, read from the probabilities rather than the model's
    /// own label output, so every runtime gives the same answer.
    fn postprocess(outputs: Vec<Tensor>) -> Result<Value, String> {
        let scores = f32_values(output(&outputs, PROBABILITIES)?)?;
        if scores.len() != ACTIONS.len() {
            return Err(format!(
                "expected {} probabilities, got {}",
                ACTIONS.len(),
                scores.len()
            ));
        }
        let (class, confidence) = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("three scores");
        let answer = json!({"action": ACTIONS[class], "class": class, "confidence": confidence, "scores": scores});
        Ok(Value::Json(answer.to_string()))
    }
}

fn from_json(text: &str) -> Result<Vec<f64>, String> {
    let object: Json = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    FIELDS
        .iter()
        .map(|field| {
            object
                .get(field)
                .and_then(Json::as_f64)
                .ok_or_else(|| format!("missing number `{field}`"))
        })
        .collect()
}

/// The three values, each within what the model saw in training (occupancy may exceed it: more
/// people only make a room warmer).
fn check(climate: &[f64]) -> Result<[f32; 3], String> {
    let [temperature, humidity, occupancy] = climate else {
        return Err(format!(
            "expected 3 numbers (temperature, humidity, occupancy), got {}",
            climate.len()
        ));
    };
    if !(-40.0..=60.0).contains(temperature) {
        return Err(format!("temperature {temperature} °C is not a classroom's"));
    }
    if !(0.0..=100.0).contains(humidity) {
        return Err(format!("humidity {humidity} % is outside 0..=100"));
    }
    if *occupancy < 0.0 {
        return Err(format!("occupancy {occupancy} is negative"));
    }
    Ok([*temperature as f32, *humidity as f32, *occupancy as f32])
}

trellis_contract_sdk::export_contract!(Comfort);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_json_give_the_same_features() {
        assert_eq!(check(&[26.5, 60.0, 25.0]).unwrap(), [26.5, 60.0, 25.0]);
        assert_eq!(
            from_json(r#"{"temperature":26.5,"humidity":60,"occupancy":25}"#).unwrap(),
            [26.5, 60.0, 25.0]
        );
    }

    #[test]
    fn bad_climates_are_named() {
        assert!(check(&[20.0]).unwrap_err().contains("expected 3 numbers"));
        assert!(
            check(&[20.0, 140.0, 3.0])
                .unwrap_err()
                .contains("humidity 140")
        );
        assert!(
            from_json(r#"{"temperature":20,"humidity":50}"#)
                .unwrap_err()
                .contains("`occupancy`")
        );
    }
}
