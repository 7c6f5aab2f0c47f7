//! Checks that a component implements a world before anything runs, and names every export it
//! lacks and every import the host cannot satisfy.

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::LoadError;

pub(crate) const APP_WORLD: &str = "trellis:platform/app@0.1.0";
pub(crate) const CONTRACT_WORLD: &str = "trellis:platform/contract@0.1.0";
const PACKAGE_PREFIX: &str = "trellis:platform/";
const PACKAGE_VERSION: &str = "0.1.0";
const APP_EXPORTS: &[&str] = &["init", "on-reading", "on-tick"];
const APP_IMPORTS: &[&str] = &[
    "types",
    "sensors",
    "controllers",
    "inference",
    "log",
    "state",
    "notify",
    "config",
];

const CONTRACT_EXPORTS: &[&str] = &["preprocess", "postprocess"];
const CONTRACT_IMPORTS: &[&str] = &["types", "log"];

/// The worlds a component can be loaded as.
#[derive(Clone, Copy)]
pub(crate) enum World {
    App,
    Contract,
}

impl World {
    pub(crate) fn name(self) -> &'static str {
        match self {
            World::App => APP_WORLD,
            World::Contract => CONTRACT_WORLD,
        }
    }

    fn exports(self) -> &'static [&'static str] {
        match self {
            World::App => APP_EXPORTS,
            World::Contract => CONTRACT_EXPORTS,
        }
    }

    fn imports(self) -> &'static [&'static str] {
        match self {
            World::App => APP_IMPORTS,
            World::Contract => CONTRACT_IMPORTS,
        }
    }
}

pub(crate) fn check(engine: &Engine, component: &Component, world: World) -> Result<(), LoadError> {
    let problems = problems(engine, component, world.exports(), world.imports());
    if problems.is_empty() {
        Ok(())
    } else {
        Err(LoadError::WorldMismatch {
            world: world.name(),
            problems: problems.join("; "),
        })
    }
}

fn problems(
    engine: &Engine,
    component: &Component,
    exports: &[&str],
    imports: &[&str],
) -> Vec<String> {
    let ty = component.component_type();
    let mut problems = Vec::new();
    for export in exports {
        if ty.get_export(engine, export).is_none() {
            problems.push(format!("missing export `{export}`"));
        }
    }
    for (name, _) in ty.imports(engine) {
        if let Some(rest) = name.strip_prefix(PACKAGE_PREFIX) {
            let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
            if version != PACKAGE_VERSION {
                problems.push(format!(
                    "imports `{name}`, but this host implements trellis:platform@{PACKAGE_VERSION}"
                ));
            } else if !imports.contains(&interface) {
                problems.push(format!("imports `{name}`, which this world does not offer"));
            }
        } else if !name.starts_with("wasi:") {
            problems.push(format!(
                "imports `{name}`, which this host does not provide"
            ));
        }
    }
    problems
}
