//! Reading uploads: a multipart upload into its named files, refusing unknown, repeated and
//! missing parts; or a whole body streamed to a file, within the size limit.

use std::collections::BTreeMap;

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;

use crate::error::{ApiError, FieldError};

/// The parts of an upload, by field name.
pub struct Parts(BTreeMap<String, Vec<u8>>);

impl Parts {
    /// Reads every part of `multipart`. `expected` lists the field names it must have, exactly.
    pub async fn read(multipart: Multipart, expected: &[&str]) -> Result<Parts, ApiError> {
        let parts = Parts::read_any(multipart, expected).await?;
        parts.require(expected)?;
        Ok(parts)
    }

    /// Reads every part of `multipart`, each named in `allowed` at most once; which must be
    /// there is for the caller to say ([`Parts::require`]).
    pub async fn read_any(mut multipart: Multipart, allowed: &[&str]) -> Result<Parts, ApiError> {
        let mut parts = BTreeMap::new();
        while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or_default().to_string();
            if !allowed.contains(&name.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "unexpected part `{name}`; the upload takes the parts {}",
                    allowed.join(", ")
                ))
                .on(name));
            }
            let bytes = field.bytes().await.map_err(multipart_error)?;
            if parts.insert(name.clone(), bytes.to_vec()).is_some() {
                return Err(ApiError::bad_request(format!("part `{name}` appears twice")).on(name));
            }
        }
        Ok(Parts(parts))
    }

    /// Parts made otherwise than from a multipart body (the files of an unpacked archive).
    pub fn from_files(files: BTreeMap<String, Vec<u8>>) -> Parts {
        Parts(files)
    }

    /// Refuses the upload unless it has every part of `expected`, naming each one it lacks.
    pub fn require(&self, expected: &[&str]) -> Result<(), ApiError> {
        let missing: Vec<FieldError> = expected
            .iter()
            .filter(|name| !self.0.contains_key(**name))
            .map(|name| FieldError {
                field: name.to_string(),
                error: format!("the upload lacks {name}"),
            })
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ApiError::several(missing))
        }
    }

    /// Whether the upload has part `name`.
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// How many parts the upload has.
    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// The bytes of part `name` (one of those the upload was read with).
    pub fn take(&mut self, name: &str) -> Vec<u8> {
        self.0.remove(name).unwrap_or_default()
    }

    /// Part `name` as UTF-8 text.
    pub fn take_text(&mut self, name: &str) -> Result<String, ApiError> {
        String::from_utf8(self.take(name))
            .map_err(|_| ApiError::bad_request(format!("{name}: not UTF-8 text")).on(name))
    }
}

/// Multipart failures are the sender's: a body over the limit, or a malformed one.
fn multipart_error(error: MultipartError) -> ApiError {
    ApiError::new(
        error.status(),
        format!("reading the upload: {}", error.body_text()),
    )
}

/// Streams a request body into a new file at `path`, never holding more than a chunk, and
/// refuses (413) a body over `limit` bytes, removing what it wrote. Returns the bytes written.
pub async fn stream_to_file(
    body: axum::body::Body,
    path: &std::path::Path,
    limit: usize,
) -> Result<u64, ApiError> {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;

    let result = async {
        let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(path).await?);
        let mut stream = body.into_data_stream();
        let mut written: u64 = 0;
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::bad_request(format!("reading the upload: {e}")))?;
            written += chunk.len() as u64;
            if written > limit as u64 {
                return Err(ApiError::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the upload is larger than the limit of {limit} bytes"),
                ));
            }
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        Ok(written)
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(path).await;
    }
    result
}
