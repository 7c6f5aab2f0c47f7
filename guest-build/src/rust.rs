//! Rust projects: `cargo build --target wasm32-wasip2`, whose output is already a component.

use std::path::{Path, PathBuf};

use crate::{BuildError, Project};

pub(crate) fn detect(_dir: &Path) -> Result<Project, BuildError> {
    Err(BuildError::NotAProject("Rust projects: not yet".into()))
}

pub(crate) fn build(_project: &Project) -> Result<PathBuf, BuildError> {
    Err(BuildError::NotAProject("Rust projects: not yet".into()))
}
