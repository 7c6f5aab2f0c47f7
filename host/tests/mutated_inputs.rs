//! Mutated manifests and components: every broken version of a valid input is refused with a
//! message, and none panics the host. Each case's seed is in the failure's message.

use std::path::Path;

use trellis_guest_artifacts::{CLASSROOM_THERMOSTAT, COMFORT_CONTRACT, read};
use trellis_host::manifest::AppManifest;
use trellis_host::{Host, HostConfig};
use trellis_mutations::{Mutator, cases};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn manifests() -> Vec<String> {
    let mut texts = Vec::new();
    for folder in ["examples/apps", "tests/guests"] {
        for entry in std::fs::read_dir(workspace().join(folder)).unwrap() {
            if let Ok(text) = std::fs::read_to_string(entry.unwrap().path().join("trellis.toml")) {
                texts.push(text);
            }
        }
    }
    assert!(texts.len() >= 10, "found only {} manifests", texts.len());
    texts
}

#[test]
fn a_mutated_manifest_is_parsed_or_refused_with_a_message() {
    let originals = manifests();
    let (mut refused, mut accepted) = (0, 0);
    for seed in 0..cases(3000) {
        let mut mutator = Mutator::new(seed);
        let original = &originals[seed as usize % originals.len()];
        let text = mutator.text(original);
        match AppManifest::parse(&text) {
            Ok(manifest) => {
                accepted += 1;
                // What parses must also answer its questions without panicking.
                let _ = manifest.config_values(&[]);
                let _ = manifest.resources.state_quota_bytes();
                let _ = manifest.model_names();
            }
            Err(message) => {
                refused += 1;
                assert!(
                    !message.trim().is_empty(),
                    "seed {seed}: empty refusal for\n{text}"
                );
            }
        }
    }
    assert!(
        refused > accepted / 4,
        "{refused} refused, {accepted} accepted"
    );
}

#[test]
fn a_mutated_component_is_loaded_or_refused_with_a_message() {
    // No compile cache: the mutants must not be kept.
    let host = Host::new(HostConfig::default()).unwrap();
    let app = read(CLASSROOM_THERMOSTAT);
    let contract = read(COMFORT_CONTRACT);
    let mut refused = 0;
    let total = cases(40);
    for seed in 0..total {
        let mut mutator = Mutator::new(seed);
        let outcome = if seed % 2 == 0 {
            host.load_app(&mutator.bytes(&app)).map(drop)
        } else {
            host.load_contract(&mutator.bytes(&contract)).map(drop)
        };
        if let Err(e) = outcome {
            refused += 1;
            assert!(
                !e.to_string().trim().is_empty(),
                "seed {seed}: empty refusal"
            );
        }
    }
    // Most single-byte changes land in code or structure, which validation refuses.
    assert!(
        refused * 4 >= total,
        "only {refused} of {total} mutants refused"
    );
}
