//! Compiled components on disk, keyed by the sha256 of their bytes and the engine's
//! compatibility hash, so a restart loads machine code instead of compiling again.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::LoadError;

/// Whether a component was compiled now or loaded from the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Compiled from WebAssembly (and stored, if the cache has a directory).
    Compiled,
    /// Loaded from a previous compilation.
    Loaded,
}

pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
}

impl CompileCache {
    pub(crate) fn new(dir: Option<PathBuf>) -> anyhow::Result<CompileCache> {
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow::anyhow!("creating the compile cache {}: {e}", dir.display())
            })?;
        }
        Ok(CompileCache { dir })
    }

    pub(crate) fn load(
        &self,
        engine: &Engine,
        bytes: &[u8],
    ) -> Result<(Component, CacheOutcome), LoadError> {
        let Some(dir) = &self.dir else {
            return Ok((compile(engine, bytes)?, CacheOutcome::Compiled));
        };
        let path = dir.join(format!("{}.cwasm", cache_key(engine, bytes)));
        if path.exists() {
            // SAFETY: the cache directory belongs to this host and every file in it was written
            // by `store` below from `Component::serialize` of an engine with the same
            // compatibility hash (it is part of the file name). A file that fails to load is
            // compiled again and replaced.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, CacheOutcome::Loaded)),
                Err(e) => {
                    tracing::warn!("recompiling {}: cached copy unusable: {e}", path.display())
                }
            }
        }
        let component = compile(engine, bytes)?;
        if let Err(e) = store(&component, &path) {
            tracing::warn!(
                "could not cache compiled component at {}: {e}",
                path.display()
            );
        }
        Ok((component, CacheOutcome::Compiled))
    }
}

impl CompileCache {
    /// Removes the entries (`<sha256>-<engine>.cwasm`) whose sha256 `keep` rejects; files of
    /// other names (a write in progress) are left alone. Returns the size of each removed.
    pub(crate) fn retain(&self, keep: impl Fn(&str) -> bool) -> std::io::Result<Vec<u64>> {
        let mut removed = Vec::new();
        let Some(dir) = &self.dir else {
            return Ok(removed);
        };
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(sha256) = name
                .strip_suffix(".cwasm")
                .and_then(|stem| stem.split_once('-'))
                .map(|(sha256, _)| sha256)
            else {
                continue;
            };
            if !keep(sha256) {
                let size = entry.metadata()?.len();
                std::fs::remove_file(entry.path())?;
                removed.push(size);
            }
        }
        Ok(removed)
    }
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, LoadError> {
    Component::new(engine, bytes).map_err(|e| LoadError::NotAComponent(format!("{e:#}")))
}

/// Writes to a temporary file first, so a crash never leaves a half-written entry behind.
fn store(component: &Component, path: &Path) -> anyhow::Result<()> {
    let serialized = component.serialize()?;
    let dir = path
        .parent()
        .expect("cache entries live in the cache directory");
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(&serialized)?;
    file.persist(path)?;
    Ok(())
}

fn cache_key(engine: &Engine, bytes: &[u8]) -> String {
    let mut engine_hash = DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    format!(
        "{}-{:016x}",
        hex::encode(Sha256::digest(bytes)),
        engine_hash.finish()
    )
}
