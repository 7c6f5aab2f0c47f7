//! Human output (aligned tables) or, with `--json`, the API's JSON for scripts.

use serde_json::Value;

/// How to print answers.
#[derive(Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// Prints `value` as JSON, or as a table of `columns` (header, JSON pointer) for people.
    pub fn list(&self, value: &Value, columns: &[(&str, &str)]) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
            return;
        }
        let items = value
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![value.clone()]);
        if items.is_empty() {
            println!("(none)");
            return;
        }
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|item| {
                columns
                    .iter()
                    .map(|(_, pointer)| cell(item.pointer(pointer)))
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = columns
            .iter()
            .enumerate()
            .map(|(i, (header, _))| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([header.len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<String>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            println!("{}", padded.join("  ").trim_end());
        };
        line(columns.iter().map(|(h, _)| h.to_string()).collect());
        for row in rows {
            line(row);
        }
    }

    /// Prints one created or fetched object: JSON, or a one-line summary.
    pub fn done(&self, value: &Value, summary: String) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
        } else {
            println!("{summary}");
        }
    }
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| cell(Some(i)))
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", cell(Some(v))))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}
