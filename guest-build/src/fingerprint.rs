//! A hash of everything a build reads, kept beside its output so an unchanged project is not
//! built again (componentize-py and componentize-js take seconds per component).

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{BuildError, Project, io_error};

/// Folders that hold build output or installed packages, not sources.
const SKIPPED: &[&str] = &["target", "node_modules", "__pycache__"];

pub(crate) struct Fingerprint(String);

impl Fingerprint {
    /// Hashes the project's files with the given extensions, the embedded WIT and SDKs, the
    /// world and the tool's version.
    pub(crate) fn of(
        project: &Project,
        extensions: &[&str],
        tool_version: &str,
    ) -> Result<Fingerprint, BuildError> {
        let mut hasher = Sha256::new();
        hasher.update(tool_version);
        hasher.update(project.world.name());
        for (path, contents) in crate::embedded::all() {
            hasher.update(path);
            hasher.update(contents);
        }
        let mut files = Vec::new();
        collect(&project.dir, extensions, &mut files)?;
        files.sort();
        for file in files {
            let contents = std::fs::read(&file)
                .map_err(|e| io_error(format_args!("reading {}", file.display()), e))?;
            hasher.update(
                file.strip_prefix(&project.dir)
                    .unwrap_or(&file)
                    .to_string_lossy()
                    .as_bytes(),
            );
            hasher.update(&contents);
        }
        Ok(Fingerprint(hex::encode(hasher.finalize())))
    }

    fn path(out: &Path) -> std::path::PathBuf {
        out.with_extension("fingerprint")
    }

    pub(crate) fn matches(&self, out: &Path) -> bool {
        out.exists() && std::fs::read_to_string(Self::path(out)).is_ok_and(|f| f == self.0)
    }

    pub(crate) fn record(&self, out: &Path) -> Result<(), BuildError> {
        std::fs::write(Self::path(out), &self.0)
            .map_err(|e| io_error(format_args!("writing {}", Self::path(out).display()), e))
    }
}

fn collect(
    dir: &Path,
    extensions: &[&str],
    files: &mut Vec<std::path::PathBuf>,
) -> Result<(), BuildError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| io_error(format_args!("reading {}", dir.display()), e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && !SKIPPED.contains(&name.as_str()) {
                collect(&path, extensions, files)?;
            }
        } else if path
            .extension()
            .is_some_and(|e| extensions.iter().any(|x| e == *x))
        {
            files.push(path);
        }
    }
    Ok(())
}
