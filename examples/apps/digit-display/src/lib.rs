//! A digit reader: hands each camera frame to the `digits` model and shows the digit it sees on
//! a display, with the model's confidence and the frame's sequence number, so whoever watches
//! the display can tell which frame it answers.

use trellis_sdk::{App, Reading, Value, command, config_number, controllers, inference};

struct DigitDisplay;

impl App for DigitDisplay {
    fn on_reading(reading: Reading) -> Result<(), String> {
        if !matches!(reading.value, Value::Bytes(_)) {
            return Err(format!(
                "{} sent {:?}; expected an image",
                reading.instance_id, reading.value
            ));
        }
        let answer = inference::predict("digits", &reading.value)
            .map_err(|e| format!("asking the digits model: {e:?}"))?;
        let Value::Json(text) = answer else {
            return Err(format!("the digits model answered {answer:?}, not JSON"));
        };
        let answer: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("the digits model's answer: {e}"))?;
        let (Some(label), Some(confidence)) =
            (answer["label"].as_u64(), answer["confidence"].as_f64())
        else {
            return Err(format!("the digits model's answer has no label: {text}"));
        };
        let shown = if confidence >= config_number("min-confidence").unwrap_or(0.5) {
            label.to_string()
        } else {
            "?".to_string()
        };
        let show = command(
            "show",
            [
                ("text", Value::Text(shown)),
                ("confidence", Value::Number(confidence)),
                ("frame", Value::Number(reading.sequence as f64)),
            ],
        );
        controllers::send("display", &show).map_err(|e| format!("showing the digit: {e:?}"))
    }
}

trellis_sdk::export_app!(DigitDisplay);
