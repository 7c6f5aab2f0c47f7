//! Paths of the guest components the build script made: the example apps and the test guests.

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// Reads a component built by this crate.
pub fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}
