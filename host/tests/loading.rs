//! Loading components: what is refused (and how the refusal reads), and the compile cache.

use trellis_host_test_support as common;

use std::path::Path;

use trellis_guest_artifacts::{CLASSROOM_THERMOSTAT, FUTURE_VERSION, MISSING_EXPORT, read};
use trellis_host::{CacheOutcome, Host, HostConfig, LoadError};

fn refusal(bytes: &[u8]) -> LoadError {
    common::host()
        .load_app(bytes)
        .err()
        .expect("the component should have been refused")
}

#[test]
fn a_missing_export_is_named() {
    match refusal(&read(MISSING_EXPORT)) {
        LoadError::WorldMismatch { world, problems } => {
            assert_eq!(world, "trellis:platform/app@0.1.0");
            assert!(problems.contains("missing export `on-tick`"), "{problems}");
            assert!(!problems.contains("`on-reading`"), "{problems}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn an_unsupported_package_version_is_named() {
    match refusal(&read(FUTURE_VERSION)) {
        LoadError::WorldMismatch { problems, .. } => {
            assert!(
                problems.contains("imports `trellis:platform/log@0.2.0`"),
                "{problems}"
            );
            assert!(
                problems.contains("this host implements trellis:platform@0.1.0"),
                "{problems}"
            );
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_core_module_is_refused_with_how_to_build_a_component() {
    // The smallest valid core module: magic number and version 1.
    let error = refusal(b"\0asm\x01\0\0\0");
    assert!(matches!(error, LoadError::NotAComponent(_)), "{error}");
    assert!(
        error.to_string().contains("--target wasm32-wasip2"),
        "{error}"
    );
}

#[test]
fn bytes_that_are_not_webassembly_are_refused() {
    let error = refusal(b"#!/bin/sh\necho hello\n");
    assert!(error.to_string().contains("magic number"), "{error}");
    let truncated = read(CLASSROOM_THERMOSTAT);
    let error = refusal(&truncated[..truncated.len() / 2]);
    assert!(matches!(error, LoadError::NotAComponent(_)), "{error}");
}

/// A small host whose compile cache is `dir`.
fn cached(dir: &Path) -> HostConfig {
    HostConfig {
        cache_dir: Some(dir.to_path_buf()),
        max_instances: 8,
        ..HostConfig::default()
    }
}

#[test]
fn a_second_host_loads_the_compiled_component_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let config = cached(dir.path());
    let bytes = read(CLASSROOM_THERMOSTAT);

    let first = Host::new(config.clone()).unwrap().load_app(&bytes).unwrap();
    assert_eq!(first.cache_outcome(), CacheOutcome::Compiled);

    let host = Host::new(config.clone()).unwrap();
    let second = host.load_app(&bytes).unwrap();
    assert_eq!(second.cache_outcome(), CacheOutcome::Loaded);
    common::assert_thermostat_cools(&second);
}

#[test]
fn a_corrupt_cache_entry_is_compiled_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = cached(dir.path());
    let bytes = read(CLASSROOM_THERMOSTAT);
    Host::new(config.clone()).unwrap().load_app(&bytes).unwrap();

    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    std::fs::write(&entries[0], b"not machine code").unwrap();

    let reloaded = Host::new(config).unwrap().load_app(&bytes).unwrap();
    assert_eq!(reloaded.cache_outcome(), CacheOutcome::Compiled);
    assert!(
        std::fs::read(&entries[0]).unwrap().len() > 1000,
        "the entry was not rewritten"
    );
}
