//! What a node may report of itself. Placement trusts these figures (a node reporting a huge
//! `performance` would win every placement), so a heartbeat whose metrics are out of range is
//! refused whole, naming the field, rather than stored.

use axum::http::StatusCode;
use trellis_protocol::node::Metrics;

use crate::error::ApiError;

/// The highest `performance` a node may report: MB/s of SHA-256 (see the node's start-up
/// benchmark), a thousand times what today's fastest cores reach, so no real machine meets it.
pub const MAX_PERFORMANCE: f64 = 1_000_000.0;

/// The most memory a node may report, in MB (1 PiB).
pub const MAX_MEMORY_MB: f64 = 1_073_741_824.0;

/// The highest one-minute load average a node may report.
pub const MAX_LOAD: f64 = 1_000_000.0;

/// The coldest and hottest temperatures a node may report, in °C.
pub const TEMPERATURE_RANGE: (f64, f64) = (-100.0, 200.0);

/// Ok if every figure of `metrics` is within what a machine can measure; else a 422 naming the
/// first field that is not.
pub fn check(metrics: &Metrics) -> Result<(), ApiError> {
    let within = |field: &str, value: f64, low: f64, high: f64, low_open: bool| {
        let above_low = if low_open { value > low } else { value >= low };
        if value.is_finite() && above_low && value <= high {
            return Ok(());
        }
        let bound = if low_open { "above" } else { "at least" };
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "metrics.{field} is {value}; it must be a number {bound} {low} and at most {high}"
            ),
        )
        .on(format!("metrics.{field}")))
    };
    within(
        "performance",
        metrics.performance,
        0.0,
        MAX_PERFORMANCE,
        true,
    )?;
    within("cpu_percent", metrics.cpu_percent, 0.0, 100.0, false)?;
    within(
        "memory_total_mb",
        metrics.memory_total_mb,
        0.0,
        MAX_MEMORY_MB,
        false,
    )?;
    within(
        "memory_used_mb",
        metrics.memory_used_mb,
        0.0,
        MAX_MEMORY_MB,
        false,
    )?;
    within("load_1m", metrics.load_1m, 0.0, MAX_LOAD, false)?;
    if let Some(celsius) = metrics.temperature_c {
        let (coldest, hottest) = TEMPERATURE_RANGE;
        within("temperature_c", celsius, coldest, hottest, false)?;
    }
    Ok(())
}
