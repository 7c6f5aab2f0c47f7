//! The `sensor_types` table: what a sensor's readings carry.

use sqlx::AnyPool;
use trellis_protocol::api::{SensorType, ValueKind};

/// A stored sensor type.
#[derive(sqlx::FromRow)]
pub struct SensorTypeRow {
    pub name: String,
    pub description: String,
    pub unit: String,
    pub value_kind: String,
    pub media_type: Option<String>,
    pub sampling_hz: Option<f64>,
}

impl SensorTypeRow {
    /// The sensor type as the API shows it.
    pub fn into_api(self) -> SensorType {
        SensorType {
            name: self.name,
            description: self.description,
            unit: self.unit,
            value: ValueKind::parse(&self.value_kind),
            media_type: self.media_type,
            sampling_hz: self.sampling_hz,
        }
    }
}

/// Every sensor type, by name.
pub async fn list(db: &AnyPool) -> sqlx::Result<Vec<SensorTypeRow>> {
    sqlx::query_as(
        "SELECT name, description, unit, value_kind, media_type, sampling_hz FROM sensor_types \
         ORDER BY name",
    )
    .fetch_all(db)
    .await
}

/// The sensor type called `name`, if there is one.
pub async fn find(db: &AnyPool, name: &str) -> sqlx::Result<Option<SensorTypeRow>> {
    sqlx::query_as(
        "SELECT name, description, unit, value_kind, media_type, sampling_hz FROM sensor_types \
         WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(db)
    .await
}

/// Whether a sensor type called `name` is registered, for what refers to one by name.
pub async fn exists(db: &AnyPool, name: &str) -> sqlx::Result<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT name FROM sensor_types WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}

/// Registers `kind`; a taken name fails on the unique key.
pub async fn insert(db: &AnyPool, kind: &SensorType, created_at: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sensor_types (name, description, unit, value_kind, media_type, sampling_hz, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&kind.name)
    .bind(&kind.description)
    .bind(&kind.unit)
    .bind(kind.value.as_str())
    .bind(&kind.media_type)
    .bind(kind.sampling_hz)
    .bind(created_at)
    .execute(db)
    .await?;
    Ok(())
}
