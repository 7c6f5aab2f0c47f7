//! A sensor's stored readings: the last one shown with the sensor, the history downsampled on
//! the server to the points a chart can show, and the commands a controller was last handed.

use serde::{Deserialize, Serialize};

/// A sensor's newest stored reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LastReading {
    /// The value as the device sent it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub value: serde_json::Value,
    /// When it was read (RFC 3339).
    pub at: String,
}

/// A command the device gateway handed a controller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SentCommand {
    /// When the controller received it (RFC 3339).
    pub at: String,
    /// The deployment that sent it.
    pub deployment: String,
    /// The command as the controller received it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub command: serde_json::Value,
}

/// Which part of a sensor's history to read.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// From this moment on: RFC 3339, or a span back from now such as `10m`, `2h`, `90d`;
    /// default: the oldest stored reading.
    pub since: Option<String>,
    /// Before this moment, written as `since`; default: now.
    pub until: Option<String>,
    /// The most points to answer (default 500, at most 5000): a range holding more readings is
    /// answered as this many time buckets.
    pub points: Option<u32>,
}

/// One stored reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RawReading {
    /// When it was read (RFC 3339).
    pub at: String,
    /// The same moment in Unix milliseconds, for charts.
    pub at_ms: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub value: serde_json::Value,
}

/// The readings of one time bucket: `count` readings from `at_ms` (inclusive) to `until_ms`
/// (exclusive); `min`, `mean` and `max` of those that are numbers (a bool counts as 0 or 1),
/// absent when none is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadingBucket {
    /// The bucket's start (RFC 3339).
    pub at: String,
    pub at_ms: i64,
    pub until_ms: i64,
    pub count: u64,
    pub min: Option<f64>,
    pub mean: Option<f64>,
    pub max: Option<f64>,
}

/// A sensor's history over a range: the raw readings when there are at most `points` of them,
/// else `points` or fewer buckets (only those holding readings are listed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadingHistory {
    pub sensor: String,
    /// The range read, in Unix milliseconds: from `since_ms` (inclusive) to `until_ms`
    /// (exclusive); absent when the sensor has no readings in it and no bound was given.
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Readings stored in the range.
    pub total: u64,
    /// True when `buckets` holds the history, false when `readings` does.
    pub downsampled: bool,
    pub readings: Vec<RawReading>,
    pub buckets: Vec<ReadingBucket>,
}
