//! Recorded readings for `trellis run --readings FILE`: one JSON object a line, such as
//! `{"role": "temperature", "value": 23.5}`. A value is a number, a list of numbers, a string
//! (text), or any other JSON document.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value as Json;
use trellis_host::types::Value;
use trellis_protocol::Value as PlainValue;

/// One recorded reading.
#[derive(Debug)]
pub struct Recorded {
    pub role: String,
    pub instance: Option<String>,
    pub value: Value,
}

pub fn load(path: &Path) -> anyhow::Result<Vec<Recorded>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut readings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let place = format!("{}:{}", path.display(), index + 1);
        let json: Json =
            serde_json::from_str(line).with_context(|| format!("{place}: not JSON"))?;
        let Some(role) = json.get("role").and_then(Json::as_str) else {
            bail!("{place}: missing \"role\" (a string)");
        };
        let Some(value) = json.get("value") else {
            bail!("{place}: missing \"value\"");
        };
        readings.push(Recorded {
            role: role.to_string(),
            instance: json
                .get("instance")
                .and_then(Json::as_str)
                .map(str::to_string),
            value: PlainValue::from_json(value.clone()).into(),
        });
    }
    Ok(readings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_readings_and_bad_lines_name_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.jsonl");
        std::fs::write(
            &good,
            "{\"role\":\"t\",\"value\":21.5}\n\n{\"role\":\"c\",\"value\":[1,2]}\n",
        )
        .unwrap();
        let readings = load(&good).unwrap();
        assert_eq!(readings.len(), 2);
        assert!(matches!(readings[0].value, Value::Number(v) if v == 21.5));
        assert!(matches!(&readings[1].value, Value::Numbers(v) if v == &[1.0, 2.0]));

        let bad = dir.path().join("bad.jsonl");
        std::fs::write(&bad, "{\"role\":\"t\",\"value\":1}\n{\"value\":1}\n").unwrap();
        let error = load(&bad).unwrap_err().to_string();
        assert!(
            error.contains("bad.jsonl:2") && error.contains("role"),
            "{error}"
        );
    }
}
