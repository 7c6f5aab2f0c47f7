//! A job's inputs, read one row at a time from its file on disk, so memory stays flat however
//! long the file is.
//!
//! A CSV has a header row naming its columns and one input a row. An `id` column, if there is
//! one, names each row in the results; otherwise a row is named by its number (1 for the first
//! row after the header). The other columns are the input, as the synchronous predict route
//! would take it as JSON: several columns are numbers, in column order (`Numbers`, e.g. the 64
//! features of an 8×8 digit); a single column holds a number, a JSON array of numbers, other
//! JSON, or text. A zip holds one image a file (PNG, PGM or JPEG, by extension), sent to the
//! model as bytes with their media type, named by their path in the archive.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use trellis_protocol::{Blob, Value};

/// The largest file of a zip read as one input: a small archive may hold a file that inflates
/// to far more than was uploaded.
const MAX_ENTRY_BYTES: u64 = 16 << 20;

/// What a job's file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Csv,
    Zip,
}

impl InputKind {
    /// The kind a request's media type names, if it is one a job takes.
    pub fn from_media_type(media_type: &str) -> Option<InputKind> {
        let essence = media_type.split(';').next().unwrap_or("").trim();
        match essence.to_ascii_lowercase().as_str() {
            "text/csv" => Some(InputKind::Csv),
            "application/zip" | "application/x-zip-compressed" => Some(InputKind::Zip),
            _ => None,
        }
    }

    pub fn parse(text: &str) -> Option<InputKind> {
        [InputKind::Csv, InputKind::Zip]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Csv => "csv",
            InputKind::Zip => "zip",
        }
    }

    /// The name of the input file in the job's directory.
    pub fn file_name(self) -> &'static str {
        match self {
            InputKind::Csv => "input.csv",
            InputKind::Zip => "input.zip",
        }
    }
}

/// One input: its id in the results, and the value for the model or why the row has none.
pub struct Row {
    pub id: String,
    pub input: Result<Value, String>,
}

/// The rows of a job's file, in order.
pub enum Rows {
    Csv(CsvRows),
    Zip(ZipRows),
}

impl Rows {
    /// Opens the file and checks its frame (a CSV's header, a zip's directory). The error says
    /// what is wrong with the file, for the one who sent it.
    pub fn open(kind: InputKind, path: &Path) -> Result<Rows, String> {
        match kind {
            InputKind::Csv => CsvRows::open(path).map(Rows::Csv),
            InputKind::Zip => ZipRows::open(path).map(Rows::Zip),
        }
    }

    /// How many rows there are: a zip's directory says; a CSV is counted (one pass, flat
    /// memory).
    pub fn count(&self, path: &Path) -> std::io::Result<u64> {
        match self {
            Rows::Csv(_) => CsvRows::count(path),
            Rows::Zip(zip) => Ok(zip.files.len() as u64),
        }
    }

    /// The next row; `None` at the end. An error is the file's as a whole (it could not be read).
    pub fn next_row(&mut self) -> std::io::Result<Option<Row>> {
        match self {
            Rows::Csv(csv) => csv.next_row(),
            Rows::Zip(zip) => Ok(zip.next_row()),
        }
    }
}

pub struct CsvRows {
    reader: csv::Reader<BufReader<File>>,
    header: Vec<String>,
    id_column: Option<usize>,
    /// (position, name) of the columns that make the input.
    input_columns: Vec<(usize, String)>,
    record: csv::ByteRecord,
    number: u64,
}

impl CsvRows {
    fn builder() -> csv::ReaderBuilder {
        let mut builder = csv::ReaderBuilder::new();
        // A row with too few or too many fields is that row's error, not the whole file's.
        builder.flexible(true);
        builder
    }

    fn open(path: &Path) -> Result<CsvRows, String> {
        let file = File::open(path).map_err(|e| format!("opening the CSV: {e}"))?;
        let mut reader = Self::builder().from_reader(BufReader::new(file));
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| format!("the CSV's header row: {e}"))?
            .iter()
            .map(|name| name.trim().to_string())
            .collect();
        if header.iter().all(String::is_empty) {
            return Err(
                "the CSV is empty: its first row names the columns, and each row \
                        after it is one input"
                    .into(),
            );
        }
        let id_column = header.iter().position(|name| name == "id");
        let input_columns: Vec<(usize, String)> = header
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != id_column)
            .map(|(i, name)| (i, name.clone()))
            .collect();
        if input_columns.is_empty() {
            return Err(
                "the CSV has only an `id` column; the other columns are the model's input".into(),
            );
        }
        Ok(CsvRows {
            reader,
            header,
            id_column,
            input_columns,
            record: csv::ByteRecord::new(),
            number: 0,
        })
    }

    fn count(path: &Path) -> std::io::Result<u64> {
        let mut reader = Self::builder().from_reader(BufReader::new(File::open(path)?));
        let mut record = csv::ByteRecord::new();
        let mut rows = 0;
        while reader.read_byte_record(&mut record).map_err(csv_error)? {
            rows += 1;
        }
        Ok(rows)
    }

    fn next_row(&mut self) -> std::io::Result<Option<Row>> {
        if !self
            .reader
            .read_byte_record(&mut self.record)
            .map_err(csv_error)?
        {
            return Ok(None);
        }
        self.number += 1;
        let id = match self.id_column.and_then(|i| self.record.get(i)) {
            Some(id) => String::from_utf8_lossy(id).trim().to_string(),
            None => self.number.to_string(),
        };
        let input = if self.record.len() != self.header.len() {
            Err(format!(
                "row {}: {} fields, but the header names {} columns",
                self.number,
                self.record.len(),
                self.header.len()
            ))
        } else {
            self.input()
        };
        Ok(Some(Row { id, input }))
    }

    /// The input of the current record.
    fn input(&self) -> Result<Value, String> {
        let cell = |position: usize, name: &str| -> Result<&str, String> {
            let bytes = self.record.get(position).unwrap_or_default();
            std::str::from_utf8(bytes)
                .map(str::trim)
                .map_err(|_| format!("row {}, column `{name}`: not UTF-8", self.number))
        };
        if let [(position, name)] = self.input_columns.as_slice() {
            let text = cell(*position, name)?;
            if text.is_empty() {
                return Err(format!("row {}, column `{name}`: empty", self.number));
            }
            // As the predict route reads a JSON body; what is not JSON is text.
            return Ok(Value::from_json_text(text).unwrap_or_else(|_| Value::Text(text.into())));
        }
        self.input_columns
            .iter()
            .map(|(position, name)| {
                let text = cell(*position, name)?;
                text.parse::<f64>().map_err(|_| {
                    format!(
                        "row {}, column `{name}`: `{text}` is not a number",
                        self.number
                    )
                })
            })
            .collect::<Result<Vec<f64>, String>>()
            .map(Value::Numbers)
    }
}

fn csv_error(error: csv::Error) -> std::io::Error {
    std::io::Error::other(error.to_string())
}

pub struct ZipRows {
    archive: zip::ZipArchive<BufReader<File>>,
    /// The archive's indexes of files (not directories), in order.
    files: Vec<usize>,
    next: usize,
}

impl ZipRows {
    fn open(path: &Path) -> Result<ZipRows, String> {
        let file = File::open(path).map_err(|e| format!("opening the zip: {e}"))?;
        let archive = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| format!("the upload is not a zip archive: {e}"))?;
        let files: Vec<usize> = (0..archive.len())
            .filter(|&i| {
                archive
                    .name_for_index(i)
                    .is_some_and(|name| !name.is_ok_and(|name| name.ends_with('/')))
            })
            .collect();
        if files.is_empty() {
            return Err("the zip archive holds no files; put one image a file in it".into());
        }
        Ok(ZipRows {
            archive,
            files,
            next: 0,
        })
    }

    fn next_row(&mut self) -> Option<Row> {
        let index = *self.files.get(self.next)?;
        self.next += 1;
        let id = self
            .archive
            .name_for_index(index)
            .and_then(Result::ok)
            .map_or_else(|| format!("file {}", index + 1), |name| name.to_string());
        let input = match self.archive.by_index(index) {
            Ok(mut entry) => read_entry(&id, &mut entry).map(|data| {
                Value::Bytes(Blob {
                    media_type: media_type(&id).into(),
                    data,
                })
            }),
            Err(e) => Err(format!("`{id}`: {e}")),
        }
        .map_err(|e| format!("reading {e}"));
        Some(Row { id, input })
    }
}

fn read_entry(
    name: &str,
    entry: &mut zip::read::ZipFile<'_, BufReader<File>>,
) -> Result<Vec<u8>, String> {
    if entry.size() > MAX_ENTRY_BYTES {
        return Err(format!(
            "`{name}`: {} bytes; one input may be at most {MAX_ENTRY_BYTES}",
            entry.size()
        ));
    }
    let mut data = Vec::with_capacity(entry.size() as usize);
    entry
        .take(MAX_ENTRY_BYTES)
        .read_to_end(&mut data)
        .map_err(|e| format!("`{name}`: {e}"))?;
    Ok(data)
}

/// An image's media type by its extension; the contract reads the bytes themselves anyway.
fn media_type(name: &str) -> &'static str {
    let extension = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match extension.as_str() {
        "png" => "image/png",
        "pgm" => "image/x-portable-graymap",
        "jpg" | "jpeg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_rows(text: &str) -> Result<Vec<Row>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.csv");
        std::fs::write(&path, text).unwrap();
        let mut rows = Rows::open(InputKind::Csv, &path)?;
        assert_eq!(
            rows.count(&path).unwrap() as usize,
            text.lines().count() - 1
        );
        let mut all = Vec::new();
        while let Some(row) = rows.next_row().unwrap() {
            all.push(row);
        }
        Ok(all)
    }

    #[test]
    fn several_columns_are_numbers_in_column_order() {
        let rows = csv_rows("a,b,id\n1,2.5,first\n3,x,second\n4\n").unwrap();
        assert_eq!(rows[0].id, "first");
        assert_eq!(rows[0].input, Ok(Value::Numbers(vec![1.0, 2.5])));
        let error = rows[1].input.clone().unwrap_err();
        assert!(
            error.contains("row 2, column `b`: `x` is not a number"),
            "{error}"
        );
        assert_eq!(rows[2].id, "3", "no id cell: the row's number");
        let error = rows[2].input.clone().unwrap_err();
        assert!(
            error.contains("1 fields, but the header names 3"),
            "{error}"
        );
    }

    #[test]
    fn one_column_is_read_as_the_predict_route_reads_json() {
        let rows = csv_rows("input\n7\n\"[1,2]\"\nhello\n").unwrap();
        assert_eq!(rows[0].id, "1");
        assert_eq!(rows[0].input, Ok(Value::Number(7.0)));
        assert_eq!(rows[1].input, Ok(Value::Numbers(vec![1.0, 2.0])));
        assert_eq!(rows[2].input, Ok(Value::Text("hello".into())));
    }

    #[test]
    fn a_csv_without_input_columns_is_refused() {
        assert!(csv_rows("id\n1\n").err().unwrap().contains("only an `id`"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.csv");
        std::fs::write(&path, "").unwrap();
        assert!(
            Rows::open(InputKind::Csv, &path)
                .err()
                .unwrap()
                .contains("empty")
        );
    }

    #[test]
    fn media_types_name_what_a_job_takes() {
        assert_eq!(
            InputKind::from_media_type("text/csv; charset=utf-8"),
            Some(InputKind::Csv)
        );
        assert_eq!(
            InputKind::from_media_type("application/zip"),
            Some(InputKind::Zip)
        );
        assert_eq!(InputKind::from_media_type("application/json"), None);
    }
}
