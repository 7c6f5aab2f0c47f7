//! Prediction jobs: a file of inputs run through one model version in the background. The file
//! is streamed to disk on submission (`jobs/<id>/` under the data directory), read a row at a
//! time in batches, each row taken through the same model catalog the predict route uses, and
//! its results written to disk as they come; progress is recorded after every batch.
//!
//! On start-up, jobs a stopped control plane left running are marked failed (interrupted), with
//! the rows they finished still downloadable; queued jobs run as usual.

pub mod inputs;
pub mod results;
mod runner;

use std::path::PathBuf;

pub use runner::run;

use crate::state::AppState;

/// Why a job that was running when the control plane stopped is failed at the next start.
pub const INTERRUPTED: &str =
    "interrupted: the control plane stopped while the job ran; submit it again to finish it";

/// Where job `id` keeps its input and results.
pub fn directory(state: &AppState, id: &str) -> PathBuf {
    state.settings.data_dir.join("jobs").join(id)
}

/// Marks the jobs a stopped control plane left running as failed.
pub async fn fail_interrupted(db: &sqlx::AnyPool) -> sqlx::Result<()> {
    let failed =
        crate::db::prediction_jobs::fail_running(db, INTERRUPTED, crate::ids::now_ms()).await?;
    if failed > 0 {
        tracing::warn!("{failed} prediction job(s) were interrupted by a restart");
    }
    Ok(())
}
