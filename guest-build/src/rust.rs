//! Rust projects: `cargo build --release --target wasm32-wasip2`, whose output is already a
//! component.
//!
//! A project is an app when it depends on `trellis-sdk` and a contract when it depends on
//! `trellis-contract-sdk`: the SDK decides which world the bindings export, so the dependency
//! says it without reading the source. Cargo keeps its own incremental cache, so an unchanged
//! project is "reused" when cargo reports the component as fresh.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::tools::{ToolError, locate};
use crate::{BuildError, Language, Project, World, io_error, write_sdk};

/// The target whose output is a component, with nothing else to install.
const TARGET: &str = "wasm32-wasip2";

const INSTALL_RUSTUP: &str = "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh \
                              -s -- --target wasm32-wasip2";

pub(crate) fn detect(dir: &Path) -> Result<Project, BuildError> {
    let path = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| io_error(format_args!("reading {}", path.display()), e))?;
    let manifest: toml::Table = text
        .parse()
        .map_err(|e| BuildError::NotAProject(format!("{}: {e}", path.display())))?;
    let Some(name) = manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
    else {
        return Err(BuildError::NotAProject(format!(
            "{} has no [package] name: an app or contract is one package",
            path.display()
        )));
    };
    let depends_on = |sdk: &str| {
        manifest
            .get("dependencies")
            .and_then(|d| d.as_table())
            .is_some_and(|d| d.contains_key(sdk))
    };
    let world = match (
        depends_on("trellis-sdk"),
        depends_on("trellis-contract-sdk"),
    ) {
        (true, false) => World::App,
        (false, true) => World::Contract,
        (both, _) => {
            return Err(BuildError::NotAProject(format!(
                "{} depends on {}: an app depends on trellis-sdk, a contract on \
                 trellis-contract-sdk",
                path.display(),
                if both { "both SDKs" } else { "neither SDK" }
            )));
        }
    };
    Ok(Project {
        dir: dir.to_path_buf(),
        language: Language::Rust,
        world,
        name: name.to_string(),
    })
}

/// Builds the project with cargo, whose diagnostics reach the user as cargo prints them.
/// Returns the component's path and whether cargo found it already up to date.
pub(crate) fn build(project: &Project) -> Result<(PathBuf, bool), BuildError> {
    let cargo = locate("cargo", &[]).ok_or_else(|| ToolError {
        tool: "cargo".into(),
        problem: "not found on PATH".into(),
        install: INSTALL_RUSTUP.into(),
    })?;
    check_target(&cargo, &project.dir)?;
    write_sdk(&project.dir)?;
    let output = Command::new(&cargo)
        .current_dir(&project.dir)
        .args(["build", "--release", "--target", TARGET])
        .args(["--message-format", "json-render-diagnostics"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| io_error(format_args!("running {}", cargo.display()), e))?;
    if !output.status.success() {
        return Err(BuildError::Failed(format!(
            "cargo could not build {} (its errors are above)",
            project.dir.display()
        )));
    }
    component(&String::from_utf8_lossy(&output.stdout), &project.dir).ok_or_else(|| {
        BuildError::Failed(format!(
            "cargo built {} but made no .wasm: its Cargo.toml needs `crate-type = [\"cdylib\"]` \
             under [lib]",
            project.dir.display()
        ))
    })
}

/// A missing `wasm32-wasip2` target makes cargo fail deep in `core`; say what to run instead.
fn check_target(cargo: &Path, dir: &Path) -> Result<(), BuildError> {
    // The rustc that cargo runs sits beside it (rustup's proxies, or a toolchain's bin/).
    let rustc = cargo.with_file_name("rustc");
    let rustc = if rustc.is_file() {
        rustc
    } else {
        PathBuf::from("rustc")
    };
    let Ok(output) = Command::new(&rustc)
        .current_dir(dir)
        .args(["--print", "sysroot"])
        .output()
    else {
        return Ok(()); // cargo will say what is wrong with rustc
    };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if output.status.success() && !sysroot.join("lib/rustlib").join(TARGET).is_dir() {
        return Err(ToolError {
            tool: format!("the {TARGET} target"),
            problem: format!("not installed in the Rust toolchain {}", sysroot.display()),
            install: format!("rustup target add {TARGET}"),
        }
        .into());
    }
    Ok(())
}

/// The `.wasm` that cargo's JSON messages name for the package in `dir`, and whether it was
/// fresh (not rebuilt).
fn component(messages: &str, dir: &Path) -> Option<(PathBuf, bool)> {
    let manifest = dir.join("Cargo.toml").canonicalize().ok()?;
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| {
            m["manifest_path"]
                .as_str()
                .and_then(|p| Path::new(p).canonicalize().ok())
                .is_some_and(|p| p == manifest)
        })
        .find_map(|m| {
            let wasm = m["filenames"]
                .as_array()?
                .iter()
                .filter_map(|f| f.as_str())
                .find(|f| f.ends_with(".wasm"))?;
            Some((PathBuf::from(wasm), m["fresh"].as_bool().unwrap_or(false)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(path: &str) -> toml::Table {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        std::fs::read_to_string(root.join(path))
            .unwrap()
            .parse()
            .unwrap()
    }

    /// The vendored SDK manifests are written by hand; they must build the SDKs the workspace
    /// builds: same name, version, edition and wit-bindgen.
    #[test]
    fn vendored_sdk_manifests_match_the_workspace() {
        let workspace = table("Cargo.toml");
        let package = &workspace["workspace"]["package"];
        let bindgen = &workspace["workspace"]["dependencies"]["wit-bindgen"];
        for (sdk, vendored) in [
            (
                "guest-sdk/rust/Cargo.toml",
                "guest-build/sdk-manifests/trellis-sdk.toml",
            ),
            (
                "guest-sdk/rust-contract/Cargo.toml",
                "guest-build/sdk-manifests/trellis-contract-sdk.toml",
            ),
        ] {
            let original = table(sdk);
            let copy = table(vendored);
            assert_eq!(
                original["package"]["name"], copy["package"]["name"],
                "{vendored}"
            );
            for field in ["version", "edition", "license"] {
                assert_eq!(
                    package[field], copy["package"][field],
                    "{vendored}: {field}"
                );
            }
            let copied = &copy["dependencies"]["wit-bindgen"];
            assert_eq!(bindgen["version"], copied["version"], "{vendored}");
            assert_eq!(
                bindgen["default-features"], copied["default-features"],
                "{vendored}"
            );
            assert_eq!(
                original["dependencies"]["wit-bindgen"]["features"], copied["features"],
                "{vendored}"
            );
        }
    }

    #[test]
    fn the_sdk_a_package_depends_on_names_its_world() {
        let dir = tempfile::tempdir().unwrap();
        let write = |deps: &str| {
            std::fs::write(
                dir.path().join("Cargo.toml"),
                format!("[package]\nname = \"probe\"\n[dependencies]\n{deps}"),
            )
            .unwrap();
            detect(dir.path())
        };
        let app = write("trellis-sdk = { path = \"x\" }\n").unwrap();
        assert_eq!((app.world, app.name.as_str()), (World::App, "probe"));
        let contract = write("trellis-contract-sdk.workspace = true\n").unwrap();
        assert_eq!(contract.world, World::Contract);
        let neither = write("serde = \"1\"\n").unwrap_err().to_string();
        assert!(neither.contains("neither SDK"), "{neither}");
        let both = write("trellis-sdk = \"*\"\ntrellis-contract-sdk = \"*\"\n")
            .unwrap_err()
            .to_string();
        assert!(both.contains("both SDKs"), "{both}");
    }
}
