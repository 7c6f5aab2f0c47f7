//! The job runner: takes queued jobs one at a time, oldest first, and runs each in batches. A
//! batch is read, answered and written on blocking threads (the rows split across the cores);
//! between batches the progress is recorded with a statement that only succeeds while the job
//! is still running, which is how a cancellation reaches the runner.

use std::sync::Arc;
use std::time::Duration;

use trellis_models::ModelPipeline;
use trellis_protocol::api::JobState;

use super::inputs::{InputKind, Row, Rows};
use super::results::{self, ResultsWriter};
use crate::db::prediction_jobs::{self, JobRow};
use crate::ids::now_ms;
use crate::state::AppState;

/// Rows per batch: enough to keep the cores busy between progress records, few enough that a
/// cancellation is seen within a fraction of a second.
const BATCH_ROWS: usize = 512;

/// How long the runner sleeps when no job waits and no one says one arrived.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// Runs queued jobs until the process ends.
pub async fn run(state: AppState) {
    loop {
        match prediction_jobs::start_next(&state.db, now_ms()).await {
            Ok(Some(job)) => run_job(&state, job).await,
            Ok(None) => {
                let _ = tokio::time::timeout(IDLE_POLL, state.job_queue.notified()).await;
            }
            Err(e) => {
                tracing::error!("taking the next prediction job: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// How a job's run ended, short of failing.
enum Ended {
    Finished,
    Cancelled,
}

async fn run_job(state: &AppState, job: JobRow) {
    let outcome = execute(state, &job).await;
    let (final_state, error) = match outcome {
        Ok(Ended::Cancelled) => return,
        Ok(Ended::Finished) => (JobState::Succeeded, None),
        Err(error) => (JobState::Failed, Some(error)),
    };
    if let Err(e) =
        prediction_jobs::finish(&state.db, &job.id, final_state, error.as_deref(), now_ms()).await
    {
        tracing::error!("recording the end of prediction job {}: {e}", job.id);
    }
}

/// What a batch runs with, moved onto a blocking thread and back.
struct Work {
    rows: Rows,
    results: ResultsWriter,
    pipeline: Arc<ModelPipeline>,
}

/// Runs the job to its end; an error is the job's failure, said for its owner.
async fn execute(state: &AppState, job: &JobRow) -> Result<Ended, String> {
    let pipeline = crate::routes::model_pipeline(state, &job.model_name, &job.model_version)
        .await
        .map_err(|e| {
            format!(
                "model `{}` {}: {}",
                job.model_name, job.model_version, e.message
            )
        })?;
    let kind = InputKind::parse(&job.input_kind)
        .ok_or_else(|| format!("unknown input kind `{}`", job.input_kind))?;
    let directory = super::directory(state, &job.id);
    let (work, total) = blocking(move || {
        let input = directory.join(kind.file_name());
        let rows = Rows::open(kind, &input)?;
        let total = rows
            .count(&input)
            .map_err(|e| format!("counting rows: {e}"))?;
        let results = ResultsWriter::create(&directory.join(results::FILE))
            .map_err(|e| format!("creating the results file: {e}"))?;
        Ok((
            Work {
                rows,
                results,
                pipeline,
            },
            total,
        ))
    })
    .await?;
    let total = Some(total as i64);
    let (mut done, mut failed) = (0i64, 0i64);
    let mut work = work;
    if !record(state, job, total, done, failed, &work).await? {
        return Ok(Ended::Cancelled);
    }
    loop {
        let (returned, batch) = blocking(move || {
            let batch = run_batch(&mut work)?;
            Ok((work, batch))
        })
        .await?;
        work = returned;
        done += batch.rows as i64;
        failed += batch.failed as i64;
        if !record(state, job, total, done, failed, &work).await? {
            return Ok(Ended::Cancelled);
        }
        if batch.rows < BATCH_ROWS {
            return Ok(Ended::Finished);
        }
    }
}

/// Records progress; false once the job is no longer running (cancelled).
async fn record(
    state: &AppState,
    job: &JobRow,
    total: Option<i64>,
    done: i64,
    failed: i64,
    work: &Work,
) -> Result<bool, String> {
    let columns = serde_json::to_string(work.results.columns()).map_err(|e| e.to_string())?;
    prediction_jobs::progress(&state.db, &job.id, total, done, failed, &columns)
        .await
        .map_err(|e| format!("recording progress: {e}"))
}

async fn blocking<T: Send + 'static>(
    task: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(task)
        .await
        .map_err(|e| format!("the job's worker stopped: {e}"))?
}

struct Batch {
    rows: usize,
    failed: usize,
}

/// Reads up to [`BATCH_ROWS`] rows, answers them on every core and writes the results in order.
fn run_batch(work: &mut Work) -> Result<Batch, String> {
    let mut rows: Vec<Row> = Vec::with_capacity(BATCH_ROWS);
    while rows.len() < BATCH_ROWS {
        match work.rows.next_row() {
            Ok(Some(row)) => rows.push(row),
            Ok(None) => break,
            Err(e) => return Err(format!("reading the input: {e}")),
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = rows.len().div_ceil(threads).max(1);
    let pipeline = &work.pipeline;
    let answers: Vec<Result<serde_json::Value, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|chunk| scope.spawn(move || answer(pipeline, chunk)))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect()
    });
    if answers.len() != rows.len() {
        return Err("a worker thread panicked".into());
    }
    let mut failed = 0;
    for (row, outcome) in rows.iter().zip(&answers) {
        failed += usize::from(outcome.is_err());
        work.results
            .write(&row.id, outcome)
            .map_err(|e| format!("writing results: {e}"))?;
    }
    work.results
        .flush()
        .map_err(|e| format!("writing results: {e}"))?;
    Ok(Batch {
        rows: rows.len(),
        failed,
    })
}

/// Rows through the whole pipeline, as the predict route runs each, the model run once for
/// them all where it takes a batch.
fn answer(pipeline: &ModelPipeline, rows: &[Row]) -> Vec<Result<serde_json::Value, String>> {
    let readable: Vec<trellis_host::types::Value> = rows
        .iter()
        .filter_map(|row| row.input.clone().ok().map(Into::into))
        .collect();
    let mut answers = pipeline.predict_batch(&readable).into_iter();
    rows.iter()
        .map(|row| match &row.input {
            Err(e) => Err(e.clone()),
            Ok(_) => {
                let answer = answers.next().expect("an answer for every readable row");
                answer
                    .map(|value| trellis_protocol::Value::from(value).to_json())
                    .map_err(|e| e.to_string())
            }
        })
        .collect()
}
