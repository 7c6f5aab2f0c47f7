//! Python projects: componentize-py bundles CPython, the SDK and the project's modules into one
//! component, running the module's top level once at build time.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fingerprint::Fingerprint;
use crate::tools::{ToolError, locate, venv_dirs, version};
use crate::{BuildError, Project, SDK_DIR, io_error, write_sdk};

/// The componentize-py release the SDK is written and tested against.
pub const COMPONENTIZE_PY: &str = "0.25.1";

fn componentize_py() -> Result<PathBuf, ToolError> {
    let install = format!("pip install componentize-py=={COMPONENTIZE_PY}");
    let mut candidates: Vec<PathBuf> = std::env::var_os("TRELLIS_COMPONENTIZE_PY")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.extend(
        venv_dirs()
            .into_iter()
            .map(|v| v.join("bin/componentize-py")),
    );
    let Some(program) = locate("componentize-py", &candidates) else {
        return Err(ToolError {
            tool: "componentize-py".into(),
            problem: "not found (on PATH or in ~/.cache/trellis/venv)".into(),
            install,
        });
    };
    match version(&program) {
        Some(v) if v == format!("componentize-py {COMPONENTIZE_PY}") => Ok(program),
        found => Err(ToolError {
            tool: "componentize-py".into(),
            problem: format!(
                "{} is {}, but Trellis needs {COMPONENTIZE_PY}",
                program.display(),
                found.unwrap_or_else(|| "not runnable".into())
            ),
            install,
        }),
    }
}

pub(crate) fn build(project: &Project, out_dir: &Path) -> Result<(PathBuf, bool), BuildError> {
    let tool = componentize_py()?;
    let out = out_dir.join(format!("{}.wasm", project.name));
    let fingerprint = Fingerprint::of(project, &["py"], COMPONENTIZE_PY)?;
    if fingerprint.matches(&out) {
        return Ok((out, true));
    }
    write_sdk(&project.dir)?;
    let sdk = project.dir.join(SDK_DIR);
    let world = project.world.name();
    let output = Command::new(&tool)
        .arg("-d")
        .arg(sdk.join("wit"))
        .args(["-w", world, "componentize"])
        .arg(format!("trellis.{world}_world"))
        .arg("-p")
        .arg(sdk.join("python"))
        .arg("-p")
        .arg(&project.dir)
        .arg("-o")
        .arg(&out)
        .output()
        .map_err(|e| io_error(format_args!("running {}", tool.display()), e))?;
    if !output.status.success() {
        return Err(BuildError::Failed(format!(
            "componentize-py could not build {}:\n{}{}",
            project.dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    fingerprint.record(&out)?;
    Ok((out, false))
}
