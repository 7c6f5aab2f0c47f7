//! Prediction jobs: a file of inputs (a CSV, one input a row, or a zip of images) run through one
//! model version in the background, with progress, cancellation and a CSV of results.

use serde::{Deserialize, Serialize};

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum JobState {
    /// Waiting for the jobs before it.
    Queued,
    Running,
    /// Every row was read; each has an answer or its own error.
    Succeeded,
    /// The job as a whole could not go on (its model went away, its file could not be read, the
    /// control plane stopped while it ran); `error` says why.
    Failed,
    Cancelled,
}

impl JobState {
    /// The state's name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Succeeded,
            JobState::Failed,
            JobState::Cancelled,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }

    /// Whether the job has ended (and its results can be downloaded).
    pub fn is_finished(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
}

/// A prediction job.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictionJob {
    /// What `/api/v1/jobs/{id}` names.
    pub id: String,
    pub model: String,
    /// The version it runs (`latest` is resolved when the job is submitted).
    pub version: String,
    /// Who submitted it: only they and admins see it.
    pub owner: String,
    /// `csv` or `zip`.
    pub input: String,
    pub state: JobState,
    /// Rows in the file, once known (counted before the first row runs).
    pub rows_total: Option<u64>,
    /// Rows taken through the model so far, answered or failed.
    pub rows_done: u64,
    /// Of `rows_done`, those with an error instead of an answer.
    pub rows_failed: u64,
    /// Why the job failed, for a failed job.
    pub error: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Running time so far (or in all, once finished), in milliseconds.
    pub duration_ms: Option<u64>,
}
