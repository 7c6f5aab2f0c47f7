//! The artifact collector's report: what it removed and what it kept.

use serde::{Deserialize, Serialize};

/// A number of files and their size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tally {
    pub files: u64,
    pub bytes: u64,
}

impl Tally {
    /// Counts one more file of `bytes`.
    pub fn add(&mut self, bytes: u64) {
        self.files += 1;
        self.bytes += bytes;
    }
}

/// One collection: stored artifacts that no model or app version refers to are removed, with
/// the compiled copies of components and contracts no version refers to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Collected {
    /// Artifacts removed from the store.
    pub removed: Tally,
    /// Artifacts kept: each is referred to by a model or app version.
    pub kept: Tally,
    /// Compiled components and contracts removed from the compile cache.
    pub removed_compiled: Tally,
}
