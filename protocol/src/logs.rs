//! Log lines and lifecycle events: what nodes ship to the control plane's log service
//! (`POST /api/v1/node/logs`) and what `GET /api/v1/logs` answers.

use serde::{Deserialize, Serialize};

/// How severe a line is; ordered, so a filter asks for "this level or worse".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Trace,
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }

    /// Its rank, 0 (trace) to 4 (error), as stored.
    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Option<LogLevel> {
        LogLevel::ALL.into_iter().find(|level| level.rank() == rank)
    }
}

impl std::str::FromStr for LogLevel {
    type Err = String;

    fn from_str(text: &str) -> Result<LogLevel, String> {
        let text = text.to_ascii_lowercase();
        let text = if text == "warning" { "warn" } else { &text };
        LogLevel::ALL
            .into_iter()
            .find(|level| level.as_str() == text)
            .ok_or_else(|| {
                format!("`{text}` is not a log level (trace, debug, info, warn or error)")
            })
    }
}

/// Who wrote a line: the app itself (its log calls, stdout and stderr) or the platform
/// (lifecycle events: placed, started, trapped, restarted, moved, stopped, node up and down,
/// uploads and deploys).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    Guest,
    Platform,
}

impl LogSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LogSource::Guest => "guest",
            LogSource::Platform => "platform",
        }
    }
}

impl std::str::FromStr for LogSource {
    type Err = String;

    fn from_str(text: &str) -> Result<LogSource, String> {
        match text {
            "guest" => Ok(LogSource::Guest),
            "platform" => Ok(LogSource::Platform),
            other => Err(format!("`{other}` is not a log source (guest or platform)")),
        }
    }
}

/// One line as a node ships it; the control plane adds the node, the app and the owner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShippedLine {
    /// When it was written (Unix ms).
    pub at_ms: i64,
    pub level: LogLevel,
    pub source: LogSource,
    /// For a lifecycle event, which one (`started`, `trapped`, `restarted`, `dropped`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// The instance (one placement of a deployment on this node; restarts keep it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    pub text: String,
}

/// A batch of lines from one node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogBatch {
    pub lines: Vec<ShippedLine>,
    /// Lines the node had to drop (its buffer was full) since its last accepted batch; the
    /// control plane records the count as an event, so no loss goes unseen.
    #[serde(default)]
    pub dropped: u64,
}

/// What the control plane kept of a batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogBatchAccepted {
    pub stored: u64,
}

/// A stored line, saying where it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLine {
    /// Increases with every line stored: page with `before`, follow with `after`.
    pub id: i64,
    /// When it was written, RFC 3339 (UTC).
    pub time: String,
    pub level: LogLevel,
    pub source: LogSource,
    pub event: Option<String>,
    pub node: Option<String>,
    pub deployment: Option<String>,
    pub instance: Option<String>,
    pub app: Option<String>,
    pub app_version: Option<String>,
    pub text: String,
}

/// One page of lines, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogPage {
    pub lines: Vec<LogLine>,
    /// Pass as `before` for the next (older) page; none when this was the last.
    pub next_before: Option<i64>,
}
