//! Prediction jobs: submit a file of inputs (a CSV, one input a row, or a zip of images) to a
//! model version, follow its progress, cancel it, download its results as CSV. A user sees only
//! their own jobs (another's answer 404); admins see all.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use trellis_protocol::api::PredictionJob;

use crate::auth::Caller;
use crate::db;
use crate::db::prediction_jobs::JobRow;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::{new_id, now_ms};
use crate::jobs::inputs::{InputKind, Rows};
use crate::jobs::results;
use crate::state::AppState;

/// Submit a job: the body is the file itself, streamed to disk, with its media type: `text/csv`
/// (a header row naming the columns, then one input a row; an optional `id` column names each
/// row, the other columns are the input: several columns are numbers in column order, one
/// column is read as the predict route reads JSON) or `application/zip` (one image a file). It
/// runs in the background; follow it at `/jobs/{id}`.
#[utoipa::path(post, path = "/models/{name}/{version}/jobs", tag = "jobs", security(("token" = [])),
    params(("name" = String, Path), ("version" = String, Path, description = "a version, or `latest`")),
    request_body(description = "a CSV, one input a row, or a zip of images",
        content((String = "text/csv"), (Vec<u8> = "application/zip"))),
    responses((status = 202, description = "queued", body = PredictionJob),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, description = "the file is over the upload limit", body = ErrorBody),
        (status = 415, description = "neither text/csv nor application/zip", body = ErrorBody),
        (status = 422, description = "the file is not a readable CSV or zip of files", body = ErrorBody)))]
pub async fn submit(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<PredictionJob>)> {
    let media_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let kind = InputKind::from_media_type(media_type).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "a job's file is a CSV (`Content-Type: text/csv`) or a zip of images \
                 (`Content-Type: application/zip`), not `{media_type}`"
            ),
        )
    })?;
    let pipeline = super::models::pipeline(&state, &name, &version).await?;
    let version = pipeline.config().version.clone();
    let id = new_id("job");
    let directory = crate::jobs::directory(&state, &id);
    let input = directory.join(kind.file_name());
    let stored = async {
        tokio::fs::create_dir_all(&directory).await?;
        crate::upload::stream_to_file(body, &input, state.settings.max_upload_bytes).await?;
        let checked = tokio::task::spawn_blocking(move || Rows::open(kind, &input).map(drop))
            .await
            .map_err(ApiError::internal)?;
        checked.map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e))
    }
    .await;
    if let Err(e) = stored {
        let _ = tokio::fs::remove_dir_all(&directory).await;
        return Err(e);
    }
    let row = JobRow {
        id: id.clone(),
        owner_id: caller.user_id,
        owner_name: caller.name,
        model_name: name,
        model_version: version,
        input_kind: kind.as_str().into(),
        state: "queued".into(),
        rows_total: None,
        rows_done: 0,
        rows_failed: 0,
        answer_columns: "[]".into(),
        error: None,
        created_at: now_ms(),
        started_at: None,
        finished_at: None,
    };
    db::prediction_jobs::insert(&state.db, &row).await?;
    state.job_queue.notify_one();
    Ok((StatusCode::ACCEPTED, Json(row.into_api(now_ms())?)))
}

/// Your jobs (every job, for admins), newest first.
#[utoipa::path(get, path = "/jobs", tag = "jobs", security(("token" = [])),
    responses((status = 200, body = Vec<PredictionJob>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> ApiResult<Json<Vec<PredictionJob>>> {
    let owner = (!caller.is_admin()).then_some(caller.user_id.as_str());
    let now = now_ms();
    db::prediction_jobs::list(&state.db, owner)
        .await?
        .into_iter()
        .map(|row| row.into_api(now))
        .collect::<ApiResult<_>>()
        .map(Json)
}

/// One job: its state, progress and duration.
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs", security(("token" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = PredictionJob), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<PredictionJob>> {
    Ok(Json(
        visible(&state, &caller, &id).await?.into_api(now_ms())?,
    ))
}

/// Cancel a queued or running job: it stops after the batch it is on; the rows done so far
/// stay downloadable.
#[utoipa::path(post, path = "/jobs/{id}/cancel", tag = "jobs", security(("token" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = PredictionJob), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the job has already ended", body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<PredictionJob>> {
    let job = visible(&state, &caller, &id).await?;
    if !db::prediction_jobs::cancel(&state.db, &id, now_ms()).await? {
        return Err(ApiError::conflict(format!(
            "job `{id}` has already ended ({}); there is nothing to cancel",
            job.state
        )));
    }
    let job = visible(&state, &caller, &id).await?;
    Ok(Json(job.into_api(now_ms())?))
}

/// The results of an ended job as CSV: `id`, one column per field of the answers, `confidence`
/// and `error` (a row that could not be answered has only its id and error). Streamed from disk.
#[utoipa::path(get, path = "/jobs/{id}/results", tag = "jobs", security(("token" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "the results", content_type = "text/csv", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "the job has not ended yet", body = ErrorBody)))]
pub async fn results(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let job = visible(&state, &caller, &id).await?;
    let job_state = job.state()?;
    if !job_state.is_finished() {
        return Err(ApiError::conflict(format!(
            "job `{id}` is {}; its results can be downloaded once it ends",
            job_state.as_str()
        )));
    }
    let columns = job.columns()?;
    let path = crate::jobs::directory(&state, &id).join(results::FILE);
    let rows = job.rows_done as u64;
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter::new(sender.clone());
        let written = results::write_csv(&path, &columns, rows, &mut out);
        if let Err(e) = written.and_then(|()| out.send()) {
            tracing::warn!("streaming the results of a prediction job: {e}");
            let _ = sender.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    Ok((
        [
            (CONTENT_TYPE, "text/csv".to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}.csv\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Job `id`, if the caller may see it: their own, or any for an admin.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> ApiResult<JobRow> {
    db::prediction_jobs::find(&state.db, id)
        .await?
        .filter(|job| caller.is_admin() || job.owner_id == caller.user_id)
        .ok_or_else(|| ApiError::not_found(format!("no job `{id}`")))
}

/// Sends what is written in chunks down a channel, to a response body; fails once the client
/// has gone, which ends the writing.
struct ChannelWriter {
    sender: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    buffer: Vec<u8>,
}

const CHUNK_BYTES: usize = 64 << 10;

impl ChannelWriter {
    fn new(sender: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>) -> ChannelWriter {
        ChannelWriter {
            sender,
            buffer: Vec::with_capacity(CHUNK_BYTES),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client left"))
    }
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
