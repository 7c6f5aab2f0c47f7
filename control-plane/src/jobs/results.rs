//! A job's results: written as it runs, one JSON line a row (`{"id", "answer"}` or
//! `{"id", "error"}`), and turned into CSV as they are downloaded, with one column per field of
//! the answers. Both ways go row by row between files and the network, so memory stays flat.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use serde_json::{Value, json};

/// The results file in a job's directory.
pub const FILE: &str = "results.jsonl";

/// The column for answers that are not JSON objects (a number, numbers, text).
const ANSWER: &str = "answer";
/// Put last among the answer's fields, as the column people look at beside the error.
const CONFIDENCE: &str = "confidence";

/// Appends rows to a job's results and notes the answers' fields.
pub struct ResultsWriter {
    file: BufWriter<File>,
    /// The answers' fields in the order first seen.
    columns: Vec<String>,
}

impl ResultsWriter {
    pub fn create(path: &Path) -> std::io::Result<ResultsWriter> {
        Ok(ResultsWriter {
            file: BufWriter::new(File::create(path)?),
            columns: Vec::new(),
        })
    }

    pub fn write(&mut self, id: &str, outcome: &Result<Value, String>) -> std::io::Result<()> {
        let line = match outcome {
            Ok(answer) => {
                self.note_columns(answer);
                json!({ "id": id, "answer": answer })
            }
            Err(error) => json!({ "id": id, "error": error }),
        };
        serde_json::to_writer(&mut self.file, &line)?;
        self.file.write_all(b"\n")
    }

    /// Writes what is buffered, so the rows reported done are on disk.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    fn note_columns(&mut self, answer: &Value) {
        let fields: Vec<&str> = match answer {
            Value::Object(fields) => fields.keys().map(String::as_str).collect(),
            _ => vec![ANSWER],
        };
        for field in fields {
            if field != "id" && field != "error" && !self.columns.iter().any(|c| c == field) {
                self.columns.push(field.to_string());
            }
        }
    }
}

/// Writes the first `rows` results of `path` to `out` as CSV: `id`, the answers' `columns`,
/// `confidence` and `error`. Lines past `rows` (written after the last progress the job
/// recorded, or torn by a stop) are left out, so the CSV holds exactly the rows reported done.
pub fn write_csv(
    path: &Path,
    columns: &[String],
    rows: u64,
    out: impl Write,
) -> std::io::Result<()> {
    let fields: Vec<&str> = columns
        .iter()
        .map(String::as_str)
        .filter(|c| *c != CONFIDENCE)
        .chain([CONFIDENCE])
        .collect();
    let mut csv = csv::Writer::from_writer(out);
    let header = ["id"]
        .into_iter()
        .chain(fields.iter().copied())
        .chain(["error"]);
    csv.write_record(header).map_err(csv_error)?;
    if rows == 0 {
        // A job cancelled before its first batch may have no results file.
        return csv.flush();
    }
    let mut record = Vec::with_capacity(fields.len() + 2);
    for line in BufReader::new(File::open(path)?)
        .lines()
        .take(rows as usize)
    {
        let line: Value = serde_json::from_str(&line?).map_err(std::io::Error::other)?;
        record.clear();
        record.push(cell(&line["id"]));
        let answer = &line["answer"];
        for field in &fields {
            record.push(match answer {
                Value::Object(map) => cell(map.get(*field).unwrap_or(&Value::Null)),
                Value::Null => String::new(),
                other if *field == ANSWER => cell(other),
                _ => String::new(),
            });
        }
        record.push(cell(&line["error"]));
        csv.write_record(&record).map_err(csv_error)?;
    }
    csv.flush()
}

/// A value as a CSV cell: text as itself, nothing as empty, anything else as compact JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn csv_error(error: csv::Error) -> std::io::Error {
    std::io::Error::other(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_fields_become_columns_and_errors_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let mut writer = ResultsWriter::create(&path).unwrap();
        writer
            .write(
                "a",
                &Ok(json!({"label": 3, "confidence": 0.5, "scores": [0.1, 0.9]})),
            )
            .unwrap();
        writer.write("b", &Err("row 2: bad".into())).unwrap();
        writer
            .write("c", &Ok(json!({"label": 1, "note": "x,y"})))
            .unwrap();
        writer.write("d", &Ok(json!({"label": 2}))).unwrap();
        writer.flush().unwrap();
        let columns = writer.columns().to_vec();
        let mut out = Vec::new();
        write_csv(&path, &columns, 3, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "id,label,scores,note,confidence,error");
        assert_eq!(lines[1], "a,3,\"[0.1,0.9]\",,0.5,");
        assert_eq!(lines[2], "b,,,,,row 2: bad");
        assert_eq!(lines[3], "c,1,,\"x,y\",,");
        assert_eq!(lines.len(), 4, "only the rows reported done");
    }
}
