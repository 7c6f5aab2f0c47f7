//! The artifact collector: removes stored artifacts that no model or app version refers to (left
//! by deleted versions, or by uploads a crash cut short), and the compiled copies of components
//! and contracts no version refers to. It runs every `collect_interval`, after each deletion, and
//! when an admin asks (`POST /api/v1/admin/collect`).
//!
//! It never removes an artifact in use: it reads what every version refers to while holding the
//! store to itself, which waits for each upload between writing its artifacts and committing
//! the row that refers to them (see `artifacts`), so an upload in progress is never mistaken for
//! garbage.

use std::collections::HashSet;

use sqlx::AnyPool;
use trellis_host::Host;
use trellis_protocol::api::Collected;

use crate::artifacts::ArtifactStore;
use crate::db;
use crate::error::ApiResult;
use crate::state::AppState;

/// Runs [`collect`] every `collect_interval` (the first time one interval after start) until the
/// process ends.
pub async fn run(state: AppState) {
    let every = state.settings.collect_interval;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = collect(&state).await {
            tracing::warn!("collecting artifacts: {}", e.message);
        }
    }
}

/// One collection, now.
pub async fn collect(state: &AppState) -> ApiResult<Collected> {
    sweep(&state.db, &state.artifacts, &state.host).await
}

/// Removes from `artifacts` (and from `host`'s compile cache) what no version in `db` refers to.
async fn sweep(db: &AnyPool, artifacts: &ArtifactStore, host: &Host) -> ApiResult<Collected> {
    let store = artifacts.exclusive().await;
    let referenced: HashSet<String> = db::models::artifacts(db)
        .await?
        .into_iter()
        .chain(db::apps::artifacts(db).await?)
        .collect();
    let mut report = Collected::default();
    for (sha256, size) in store.blobs()? {
        if referenced.contains(&sha256) {
            report.kept.add(size);
        } else {
            store.remove(&sha256)?;
            report.removed.add(size);
        }
    }
    for size in store.clear_incoming()? {
        report.removed.add(size);
    }
    for size in host.retain_compiled(|sha256| referenced.contains(sha256))? {
        report.removed_compiled.add(size);
    }
    if report.removed.files + report.removed_compiled.files > 0 {
        tracing::info!(
            "collected {} artifact(s) ({} bytes) and {} compiled component(s) no version refers to",
            report.removed.files,
            report.removed.bytes,
            report.removed_compiled.files
        );
    }
    Ok(report)
}

/// A collection after a deletion: what it removes is reported in the log, and a failure does not
/// undo the deletion.
pub async fn collect_after_deletion(state: &AppState) {
    if let Err(e) = collect(state).await {
        tracing::warn!("collecting artifacts after a deletion: {}", e.message);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use trellis_host::HostConfig;

    use super::*;
    use crate::db::apps::AppRow;

    /// An upload between writing its artifact and committing its row holds the collector off,
    /// so the artifact is kept; a blob nothing refers to goes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_upload_in_progress_keeps_its_artifact() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("registry.db").display());
        let db = db::connect(&url).await.unwrap();
        let store = ArtifactStore::open(&dir.path().join("artifacts")).unwrap();
        let host = Arc::new(
            Host::new(HostConfig {
                cache_dir: Some(dir.path().join("compiled")),
                ..HostConfig::default()
            })
            .unwrap(),
        );
        let orphan = store
            .lease()
            .await
            .put(b"left by a deleted version")
            .unwrap();

        let lease = store.lease().await;
        let uploading = lease.put(b"an app component").unwrap();
        let collecting = tokio::spawn({
            let (db, store, host) = (db.clone(), store.clone(), host.clone());
            async move { sweep(&db, &store, &host).await.map_err(|e| e.message) }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !collecting.is_finished(),
            "the collector ran while an upload had an artifact without its row"
        );
        let row = AppRow {
            name: "app".into(),
            version: "1.0.0".into(),
            description: String::new(),
            manifest: "name = \"app\"\n".into(),
            component_sha256: uploading.sha256.clone(),
            uploaded_by: "pat".into(),
            created_at: 0,
            owner: None,
        };
        db::apps::insert(&db, &row).await.unwrap();
        drop(lease);

        let report = collecting.await.unwrap().unwrap();
        assert_eq!(store.list().unwrap(), vec![uploading.sha256.clone()]);
        assert_eq!((report.kept.files, report.removed.files), (1, 1));
        assert_eq!(
            report.removed.bytes,
            b"left by a deleted version".len() as u64
        );
        assert!(store.read(&orphan.sha256).unwrap().is_none());
    }
}
