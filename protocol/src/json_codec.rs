//! Between values and plain JSON, as people write them: in an API body, a recorded readings
//! file or a simulator's script. A number, a list of numbers and a string stand for themselves;
//! any other document is a `json` value.

use crate::value::Value;

impl Value {
    /// The value a plain JSON document stands for.
    pub fn from_json(json: serde_json::Value) -> Value {
        match json {
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::Text(s),
            serde_json::Value::Array(items) if items.iter().all(serde_json::Value::is_number) => {
                Value::Numbers(items.iter().filter_map(serde_json::Value::as_f64).collect())
            }
            other => Value::Json(other.to_string()),
        }
    }

    /// The value JSON text stands for, keeping the text as it is for a `json` value.
    pub fn from_json_text(text: &str) -> Result<Value, serde_json::Error> {
        Ok(match serde_json::from_str(text)? {
            serde_json::Value::Object(_) | serde_json::Value::Bool(_) | serde_json::Value::Null => {
                Value::Json(text.to_string())
            }
            serde_json::Value::Array(items) if !items.iter().all(serde_json::Value::is_number) => {
                Value::Json(text.to_string())
            }
            other => Value::from_json(other),
        })
    }

    /// The plain JSON a value stands for; bytes become `{"media_type", "data"}` with the data
    /// in base64, as on the wire.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Number(n) => (*n).into(),
            Value::Numbers(ns) => ns.clone().into(),
            Value::Text(text) => text.clone().into(),
            Value::Json(text) => serde_json::from_str(text)
                .unwrap_or_else(|_| serde_json::Value::String(text.clone())),
            Value::Bytes(blob) => serde_json::to_value(blob).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_json_stands_for_itself() {
        assert_eq!(Value::from_json(json!(21.5)), Value::Number(21.5));
        assert_eq!(
            Value::from_json(json!([1, 2.5])),
            Value::Numbers(vec![1.0, 2.5])
        );
        assert_eq!(Value::from_json(json!("open")), Value::Text("open".into()));
        assert_eq!(
            Value::from_json(json!({"a": 1})),
            Value::Json(r#"{"a":1}"#.into())
        );
        assert_eq!(
            Value::from_json(json!([1, "x"])),
            Value::Json(r#"[1,"x"]"#.into())
        );
    }

    #[test]
    fn text_keeps_its_documents_as_written() {
        assert_eq!(
            Value::from_json_text("{ \"a\": 1 }").unwrap(),
            Value::Json("{ \"a\": 1 }".into())
        );
        assert_eq!(
            Value::from_json_text("[3]").unwrap(),
            Value::Numbers(vec![3.0])
        );
        assert!(Value::from_json_text("{").is_err());
    }

    #[test]
    fn values_go_back_to_the_json_they_came_from() {
        for json in [json!(2.5), json!([1.0, 2.0]), json!("x"), json!({"a": [1]})] {
            assert_eq!(Value::from_json(json.clone()).to_json(), json);
        }
    }
}
