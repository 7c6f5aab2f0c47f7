//! The registry: its connection pool, and one module per table holding that table's row types and
//! every query on it, so handlers never carry SQL. SQLite and PostgreSQL through sqlx's `any`
//! driver, so the same queries (written with `$1` placeholders, which both accept) and migrations
//! serve both.

pub mod app_state;
pub mod apps;
pub mod bindable;
pub mod controller_commands;
pub mod controller_types;
pub mod deployment_models;
pub mod deployments;
pub mod devices;
pub mod instances;
pub mod logs;
pub mod models;
pub mod nodes;
pub mod notification_deliveries;
pub mod notification_recipients;
pub mod owners;
pub mod prediction_jobs;
pub mod readings;
pub mod sensor_types;
pub mod sessions;
pub mod smtp_settings;
pub mod users;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use crate::error::{ApiError, ApiResult};

/// Connects to `url`, creating a SQLite file if it is missing, and brings the schema up to date.
pub async fn connect(url: &str) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let url = if url.starts_with("sqlite:") && !url.contains('?') {
        format!("{url}?mode=rwc")
    } else {
        url.to_string()
    };
    let sqlite = url.starts_with("sqlite:");
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .after_connect(move |connection, _| {
            Box::pin(async move {
                // Heartbeats write often: WAL lets reads go on beside a write, and NORMAL
                // syncs at checkpoints rather than on every commit (still safe in WAL mode).
                if sqlite {
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&mut *connection)
                        .await?;
                    sqlx::query("PRAGMA synchronous = NORMAL")
                        .execute(&mut *connection)
                        .await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
        .map_err(|e| anyhow::anyhow!("connecting to the registry database: {e}"))?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("migrating the registry database: {e}"))?;
    logs::prepare_search(&pool, logs::Dialect::of(&url))
        .await
        .map_err(|e| anyhow::anyhow!("adding the log's text-search index: {e}"))?;
    Ok(pool)
}

/// A value as the JSON text a column keeps: the shared SQL has no JSON type, so maps and lists
/// are stored as TEXT.
fn to_json<T: Serialize + ?Sized>(value: &T) -> sqlx::Result<String> {
    serde_json::to_string(value).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// A JSON column read back. Only what we wrote is stored there, so text that does not parse is
/// our failure, not the caller's.
fn from_json<T: DeserializeOwned>(text: &str) -> ApiResult<T> {
    serde_json::from_str(text).map_err(ApiError::internal)
}
