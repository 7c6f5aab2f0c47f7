//! Builds every guest (example apps and test guests) and writes a constant with each component's
//! path, so tests always run the current guest code against the current WIT. Rust guests are
//! built for `wasm32-wasip2`, where rustc's output is already a component; Python and JavaScript
//! guests go through `trellis-guest-build`, exactly as `trellis build` builds a user's project.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Guest crates: (folder relative to the workspace root, package name).
const GUESTS: &[(&str, &str)] = &[
    ("examples/apps/classroom-thermostat", "classroom-thermostat"),
    ("examples/apps/smart-classroom", "smart-classroom"),
    ("examples/apps/digit-display", "digit-display"),
    ("examples/models/digits/contract", "digits-contract"),
    ("examples/models/comfort/contract", "comfort-contract"),
    ("examples/models/vision/contract", "vision-contract"),
    ("tests/guests/echo", "echo"),
    ("tests/guests/counter", "counter"),
    ("tests/guests/crashy", "crashy"),
    ("tests/guests/failing-init", "failing-init"),
    ("tests/guests/hostile", "hostile"),
    ("tests/guests/missing-export", "missing-export"),
    ("tests/guests/future-version", "future-version"),
    ("tests/guests/notify-loop", "notify-loop"),
    ("tests/guests/log-ticker", "log-ticker"),
    ("tests/guests/sleepy", "sleepy"),
    ("tests/guests/sleepy-contract", "sleepy-contract"),
];

/// Python and JavaScript guests: folders relative to the workspace root. Each constant is named
/// after the folder (a model's `contract/` after the model: `PERSON_CONTRACT`).
const SCRIPTED_GUESTS: &[&str] = &[
    "examples/apps/classroom-thermostat-js",
    "examples/apps/classroom-thermostat-python",
    "examples/apps/intruder-alarm",
    "examples/apps/smart-home",
    "examples/models/digits/digits-contract-python",
    "examples/models/person/contract",
    "tests/guests/hostile-js",
    "tests/guests/hostile-python",
    "tests/guests/tensors-js",
];

/// What to watch besides the guests themselves.
const INPUTS: &[&str] = &[
    "wit",
    "guest-sdk/rust",
    "guest-sdk/rust-contract",
    "guest-sdk/python",
    "guest-sdk/js/trellis",
    "guest-sdk/js/build.mjs",
    "guest-sdk/js/package-lock.json",
];

fn main() {
    // Read when the script runs, not baked in when it compiled: the compiled script is shared
    // by every checkout that uses the same target directory.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = PathBuf::from(manifest_dir).join("../..");
    let target_dir = guest_target_dir(&root);

    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(&root)
        .args(["build", "--release", "--target", "wasm32-wasip2"]);
    for (_, package) in GUESTS {
        cargo.arg("-p").arg(package);
    }
    cargo.env("CARGO_TARGET_DIR", &target_dir);
    // The outer build's flags and wrappers (clippy, coverage, host-only RUSTFLAGS) are not meant
    // for the guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_BUILD_TARGET",
    ] {
        cargo.env_remove(var);
    }
    let status = cargo.status().expect("running cargo to build the guests");
    assert!(
        status.success(),
        "building the guest components failed (see the cargo output above)"
    );

    let mut consts = String::new();
    for (guest, name) in GUESTS {
        let wasm = target_dir
            .join("wasm32-wasip2/release")
            .join(format!("{}.wasm", name.replace('-', "_")));
        assert!(wasm.exists(), "{} was not built", wasm.display());
        consts.push_str(&format!(
            "/// The `{name}` component, built from `{guest}`.\npub const {}: &str = {:?};\n",
            name.replace('-', "_").to_uppercase(),
            wasm.display().to_string()
        ));
        println!("cargo:rerun-if-changed={}", root.join(guest).display());
    }
    // JavaScript guests build with the SDK's pinned npm tools, installed once beside them.
    let mut js_tools = None;
    for guest in SCRIPTED_GUESTS {
        let dir = root.join(guest);
        let project = trellis_guest_build::Project::detect(&dir).unwrap_or_else(|e| panic!("{e}"));
        let out = target_dir.join("components");
        let built = if project.language == trellis_guest_build::Language::JavaScript {
            let tools = js_tools.get_or_insert_with(|| {
                trellis_guest_build::install_js_tools(&target_dir.join("js-tools"))
                    .unwrap_or_else(|e| panic!("installing the JavaScript build tools: {e}"))
            });
            project.build_with_js_tools(Some(&out), tools)
        } else {
            project.build(Some(&out))
        }
        .unwrap_or_else(|e| panic!("building {guest}: {e}"));
        consts.push_str(&format!(
            "/// The `{}` component, built from `{guest}`.\npub const {}: &str = {:?};\n",
            project.name,
            project.name.replace('-', "_").to_uppercase(),
            built.path.display().to_string()
        ));
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    for input in INPUTS {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("guests.rs");
    std::fs::write(out, consts).unwrap();
}

/// A directory of its own (cargo locks a target directory while it builds), shared by every
/// profile of the outer build so the guests are built once.
fn guest_target_dir(root: &Path) -> PathBuf {
    let outer = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    outer.join("guests")
}
