//! Finding each language's toolchain, and saying how to install one that is missing.

use std::fmt;
use std::path::PathBuf;
use std::process::Command;

/// A toolchain that is missing or the wrong version.
#[derive(Debug)]
pub struct ToolError {
    pub tool: String,
    pub problem: String,
    /// The command that installs it.
    pub install: String,
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}; install it with `{}`",
            self.tool, self.problem, self.install
        )
    }
}

/// The first of `candidates` that exists, else the program found on PATH.
pub(crate) fn locate(program: &str, candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .find(|p| p.is_file())
        })
}

/// The first line `program --version` prints, if it runs.
pub(crate) fn version(program: &PathBuf) -> Option<String> {
    let output = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    Some(text.lines().next().unwrap_or("").trim().to_string())
}

/// The Python environment Trellis's scripts make, where componentize-py is installed.
pub(crate) fn venv_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(venv) = std::env::var_os("TRELLIS_VENV") {
        dirs.push(PathBuf::from(venv));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cache/trellis/venv"));
    }
    dirs
}
