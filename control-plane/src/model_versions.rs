//! Which version of each model a deployment runs. An app's manifest names each model with a
//! semver requirement; a deployment runs the newest version meeting it, resolved once (at
//! creation) and recorded, so a model version pushed later reaches it only when its versions are
//! resolved again.

use std::collections::BTreeMap;

use semver::{Version, VersionReq};
use sqlx::AnyPool;
use trellis_host::manifest::AppManifest;

use crate::db;
use crate::error::{ApiError, ApiResult};

/// The newest version of each model `manifest` names that meets its requirement, by model name.
/// A model with no such version is a 400 naming the model, the requirement and the versions
/// there are.
pub async fn resolve(db: &AnyPool, manifest: &AppManifest) -> ApiResult<BTreeMap<String, String>> {
    let mut resolved = BTreeMap::new();
    for (name, requirement) in &manifest.models {
        let mut versions: Vec<String> = db::models::versions(db, name)
            .await?
            .into_iter()
            .map(|row| row.version)
            .collect();
        // Highest first, as the message lists them.
        versions.sort_by_cached_key(|text| std::cmp::Reverse(Version::parse(text).ok()));
        let app = format!("app `{}` {}", manifest.name, manifest.version);
        let Some(version) = newest_matching(&versions, requirement) else {
            return Err(ApiError::bad_request(if versions.is_empty() {
                format!(
                    "models: {app} calls model `{name}` (`{requirement}`), which has no versions"
                )
            } else {
                format!(
                    "models: {app} needs model `{name}` at `{requirement}`, and no version matches; it has {}",
                    versions.join(", ")
                )
            }));
        };
        resolved.insert(name.clone(), version.to_string());
    }
    Ok(resolved)
}

/// The highest of `versions` that is a semantic version meeting `requirement`.
pub fn newest_matching<'a>(versions: &'a [String], requirement: &VersionReq) -> Option<&'a str> {
    versions
        .iter()
        .filter_map(|text| Some((Version::parse(text).ok()?, text)))
        .filter(|(version, _)| requirement.matches(version))
        .max_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, text)| text.as_str())
}

/// The newest of `versions` (given newest upload first): the highest semantic version, or the
/// newest upload when none is one. What `latest` names.
pub fn newest(versions: &[String]) -> Option<&str> {
    versions
        .iter()
        .filter_map(|text| Some((Version::parse(text).ok()?, text)))
        .max_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, text)| text.as_str())
        .or(versions.first().map(String::as_str))
}

/// Records the model versions of deployments made before versions were recorded: each is
/// resolved from its app's requirements now, as its node was then assigned the newest. One that
/// cannot be resolved is left unrecorded and logged; its node then runs it without models.
pub async fn record_unrecorded(db: &AnyPool) -> anyhow::Result<()> {
    for (id, manifest) in db::deployment_models::unrecorded(db).await? {
        let Ok(manifest) = AppManifest::parse(&manifest) else {
            continue;
        };
        if manifest.models.is_empty() {
            continue;
        }
        match resolve(db, &manifest).await {
            Ok(models) => db::deployment_models::set(db, &id, &models).await?,
            Err(e) => tracing::warn!("deployment {id}: {}", e.message),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(list: &[&str]) -> Vec<String> {
        list.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn the_highest_matching_version_wins_whatever_the_upload_order() {
        let uploaded = versions(&["1.2.0", "2.0.0", "1.10.0", "not-semver", "1.3.0-beta.1"]);
        let req = |text: &str| VersionReq::parse(text).unwrap();
        assert_eq!(newest_matching(&uploaded, &req("^1")), Some("1.10.0"));
        assert_eq!(newest_matching(&uploaded, &req("*")), Some("2.0.0"));
        assert_eq!(newest_matching(&uploaded, &req("=1.2.0")), Some("1.2.0"));
        assert_eq!(newest_matching(&uploaded, &req("^3")), None);
        assert_eq!(newest(&uploaded), Some("2.0.0"));
        assert_eq!(newest(&versions(&["b", "a"])), Some("b"));
        assert_eq!(newest(&[]), None);
    }
}
