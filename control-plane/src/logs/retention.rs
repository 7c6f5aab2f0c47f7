//! Keeps the log within its limits: lines older than the retention age go, and then the oldest
//! lines until the rest fit the size limit. Runs every `log_retention_every` (a minute).

use crate::db;
use crate::ids::now_ms;
use crate::state::AppState;

/// Runs [`enforce`] every `log_retention_every` until the process ends.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(state.settings.log_retention_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = enforce(&state).await {
            tracing::warn!("enforcing log retention: {e}");
        }
    }
}

/// One round; returns how many lines were removed.
pub async fn enforce(state: &AppState) -> sqlx::Result<u64> {
    let settings = &state.settings;
    let oldest = now_ms().saturating_sub(settings.log_retention.as_millis() as i64);
    let aged = db::logs::delete_older_than(&state.db, oldest).await?;
    let max_bytes = i64::try_from(settings.log_max_bytes).unwrap_or(i64::MAX);
    let over = db::logs::delete_beyond_bytes(&state.db, max_bytes).await?;
    if aged + over > 0 {
        tracing::info!("log retention removed {aged} line(s) by age and {over} by size");
    }
    Ok(aged + over)
}
