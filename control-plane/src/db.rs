//! The registry's connection pool. SQLite and PostgreSQL through sqlx's `any` driver, so the same
//! queries (written with `$1` placeholders, which both accept) and migrations serve both.

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

/// Connects to `url`, creating a SQLite file if it is missing, and brings the schema up to date.
pub async fn connect(url: &str) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let url = if url.starts_with("sqlite:") && !url.contains('?') {
        format!("{url}?mode=rwc")
    } else {
        url.to_string()
    };
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .connect(&url)
        .await
        .map_err(|e| anyhow::anyhow!("connecting to the registry database: {e}"))?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("migrating the registry database: {e}"))?;
    Ok(pool)
}
