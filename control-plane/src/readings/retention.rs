//! Keeps readings and controllers' commands within their age: those older than the readings
//! retention go. Runs every `readings_retention_every` (a minute), like the log's retention.

use crate::db;
use crate::ids::now_ms;
use crate::state::AppState;

/// Runs [`enforce`] every `readings_retention_every` until the process ends.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(state.settings.readings_retention_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = enforce(&state).await {
            tracing::warn!("enforcing readings retention: {e}");
        }
    }
}

/// One round; returns how many readings and commands were removed.
pub async fn enforce(state: &AppState) -> sqlx::Result<u64> {
    let retention = state.settings.readings_retention.as_millis();
    let oldest = now_ms().saturating_sub(i64::try_from(retention).unwrap_or(i64::MAX));
    let readings = db::readings::delete_older_than(&state.db, oldest).await?;
    let commands = db::controller_commands::delete_older_than(&state.db, oldest).await?;
    if readings + commands > 0 {
        tracing::info!(
            "readings retention removed {readings} reading(s) and {commands} command(s)"
        );
    }
    Ok(readings + commands)
}
