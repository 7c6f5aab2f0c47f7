//! The WIT package and the SDKs, embedded so `trellis` can build a project anywhere, and written
//! into the project's `.trellis/` folder before a build (and by `trellis new`, for editors).

use std::path::Path;

use crate::{BuildError, io_error};

/// Where, inside a project, the WIT package and the SDKs are written.
pub const SDK_DIR: &str = ".trellis";

macro_rules! files {
    ($($dest:literal => $source:literal),* $(,)?) => {
        &[$(($dest, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../", $source)))),*]
    };
}

/// (path under `.trellis/`, contents)
const FILES: &[(&str, &str)] = files![
    "wit/types.wit" => "wit/types.wit",
    "wit/config.wit" => "wit/config.wit",
    "wit/controllers.wit" => "wit/controllers.wit",
    "wit/inference.wit" => "wit/inference.wit",
    "wit/log.wit" => "wit/log.wit",
    "wit/notify.wit" => "wit/notify.wit",
    "wit/sensors.wit" => "wit/sensors.wit",
    "wit/state.wit" => "wit/state.wit",
    "wit/worlds.wit" => "wit/worlds.wit",
    "python/trellis/__init__.py" => "guest-sdk/python/trellis/__init__.py",
    "python/trellis/app.py" => "guest-sdk/python/trellis/app.py",
    "python/trellis/app_world.py" => "guest-sdk/python/trellis/app_world.py",
    "python/trellis/config.py" => "guest-sdk/python/trellis/config.py",
    "python/trellis/contract.py" => "guest-sdk/python/trellis/contract.py",
    "python/trellis/contract_world.py" => "guest-sdk/python/trellis/contract_world.py",
    "python/trellis/controllers.py" => "guest-sdk/python/trellis/controllers.py",
    "python/trellis/errors.py" => "guest-sdk/python/trellis/errors.py",
    "python/trellis/exported.py" => "guest-sdk/python/trellis/exported.py",
    "python/trellis/inference.py" => "guest-sdk/python/trellis/inference.py",
    "python/trellis/log.py" => "guest-sdk/python/trellis/log.py",
    "python/trellis/notifications.py" => "guest-sdk/python/trellis/notifications.py",
    "python/trellis/sensors.py" => "guest-sdk/python/trellis/sensors.py",
    "python/trellis/state.py" => "guest-sdk/python/trellis/state.py",
    "python/trellis/tensors.py" => "guest-sdk/python/trellis/tensors.py",
    "python/trellis/values.py" => "guest-sdk/python/trellis/values.py",
    // The Rust SDKs, path dependencies of a project made by `trellis new`. Their sources name the
    // WIT as `../../wit` from their manifest, which here is `.trellis/wit`, as in the workspace.
    "rust/trellis-sdk/Cargo.toml" => "guest-build/sdk-manifests/trellis-sdk.toml",
    "rust/trellis-sdk/src/lib.rs" => "guest-sdk/rust/src/lib.rs",
    "rust/trellis-contract-sdk/Cargo.toml" => "guest-build/sdk-manifests/trellis-contract-sdk.toml",
    "rust/trellis-contract-sdk/src/lib.rs" => "guest-sdk/rust-contract/src/lib.rs",
    "js/build.mjs" => "guest-sdk/js/build.mjs",
    "js/trellis/index.js" => "guest-sdk/js/trellis/index.js",
    "js/trellis/app.js" => "guest-sdk/js/trellis/app.js",
    "js/trellis/app-world.js" => "guest-sdk/js/trellis/app-world.js",
    "js/trellis/config.js" => "guest-sdk/js/trellis/config.js",
    "js/trellis/contract.js" => "guest-sdk/js/trellis/contract.js",
    "js/trellis/contract-world.js" => "guest-sdk/js/trellis/contract-world.js",
    "js/trellis/controllers.js" => "guest-sdk/js/trellis/controllers.js",
    "js/trellis/errors.js" => "guest-sdk/js/trellis/errors.js",
    "js/trellis/exported.js" => "guest-sdk/js/trellis/exported.js",
    "js/trellis/inference.js" => "guest-sdk/js/trellis/inference.js",
    "js/trellis/log.js" => "guest-sdk/js/trellis/log.js",
    "js/trellis/notify.js" => "guest-sdk/js/trellis/notify.js",
    "js/trellis/sensors.js" => "guest-sdk/js/trellis/sensors.js",
    "js/trellis/state.js" => "guest-sdk/js/trellis/state.js",
    "js/trellis/tensors.js" => "guest-sdk/js/trellis/tensors.js",
    "js/trellis/values.js" => "guest-sdk/js/trellis/values.js",
    "js/trellis/index.d.ts" => "guest-sdk/js/trellis/index.d.ts",
];

/// Every embedded file, for fingerprinting a build.
pub(crate) fn all() -> &'static [(&'static str, &'static str)] {
    FILES
}

/// Writes the WIT package and the SDKs under `project/.trellis/`, leaving files that are already
/// current untouched (so cargo does not rebuild a Rust project for nothing).
pub fn write_sdk(project: &Path) -> Result<(), BuildError> {
    let root = project.join(SDK_DIR);
    for (dest, contents) in FILES {
        let path = root.join(dest);
        if std::fs::read(&path).is_ok_and(|old| old == contents.as_bytes()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| io_error(format_args!("creating {}", parent.display()), e))?;
        }
        std::fs::write(&path, contents)
            .map_err(|e| io_error(format_args!("writing {}", path.display()), e))?;
    }
    Ok(())
}
