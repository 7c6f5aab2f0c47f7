//! The `prediction_jobs` table: each job's model version, owner, state and progress. Every change
//! of state is one conditional statement, so a cancellation and the runner cannot both win.

use sqlx::AnyPool;
use trellis_protocol::api::{JobState, PredictionJob};

use crate::error::{ApiError, ApiResult};
use crate::ids::rfc3339;

const COLUMNS: &str = "id, owner_id, owner_name, model_name, model_version, input_kind, state, \
     rows_total, rows_done, rows_failed, answer_columns, error, created_at, started_at, \
     finished_at";

/// A stored job.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct JobRow {
    pub id: String,
    pub owner_id: String,
    pub owner_name: String,
    pub model_name: String,
    pub model_version: String,
    /// `csv` or `zip`.
    pub input_kind: String,
    pub state: String,
    pub rows_total: Option<i64>,
    pub rows_done: i64,
    pub rows_failed: i64,
    /// The answers' fields seen so far, as a JSON list.
    pub answer_columns: String,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl JobRow {
    pub fn state(&self) -> ApiResult<JobState> {
        JobState::parse(&self.state)
            .ok_or_else(|| ApiError::internal(format!("job state `{}`", self.state)))
    }

    pub fn columns(&self) -> ApiResult<Vec<String>> {
        super::from_json(&self.answer_columns)
    }

    pub fn into_api(self, now: i64) -> ApiResult<PredictionJob> {
        let state = self.state()?;
        let duration_ms = self
            .started_at
            .map(|started| (self.finished_at.unwrap_or(now) - started).max(0) as u64);
        Ok(PredictionJob {
            state,
            rows_total: self.rows_total.map(|n| n as u64),
            rows_done: self.rows_done as u64,
            rows_failed: self.rows_failed as u64,
            created_at: rfc3339(self.created_at),
            started_at: self.started_at.map(rfc3339),
            finished_at: self.finished_at.map(rfc3339),
            duration_ms,
            id: self.id,
            model: self.model_name,
            version: self.model_version,
            owner: self.owner_name,
            input: self.input_kind,
            error: self.error,
        })
    }
}

/// Records a new queued job.
pub async fn insert(db: &AnyPool, job: &JobRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO prediction_jobs ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(&job.id)
    .bind(&job.owner_id)
    .bind(&job.owner_name)
    .bind(&job.model_name)
    .bind(&job.model_version)
    .bind(&job.input_kind)
    .bind(&job.state)
    .bind(job.rows_total)
    .bind(job.rows_done)
    .bind(job.rows_failed)
    .bind(&job.answer_columns)
    .bind(&job.error)
    .bind(job.created_at)
    .bind(job.started_at)
    .bind(job.finished_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn find(db: &AnyPool, id: &str) -> sqlx::Result<Option<JobRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM prediction_jobs WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Every job (`owner_id` `None`) or one user's, newest first.
pub async fn list(db: &AnyPool, owner_id: Option<&str>) -> sqlx::Result<Vec<JobRow>> {
    match owner_id {
        Some(owner) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM prediction_jobs WHERE owner_id = $1 \
                 ORDER BY created_at DESC, id"
            ))
            .bind(owner)
            .fetch_all(db)
            .await
        }
        None => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM prediction_jobs ORDER BY created_at DESC, id"
            ))
            .fetch_all(db)
            .await
        }
    }
}

/// Takes the oldest queued job and marks it running; `None` when none waits.
pub async fn start_next(db: &AnyPool, now: i64) -> sqlx::Result<Option<JobRow>> {
    loop {
        let next: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM prediction_jobs WHERE state = 'queued' \
             ORDER BY created_at, id LIMIT 1",
        )
        .fetch_optional(db)
        .await?;
        let Some((id,)) = next else {
            return Ok(None);
        };
        let started = sqlx::query(
            "UPDATE prediction_jobs SET state = 'running', started_at = $1 \
             WHERE id = $2 AND state = 'queued'",
        )
        .bind(now)
        .bind(&id)
        .execute(db)
        .await?;
        // Cancelled between the two statements: look again.
        if started.rows_affected() == 1 {
            return find(db, &id).await;
        }
    }
}

/// Records a running job's progress; false when the job is no longer running (cancelled), so
/// the runner stops.
pub async fn progress(
    db: &AnyPool,
    id: &str,
    rows_total: Option<i64>,
    rows_done: i64,
    rows_failed: i64,
    answer_columns: &str,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE prediction_jobs SET rows_total = $1, rows_done = $2, rows_failed = $3, \
         answer_columns = $4 WHERE id = $5 AND state = 'running'",
    )
    .bind(rows_total)
    .bind(rows_done)
    .bind(rows_failed)
    .bind(answer_columns)
    .bind(id)
    .execute(db)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Ends a running job as `state` (succeeded or failed) with `error`; false when it was no longer
/// running.
pub async fn finish(
    db: &AnyPool,
    id: &str,
    state: JobState,
    error: Option<&str>,
    now: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE prediction_jobs SET state = $1, error = $2, finished_at = $3 \
         WHERE id = $4 AND state = 'running'",
    )
    .bind(state.as_str())
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Cancels a queued or running job; false when it had already finished.
pub async fn cancel(db: &AnyPool, id: &str, now: i64) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE prediction_jobs SET state = 'cancelled', finished_at = $1 \
         WHERE id = $2 AND state IN ('queued', 'running')",
    )
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Marks every job still running as failed with `error`: at start-up, those a stopped control
/// plane left behind.
pub async fn fail_running(db: &AnyPool, error: &str, now: i64) -> sqlx::Result<u64> {
    let updated = sqlx::query(
        "UPDATE prediction_jobs SET state = 'failed', error = $1, finished_at = $2 \
         WHERE state = 'running'",
    )
    .bind(error)
    .bind(now)
    .execute(db)
    .await?;
    Ok(updated.rows_affected())
}
