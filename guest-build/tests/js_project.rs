//! A JavaScript project as a user has it: only `app.js`, no `package.json`, no `node_modules`.
//! The build pins the tools in a `package.json`, installs them with npm, builds the component,
//! and reuses it while the sources do not change. Needs Node.js, npm and the npm registry (or
//! npm's cache).

use std::path::Path;

use trellis_guest_build::{Language, Project, World};

const APP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/apps/classroom-thermostat-js/app.js"
);

#[test]
fn a_bare_javascript_project_gets_its_tools_and_builds() {
    let dir = tempfile::tempdir().unwrap();
    let project_dir = dir.path().join("thermostat");
    std::fs::create_dir(&project_dir).unwrap();
    std::fs::copy(APP, project_dir.join("app.js")).unwrap();

    let project = Project::detect(&project_dir).unwrap();
    assert_eq!(project.language, Language::JavaScript);
    assert_eq!(project.world, World::App);

    let built = project.build(None).unwrap_or_else(|e| panic!("{e}"));
    assert!(!built.reused);
    assert_eq!(
        built.path,
        project_dir.join("target/trellis/thermostat.wasm")
    );
    let bytes = std::fs::read(&built.path).unwrap();
    // A component (layer 1), not a core module.
    assert_eq!(&bytes[..8], b"\0asm\x0d\0\x01\0");
    assert_eq!(built.size, bytes.len() as u64);

    let manifest = std::fs::read_to_string(project_dir.join("package.json")).unwrap();
    assert!(manifest.contains("\"@bytecodealliance/componentize-js\": \"0.23.0\""));
    assert!(has_package(&project_dir, "rolldown"));
    // The world's declarations for editors.
    assert!(project_dir.join(".trellis/js/types/app/app.d.ts").exists());

    let again = project.build(None).unwrap();
    assert!(again.reused, "an unchanged project is not built again");

    std::fs::write(
        project_dir.join("app.js"),
        std::fs::read_to_string(APP).unwrap() + "\n// changed\n",
    )
    .unwrap();
    assert!(
        !project.build(None).unwrap().reused,
        "a changed source is built again"
    );
}

#[test]
fn a_build_error_is_shown_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let project_dir = dir.path().join("broken");
    std::fs::create_dir(&project_dir).unwrap();
    std::fs::write(
        project_dir.join("app.js"),
        "import { App } from \"trellis\";\nexport default class Broken extends App {\n  onReading( {\n}\n",
    )
    .unwrap();
    // The tools the first test installs would do; this one brings its own through the
    // SDK's lockfile, into a folder beside the project.
    let tools = trellis_guest_build::install_js_tools(&dir.path().join("tools")).unwrap();
    let error = Project::detect(&project_dir)
        .unwrap()
        .build_with_js_tools(None, &tools)
        .expect_err("a syntax error must fail the build");
    let text = error.to_string();
    assert!(text.contains("could not build"), "{text}");
    assert!(text.contains("app.js"), "{text}");
}

fn has_package(project: &Path, name: &str) -> bool {
    project
        .join("node_modules")
        .join(name)
        .join("package.json")
        .exists()
}
