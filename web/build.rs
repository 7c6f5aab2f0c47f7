//! Installs the portal's third-party front-end code (`package.json`, pinned by
//! `package-lock.json`) with `npm ci` into the build's output directory, so the files the portal
//! embeds come from the npm registry through the lockfile and nothing is copied into the
//! repository. An install is reused until the lockfile changes.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=package.json");
    println!("cargo::rerun-if-changed=package-lock.json");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let npm_dir = Path::new(&out).join("npm");
    std::fs::create_dir_all(&npm_dir).expect("creating the npm folder in OUT_DIR");
    let lock = std::fs::read("package-lock.json").expect("web/package-lock.json");
    let installed_lock = npm_dir.join("package-lock.json");
    let installed = npm_dir.join("node_modules/uplot/dist/uPlot.iife.min.js");
    if installed.exists() && std::fs::read(&installed_lock).ok().as_deref() == Some(&lock[..]) {
        return;
    }
    std::fs::copy("package.json", npm_dir.join("package.json")).expect("copying package.json");
    std::fs::write(&installed_lock, &lock).expect("copying package-lock.json");
    let status = Command::new("npm")
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(&npm_dir)
        .status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => panic!(
            "`npm ci` for the portal's front-end packages (web/package-lock.json) failed ({status}); \
             it needs the npm registry"
        ),
        Err(e) => panic!(
            "running `npm ci` for the portal's front-end packages: {e}; the build needs Node.js \
             and npm (Debian: apt-get install nodejs npm)"
        ),
    }
}
