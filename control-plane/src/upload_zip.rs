//! A package sent as one `.zip` rather than as its files: unpacked in memory into the same parts
//! a multipart upload has, so everything after is checked alike. Folders inside the archive are
//! looked through (a zip of a folder holds `digits/model.toml`), but each file may appear once,
//! and nothing but the package's files may be in it (leftovers an archiver adds, `__MACOSX/` and
//! dot files, are passed over).

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use crate::error::ApiError;
use crate::upload::Parts;

/// Unpacks `bytes`, the part `part` (e.g. `package.zip`), into the files of `expected`; no more
/// than `limit` bytes in all once unpacked, so a small archive cannot blow up in memory.
pub fn unpack(
    part: &str,
    bytes: &[u8],
    expected: &[&str],
    limit: usize,
) -> Result<Parts, ApiError> {
    let refuse = |message: String| ApiError::bad_request(format!("{part}: {message}")).on(part);
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| refuse(format!("not a zip archive ({e})")))?;
    let mut files = BTreeMap::new();
    let mut unpacked: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| refuse(format!("entry {index} cannot be read ({e})")))?;
        let path = entry
            .name()
            .map_err(|e| refuse(format!("entry {index} has an unreadable name ({e})")))?
            .to_string();
        let base = path.rsplit('/').next().unwrap_or_default().to_string();
        if entry.is_dir() || path.starts_with("__MACOSX/") || base.starts_with('.') {
            continue;
        }
        if !expected.contains(&base.as_str()) {
            return Err(refuse(format!(
                "`{path}` is not part of a package, which holds {} and nothing else",
                expected.join(", ")
            )));
        }
        let room = (limit as u64).saturating_sub(unpacked);
        let mut content = Vec::new();
        (&mut entry)
            .take(room + 1)
            .read_to_end(&mut content)
            .map_err(|e| refuse(format!("`{path}` cannot be unpacked ({e})")))?;
        unpacked += content.len() as u64;
        if unpacked > limit as u64 {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("{part}: unpacked, it is larger than the upload limit of {limit} bytes"),
            )
            .on(part));
        }
        if files.insert(base.clone(), content).is_some() {
            return Err(refuse(format!("{base} appears twice")));
        }
    }
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|name| !files.contains_key(*name))
        .collect();
    if !missing.is_empty() {
        return Err(refuse(format!("the archive lacks {}", missing.join(", "))));
    }
    Ok(Parts::from_files(files))
}
