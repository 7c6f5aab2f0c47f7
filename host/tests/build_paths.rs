//! The SDK promises that an app builds both with `cargo build --target wasm32-wasip2` and with
//! `cargo component build`. The first path is what the workspace build uses for every guest; this
//! test takes the second and runs the result.

use trellis_host_test_support as common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn cargo_component_builds_an_app_the_host_runs() {
    let cargo_component = Command::new("cargo")
        .args(["component", "--version"])
        .output();
    assert!(
        matches!(&cargo_component, Ok(out) if out.status.success()),
        "cargo-component is not installed; install it with \
         `cargo install cargo-component --version 0.21.1 --locked` (scripts/test does)"
    );

    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cargo-component");
    let status = Command::new("cargo")
        .current_dir(workspace_root())
        .args([
            "component",
            "build",
            "--release",
            "-p",
            "classroom-thermostat",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .status()
        .expect("running cargo component build");
    assert!(status.success(), "cargo component build failed");

    let wasm = target_dir.join("wasm32-wasip1/release/classroom_thermostat.wasm");
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
    let host = common::host();
    let app = host
        .load_app(&bytes)
        .expect("the cargo-component build should load");
    common::assert_thermostat_cools(&app);
}
