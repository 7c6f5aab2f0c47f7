//! Which version `latest` names for each model, kept in memory so a prediction resolves it
//! without a database read. Every upload or deletion of a model version bumps
//! [`db::models::revision`](crate::db::models::revision); a name resolved under an older
//! revision is resolved again. The revision is read before the database is, so a version
//! pushed while a name is being resolved leaves that entry stale rather than wrongly trusted.

use std::collections::HashMap;

use parking_lot::RwLock;

/// Beyond this many model names the map starts again empty.
const MOST_MODELS: usize = 10_000;

/// The latest version of each model resolved lately, with the revision it was resolved at.
#[derive(Default)]
pub struct LatestVersions {
    versions: RwLock<HashMap<String, (u64, String)>>,
}

impl LatestVersions {
    /// The latest version of `model`, if it was resolved at `revision`.
    pub fn get(&self, model: &str, revision: u64) -> Option<String> {
        let versions = self.versions.read();
        let (at, version) = versions.get(model)?;
        (*at == revision).then(|| version.clone())
    }

    /// Records `version` as the latest of `model` at `revision`.
    pub fn put(&self, model: &str, revision: u64, version: &str) {
        let mut versions = self.versions.write();
        if versions.len() >= MOST_MODELS {
            versions.clear();
        }
        versions.insert(model.to_string(), (revision, version.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_resolved_at_an_older_revision_is_not_trusted() {
        let latest = LatestVersions::default();
        latest.put("digits", 7, "1.2.0");
        assert_eq!(latest.get("digits", 7).as_deref(), Some("1.2.0"));
        assert_eq!(latest.get("digits", 8), None);
        assert_eq!(latest.get("vision", 7), None);
    }
}
