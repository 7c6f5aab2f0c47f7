//! JavaScript projects: bundled, then componentize-js embeds them in StarlingMonkey.

use std::path::{Path, PathBuf};

use crate::{BuildError, Project};

pub(crate) fn build(_project: &Project, _out_dir: &Path) -> Result<(PathBuf, bool), BuildError> {
    Err(BuildError::NotAProject(
        "JavaScript projects: not yet".into(),
    ))
}
