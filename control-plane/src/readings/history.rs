//! A sensor's history over a range, downsampled on the server: at most `points` raw readings,
//! else the range cut into `points` buckets of equal width, each summarised in SQL (count,
//! min, mean, max), so a chart of 90 days receives no more points than it can show.

use sqlx::AnyPool;
use trellis_protocol::api::{RawReading, ReadingBucket, ReadingHistory};

use crate::db::readings as store;
use crate::ids::rfc3339;

/// Points answered unless asked otherwise.
pub const DEFAULT_POINTS: u32 = 500;
/// The most points one answer holds.
pub const MAX_POINTS: u32 = 5000;

/// `sensor`'s readings in `[since, until)` (a bound absent: the oldest or newest reading), as
/// at most `points` readings or buckets.
pub async fn read(
    db: &AnyPool,
    sensor: &str,
    since: Option<i64>,
    until: Option<i64>,
    points: u32,
) -> sqlx::Result<ReadingHistory> {
    let (total, first, last) = store::extent(db, sensor, since, until).await?;
    let since = since.or(first);
    let until = until.or(last.map(|at| at + 1));
    let mut history = ReadingHistory {
        sensor: sensor.to_string(),
        since_ms: since,
        until_ms: until,
        total,
        downsampled: false,
        readings: Vec::new(),
        buckets: Vec::new(),
    };
    let (Some(since), Some(until)) = (since, until) else {
        return Ok(history);
    };
    if total == 0 {
        return Ok(history);
    }
    if total <= u64::from(points) {
        history.readings = store::in_range(db, sensor, since, until)
            .await?
            .into_iter()
            .map(|(at, value)| RawReading {
                at: rfc3339(at),
                at_ms: at,
                // Only JSON we wrote is stored; text that does not parse is shown as text.
                value: serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value)),
            })
            .collect();
        return Ok(history);
    }
    let width = bucket_width(since, until, points);
    history.downsampled = true;
    history.buckets = store::buckets(db, sensor, since, until, width)
        .await?
        .into_iter()
        .map(|bucket| {
            let at = since + bucket.bucket * width;
            ReadingBucket {
                at: rfc3339(at),
                at_ms: at,
                until_ms: (at + width).min(until),
                count: bucket.count as u64,
                min: bucket.min,
                mean: bucket.mean,
                max: bucket.max,
            }
        })
        .collect();
    Ok(history)
}

/// The width (ms, at least 1) that cuts `[since, until)` into at most `points` buckets: every
/// time before `until` falls in bucket `(at - since) / width < points`.
pub fn bucket_width(since: i64, until: i64, points: u32) -> i64 {
    let span = until.saturating_sub(since).max(1);
    let points = i64::from(points.max(1));
    (span + points - 1) / points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range_in_at_most_the_points_asked() {
        for (since, until, points) in [(0, 1000, 10), (5, 1006, 7), (0, 3, 500), (-50, 90, 13)] {
            let width = bucket_width(since, until, points);
            assert!(width >= 1);
            let last = (until - 1 - since) / width;
            assert!(last < i64::from(points), "{since}..{until} in {points}");
        }
    }
}
