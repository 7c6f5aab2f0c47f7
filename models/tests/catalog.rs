//! The catalog: one load per model version however many callers ask at once, failures not kept,
//! and apps that see only the versions they are given.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use common::models::{catalog, package, versions};
use trellis_guest_artifacts::DIGITS_CONTRACT;
use trellis_host::capabilities::ModelRuntime;
use trellis_host::types::{Error, Value};
use trellis_models::{BackendChoice, ModelError, ModelPackage};

fn digits(version: &str) -> ModelPackage {
    let mut package = package("digits", DIGITS_CONTRACT, BackendChoice::Auto);
    package.config.version = version.into();
    package
}

#[test]
fn callers_asking_for_the_same_version_at_once_share_one_load() {
    let host = Arc::new(common::host());
    let catalog = catalog(&host);
    let loads = AtomicUsize::new(0);
    let callers = 4;
    let together = Barrier::new(callers);
    let pipelines: Vec<_> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..callers)
            .map(|_| {
                scope.spawn(|| {
                    together.wait();
                    catalog
                        .get_or_load("digits", "1.0.0", || {
                            loads.fetch_add(1, Ordering::SeqCst);
                            Ok::<_, ModelError>(digits("1.0.0"))
                        })
                        .unwrap()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert!(pipelines.iter().all(|p| Arc::ptr_eq(p, &pipelines[0])));
    let again = catalog
        .get_or_load("digits", "1.0.0", || -> Result<ModelPackage, ModelError> {
            panic!("a loaded version is not loaded again")
        })
        .unwrap();
    assert!(Arc::ptr_eq(&again, &pipelines[0]));
}

#[test]
fn a_failed_load_is_not_kept_and_the_next_caller_loads_again() {
    let host = Arc::new(common::host());
    let catalog = catalog(&host);
    let mut broken = digits("1.0.0");
    broken.onnx = b"not a model".to_vec();
    let why = catalog
        .get_or_load("digits", "1.0.0", || Ok::<_, ModelError>(broken))
        .err()
        .unwrap();
    assert!(matches!(why, ModelError::File { .. }), "{why}");
    assert!(catalog.get("digits", "1.0.0").is_none());

    let loaded = catalog
        .get_or_load("digits", "1.0.0", || Ok::<_, ModelError>(digits("1.0.0")))
        .unwrap();
    assert_eq!(loaded.config().name, "digits");
    assert!(catalog.get("digits", "1.0.0").is_some());
}

#[test]
fn each_version_is_its_own_model_and_retain_drops_the_unwanted() {
    let host = Arc::new(common::host());
    let catalog = catalog(&host);
    let one = catalog.insert(catalog.load(digits("1.0.0")).unwrap());
    let two = catalog
        .get_or_load("digits", "2.0.0", || Ok::<_, ModelError>(digits("2.0.0")))
        .unwrap();
    assert!(!Arc::ptr_eq(&one, &two));
    assert!(Arc::ptr_eq(&catalog.get("digits", "1.0.0").unwrap(), &one));

    catalog.retain(|_, version| version == "2.0.0");
    assert!(catalog.get("digits", "1.0.0").is_none());
    assert!(Arc::ptr_eq(&catalog.get("digits", "2.0.0").unwrap(), &two));
}

#[test]
fn an_app_calls_the_versions_it_is_given_and_follows_new_ones() {
    let host = Arc::new(common::host());
    let catalog = catalog(&host);
    catalog.insert(catalog.load(digits("1.0.0")).unwrap());
    let listed = ["digits".to_string()];
    let app = catalog.for_app(&listed, &versions(&[("digits", "2.0.0")]));
    let features = || Value::Numbers(vec![0.0; 64]);
    match app.predict("digits", features()) {
        Err(Error::UnknownModel(why)) => assert!(why.contains("digits"), "{why}"),
        other => panic!("version 2.0.0 is not loaded, got {other:?}"),
    }

    catalog.insert(catalog.load(digits("2.0.0")).unwrap());
    assert!(app.predict("digits", features()).is_ok());

    app.set_versions(&versions(&[]));
    assert!(matches!(
        app.predict("digits", features()),
        Err(Error::UnknownModel(_))
    ));
    app.set_versions(&versions(&[("digits", "1.0.0"), ("comfort", "1.0.0")]));
    assert!(app.predict("digits", features()).is_ok());
    match app.predict("comfort", Value::Numbers(vec![31.0, 60.0, 30.0])) {
        Err(Error::UnknownModel(why)) => assert!(why.contains("manifest"), "{why}"),
        other => panic!("comfort is not in the manifest, got {other:?}"),
    }
}
