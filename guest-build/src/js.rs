//! JavaScript projects: rolldown bundles the project with the SDK, then componentize-js embeds
//! the bundle in StarlingMonkey (see `guest-sdk/js/build.mjs`, which drives both with Node).
//!
//! The npm tools come from the project's own `node_modules` (installed from its `package.json`
//! with npm the first time), from `TRELLIS_JS_TOOLS`, or from a folder given by the caller
//! ([`install_tools`] makes one from the SDK's lockfile).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fingerprint::Fingerprint;
use crate::tools::{ToolError, locate};
use crate::{BuildError, Project, SDK_DIR, io_error, write_sdk};

/// The componentize-js release the SDK is written and tested against.
pub const COMPONENTIZE_JS: &str = "0.23.0";

/// The SDK's pinned build tools: a project without a `package.json` gets these.
const PACKAGE_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../guest-sdk/js/package.json"
));
const PACKAGE_LOCK: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../guest-sdk/js/package-lock.json"
));

const NODE_INSTALL: &str = "apt-get install nodejs npm (or see nodejs.org)";

fn program(name: &str) -> Result<PathBuf, ToolError> {
    locate(name, &[]).ok_or_else(|| ToolError {
        tool: name.into(),
        problem: "not found on PATH; JavaScript projects are built with Node.js".into(),
        install: NODE_INSTALL.into(),
    })
}

/// The version `node_modules/<package>/package.json` declares, if it is installed.
fn installed_version(node_modules: &Path, package: &str) -> Option<String> {
    let manifest = std::fs::read_to_string(node_modules.join(package).join("package.json")).ok()?;
    let after = &manifest[manifest.find("\"version\"")? + "\"version\"".len()..];
    let start = after.find('"')? + 1;
    let end = start + after[start..].find('"')?;
    Some(after[start..end].to_string())
}

/// Checks that `node_modules` holds the componentize-js release the SDK needs.
fn check_tools(node_modules: &Path, install: &str) -> Result<(), ToolError> {
    match installed_version(node_modules, "@bytecodealliance/componentize-js") {
        Some(v) if v == COMPONENTIZE_JS => Ok(()),
        found => Err(ToolError {
            tool: "componentize-js".into(),
            problem: match found {
                Some(v) => format!(
                    "{} has {v}, but Trellis needs {COMPONENTIZE_JS}",
                    node_modules.display()
                ),
                None => format!("not installed in {}", node_modules.display()),
            },
            install: install.into(),
        }),
    }
}

/// Writes the SDK's `package.json` and `package-lock.json` into `dir`.
fn write_package(dir: &Path) -> Result<(), BuildError> {
    for (name, contents) in [
        ("package.json", PACKAGE_JSON),
        ("package-lock.json", PACKAGE_LOCK),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, contents)
            .map_err(|e| io_error(format_args!("writing {}", path.display()), e))?;
    }
    Ok(())
}

/// Runs `npm ci` (or `npm install` without a lockfile) in `dir`, showing npm's output if it
/// fails. Install scripts are not run: none of the tools needs one.
fn npm_install(dir: &Path) -> Result<(), BuildError> {
    let npm = program("npm")?;
    let command = if dir.join("package-lock.json").exists() {
        "ci"
    } else {
        "install"
    };
    eprintln!(
        "installing the JavaScript build tools into {} (npm {command})",
        dir.join("node_modules").display()
    );
    let output = Command::new(&npm)
        .args([
            command,
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(dir)
        .output()
        .map_err(|e| io_error(format_args!("running {}", npm.display()), e))?;
    if !output.status.success() {
        return Err(BuildError::Failed(format!(
            "`npm {command}` in {} failed:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}

/// Installs the SDK's pinned build tools (its `package-lock.json`) into `dir/node_modules`,
/// unless that lockfile is already installed there, and returns that `node_modules` folder.
pub fn install_tools(dir: &Path) -> Result<PathBuf, BuildError> {
    let node_modules = dir.join("node_modules");
    let lock = dir.join("package-lock.json");
    let current = std::fs::read_to_string(&lock).is_ok_and(|l| l == PACKAGE_LOCK);
    if current && check_tools(&node_modules, "").is_ok() {
        return Ok(node_modules);
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| io_error(format_args!("creating {}", dir.display()), e))?;
    write_package(dir)?;
    npm_install(dir)?;
    check_tools(&node_modules, "npm ci")?;
    Ok(node_modules)
}

/// The `node_modules` folder to build `project` with: `given`, else `TRELLIS_JS_TOOLS`, else
/// the project's own, installed first if it is missing (from the SDK's pinned versions when the
/// project has no `package.json`).
fn tools_for(project: &Project, given: Option<&Path>) -> Result<PathBuf, BuildError> {
    if let Some(dir) = given
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("TRELLIS_JS_TOOLS").map(PathBuf::from))
    {
        check_tools(
            &dir,
            &format!("npm ci in the folder above {}", dir.display()),
        )?;
        return Ok(dir);
    }
    let node_modules = project.dir.join("node_modules");
    let install = format!("npm install in {}", project.dir.display());
    if check_tools(&node_modules, &install).is_ok() {
        return Ok(node_modules);
    }
    if !project.dir.join("package.json").exists() {
        eprintln!(
            "{} has no package.json: writing one that pins the build tools",
            project.dir.display()
        );
        write_package(&project.dir)?;
    }
    npm_install(&project.dir)?;
    check_tools(&node_modules, &install)?;
    Ok(node_modules)
}

pub(crate) fn build(
    project: &Project,
    out_dir: &Path,
    tools: Option<&Path>,
) -> Result<(PathBuf, bool), BuildError> {
    let node = program("node")?;
    let out = out_dir.join(format!("{}.wasm", project.name));
    // The lockfile pins every tool the build runs, so it stands for their versions.
    let fingerprint = Fingerprint::of(project, &["js", "mjs"], PACKAGE_LOCK)?;
    if fingerprint.matches(&out) {
        return Ok((out, true));
    }
    let tools = tools_for(project, tools)?;
    write_sdk(&project.dir)?;
    let sdk = project.dir.join(SDK_DIR);
    let output = Command::new(&node)
        .arg(sdk.join("js/build.mjs"))
        .arg(&project.dir)
        .arg(&sdk)
        .arg(project.world.name())
        .arg(&out)
        .arg(&tools)
        .output()
        .map_err(|e| io_error(format_args!("running {}", node.display()), e))?;
    if !output.status.success() {
        return Err(BuildError::Failed(format!(
            "componentize-js could not build {}:\n{}{}",
            project.dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    fingerprint.record(&out)?;
    Ok((out, false))
}
