//! Reading the log: a page of lines (newest first), a download of every matching line (NDJSON or
//! CSV, streamed oldest first) and a live tail (server-sent events). Everyone reads through the
//! same filters and sees only what their role allows: end users their deployments' lines, app
//! developers their apps', platform configurers and admins everything.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use tokio::sync::broadcast;
use trellis_protocol::logs::{LogLevel, LogLine, LogPage, LogSource};
use utoipa::IntoParams;

use crate::auth::{Caller, Role};
use crate::db;
use crate::db::logs::{Query as LineQuery, Scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ids::now_ms;
use crate::logs::Stored;
use crate::logs::filter::{LiveFilter, words};
use crate::state::AppState;

/// Lines per page unless `limit` says otherwise, and the most a page holds.
const PAGE: i64 = 100;
const MAX_PAGE: i64 = 1000;
/// Lines read from the database per step of a download or a tail's catching up.
const STEP: i64 = 1000;

/// Which lines: every filter is optional, and they all hold together.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// Only this deployment's lines.
    pub deployment: Option<String>,
    /// Only the lines of this app's deployments.
    pub app: Option<String>,
    /// Only lines from this node (by name).
    pub node: Option<String>,
    /// `guest` (the app's own lines) or `platform` (lifecycle events).
    pub source: Option<String>,
    /// This level or worse: `trace`, `debug`, `info`, `warn` or `error`.
    pub level: Option<String>,
    /// From this moment on: RFC 3339, or a span back from now such as `30s`, `10m`, `2h`, `7d`.
    pub since: Option<String>,
    /// Before this moment, written as `since`.
    pub until: Option<String>,
    /// Words that must all be in the line (any case).
    pub text: Option<String>,
    /// Only lines older than this id (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Only lines newer than this id.
    pub after: Option<i64>,
    /// Lines per page, 100 unless given, at most 1000; for a download, the most it holds.
    pub limit: Option<i64>,
    /// `ndjson` or `csv`: download every matching line, oldest first (or send `Accept:
    /// application/x-ndjson` or `text/csv`).
    pub format: Option<String>,
}

fn unprocessable(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// The query's parameters, or a 422 naming the one that is wrong.
fn params(params: Result<Query<LogParams>, QueryRejection>) -> ApiResult<LogParams> {
    params
        .map(|Query(params)| params)
        .map_err(|e| unprocessable(format!("query: {}", e.body_text())))
}

/// `text` as Unix ms: an RFC 3339 time, or a span back from `now` (`30s`, `10m`, `2h`, `7d`).
pub fn moment(name: &str, text: &str, now: i64) -> ApiResult<i64> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp_millis());
    }
    let unit_ms = match text.chars().last() {
        Some('s') => 1_000,
        Some('m') => 60_000,
        Some('h') => 3_600_000,
        Some('d') => 86_400_000,
        _ => 0,
    };
    let count = text[..text.len().saturating_sub(1)].parse::<i64>().ok();
    match count {
        Some(count) if unit_ms > 0 && count >= 0 => {
            Ok(now.saturating_sub(count.saturating_mul(unit_ms)))
        }
        _ => Err(unprocessable(format!(
            "{name}: `{text}` is neither an RFC 3339 time nor a span such as 30s, 10m, 2h or 7d"
        ))),
    }
}

/// Whose lines `caller` may read.
fn scope(caller: &Caller) -> Scope {
    match caller.role {
        Role::Admin | Role::PlatformConfigurer => Scope::All,
        Role::AppDeveloper => Scope::AppsOf(caller.name.clone()),
        Role::EndUser | Role::DataScientist => Scope::OwnerOf(caller.name.clone()),
    }
}

/// The database query `params` ask of `caller`.
fn line_query(caller: &Caller, params: &LogParams) -> ApiResult<LineQuery> {
    let now = now_ms();
    let min_level = params
        .level
        .as_deref()
        .map(|level| {
            level
                .parse::<LogLevel>()
                .map_err(|e| unprocessable(format!("level: {e}")))
        })
        .transpose()?;
    let source = params
        .source
        .as_deref()
        .map(|source| {
            source
                .parse::<LogSource>()
                .map_err(|e| unprocessable(format!("source: {e}")))
        })
        .transpose()?;
    let since = params
        .since
        .as_deref()
        .map(|t| moment("since", t, now))
        .transpose()?;
    let until = params
        .until
        .as_deref()
        .map(|t| moment("until", t, now))
        .transpose()?;
    let words = match params.text.as_deref() {
        Some(text) => {
            let words = words(text);
            if words.is_empty() {
                return Err(unprocessable(format!(
                    "text: `{text}` has no word to search for (letters or digits)"
                )));
            }
            words
        }
        None => Vec::new(),
    };
    let limit = params.limit.unwrap_or(PAGE);
    if limit < 1 {
        return Err(unprocessable(format!(
            "limit: {limit} is not a number of lines"
        )));
    }
    Ok(LineQuery {
        scope: scope(caller),
        deployment: params.deployment.clone(),
        app: params.app.clone(),
        node: params.node.clone(),
        source,
        min_level,
        since,
        until,
        words,
        before: params.before,
        after: params.after,
        limit,
    })
}

/// How a download is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Ndjson,
    Csv,
}

impl Format {
    /// The format `format` or the `Accept` header asks for; `None` for a page of JSON.
    fn wanted(format: Option<&str>, headers: &HeaderMap) -> ApiResult<Option<Format>> {
        match format {
            Some("ndjson") => return Ok(Some(Format::Ndjson)),
            Some("csv") => return Ok(Some(Format::Csv)),
            Some("json") => return Ok(None),
            Some(other) => {
                return Err(unprocessable(format!(
                    "format: `{other}` is not a download format (ndjson or csv)"
                )));
            }
            None => {}
        }
        let accept = headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Ok(if accept.contains("application/x-ndjson") {
            Some(Format::Ndjson)
        } else if accept.contains("text/csv") {
            Some(Format::Csv)
        } else {
            None
        })
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Format::Ndjson => "trellis-logs.ndjson",
            Format::Csv => "trellis-logs.csv",
        }
    }

    fn header(self) -> &'static str {
        match self {
            Format::Ndjson => "",
            Format::Csv => {
                "id,time,level,source,event,node,deployment,instance,app,app_version,text\n"
            }
        }
    }

    fn write(self, line: &LogLine, out: &mut String) {
        match self {
            Format::Ndjson => {
                out.push_str(&serde_json::to_string(line).expect("a log line is JSON"));
                out.push('\n');
            }
            Format::Csv => {
                let none = String::new();
                let fields = [
                    &line.id.to_string(),
                    &line.time,
                    &line.level.as_str().to_string(),
                    &line.source.as_str().to_string(),
                    line.event.as_ref().unwrap_or(&none),
                    line.node.as_ref().unwrap_or(&none),
                    line.deployment.as_ref().unwrap_or(&none),
                    line.instance.as_ref().unwrap_or(&none),
                    line.app.as_ref().unwrap_or(&none),
                    line.app_version.as_ref().unwrap_or(&none),
                    &line.text,
                ];
                for (i, field) in fields.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    csv_field(field, out);
                }
                out.push('\n');
            }
        }
    }
}

/// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
fn csv_field(field: &str, out: &mut String) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// Log lines, newest first, a page at a time; or, with `format` (or `Accept`), every matching
/// line as NDJSON or CSV, oldest first, streamed.
#[utoipa::path(get, path = "/logs", tag = "logs", security(("token" = [])), params(LogParams),
    responses(
        (status = 200, description = "A page (JSON), or a download", content(
            (LogPage = "application/json"),
            (String = "application/x-ndjson"),
            (String = "text/csv"))),
        (status = 401, body = ErrorBody),
        (status = 403, description = "A role that reads no logs", body = ErrorBody),
        (status = 422, description = "A filter that does not parse, named", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    query: Result<Query<LogParams>, QueryRejection>,
) -> ApiResult<Response> {
    let params = params(query)?;
    let mut query = line_query(&caller, &params)?;
    if let Some(format) = Format::wanted(params.format.as_deref(), &headers)? {
        return Ok(download(state, query, params.limit, format));
    }
    query.limit = query.limit.min(MAX_PAGE);
    let rows = db::logs::find(&state.db, state.logs.dialect(), &query).await?;
    let full = rows.len() as i64 == query.limit;
    let mut lines: Vec<LogLine> = rows.into_iter().map(db::logs::LineRow::into_api).collect();
    // `after` reads oldest first (to continue from it); a page is always newest first.
    if query.after.is_some() {
        lines.reverse();
    }
    let next_before = if full {
        lines.last().map(|line| line.id)
    } else {
        None
    };
    Ok(Json(LogPage { lines, next_before }).into_response())
}

/// Every line `query` matches (at most `limit`), oldest first, read and sent a step at a time.
fn download(state: AppState, mut query: LineQuery, limit: Option<i64>, format: Format) -> Response {
    query.after = Some(query.after.unwrap_or(0));
    query.limit = STEP;
    let header = Some(format.header());
    let left = limit.unwrap_or(i64::MAX);
    let chunks = futures_util::stream::unfold(
        (state, query, header, left, false),
        move |(state, mut query, header, left, done)| async move {
            if done || left <= 0 {
                return None;
            }
            query.limit = STEP.min(left);
            let rows = match db::logs::find(&state.db, state.logs.dialect(), &query).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!("downloading logs: {e}");
                    return Some((Err(std::io::Error::other(e)), (state, query, None, 0, true)));
                }
            };
            let last_step = (rows.len() as i64) < query.limit;
            let mut text = header.unwrap_or_default().to_string();
            let count = rows.len() as i64;
            for row in rows {
                query.after = Some(row.id);
                format.write(&row.into_api(), &mut text);
            }
            let next = (state, query, None, left - count, last_step);
            Some((Ok::<_, std::io::Error>(Bytes::from(text)), next))
        },
    );
    (
        [
            (CONTENT_TYPE, format.content_type().to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", format.file_name()),
            ),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// Log lines as they are stored, as server-sent events (`event: line`, the line as JSON in
/// `data`, its id in `id`); with `after`, the stored lines after that id come first, so a
/// reader that paged up to there misses nothing. A reader too slow to keep up gets an
/// `event: lagged` with how many batches it missed. Send `Accept: text/event-stream`.
#[utoipa::path(get, path = "/logs/tail", tag = "logs", security(("token" = [])), params(LogParams),
    responses(
        (status = 200, description = "Server-sent events, one per line", content_type = "text/event-stream", body = String),
        (status = 401, body = ErrorBody),
        (status = 403, description = "A role that reads no logs", body = ErrorBody),
        (status = 406, description = "The request does not accept text/event-stream", body = ErrorBody),
        (status = 422, description = "A filter that does not parse, named", body = ErrorBody)))]
pub async fn tail(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    query: Result<Query<LogParams>, QueryRejection>,
) -> ApiResult<Response> {
    let accepts = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/event-stream"));
    if !accepts {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "the live tail is a stream of server-sent events: send `Accept: text/event-stream`",
        ));
    }
    let params = params(query)?;
    let mut query = line_query(&caller, &params)?;
    // Subscribed before catching up, so nothing stored in between is missed.
    let receiver = state.logs.subscribe();
    let mut pending = VecDeque::new();
    let mut last = 0;
    if let Some(after) = params.after {
        last = after;
        loop {
            query.after = Some(last);
            query.limit = STEP;
            let rows = db::logs::find(&state.db, state.logs.dialect(), &query).await?;
            let count = rows.len() as i64;
            for row in rows {
                last = row.id;
                pending.push_back(row.into_api());
            }
            if count < STEP {
                break;
            }
        }
    }
    query.after = None;
    let apps = match &query.scope {
        Scope::AppsOf(user) => db::logs::apps_of(&state.db, user).await?,
        _ => Vec::new(),
    };
    let live = Live {
        receiver,
        filter: LiveFilter::new(query, apps),
        pending,
        last,
    };
    let events = futures_util::stream::unfold(live, |mut live| async move {
        let event = live.next().await?;
        Some((Ok::<_, Infallible>(event), live))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// A live tail's position.
struct Live {
    receiver: broadcast::Receiver<Arc<Vec<Stored>>>,
    filter: LiveFilter,
    pending: VecDeque<LogLine>,
    /// The newest line sent or queued, so a line read while catching up is not sent twice.
    last: i64,
}

impl Live {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                let event = Event::default().event("line").id(line.id.to_string());
                return Some(
                    event
                        .json_data(&line)
                        .unwrap_or_else(|_| Event::default().comment("an unwritable line")),
                );
            }
            match self.receiver.recv().await {
                Ok(batch) => {
                    for stored in batch.iter() {
                        if stored.line.id > self.last && self.filter.matches(stored) {
                            self.last = stored.line.id;
                            self.pending.push_back(stored.line.clone());
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    return Some(Event::default().event("lagged").data(missed.to_string()));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{csv_field, moment};

    #[test]
    fn moments_are_rfc3339_or_spans_back_from_now() {
        let now = 10_000_000;
        assert_eq!(moment("since", "10m", now).unwrap(), now - 600_000);
        assert_eq!(moment("since", "2h", now).unwrap(), now - 7_200_000);
        assert_eq!(moment("since", "1970-01-01T00:00:01Z", now).unwrap(), 1_000);
        let refused = moment("since", "soon", now).unwrap_err();
        assert!(
            refused.message.contains("since: `soon`"),
            "{}",
            refused.message
        );
        assert!(moment("until", "m", now).is_err());
    }

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        let mut out = String::new();
        csv_field("plain", &mut out);
        out.push('|');
        csv_field("a \"quoted\", line\nbreak", &mut out);
        assert_eq!(out, "plain|\"a \"\"quoted\"\", line\nbreak\"");
    }
}
