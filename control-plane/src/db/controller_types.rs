//! The `controller_types` table: the commands each kind of controller accepts.

use sqlx::AnyPool;
use trellis_protocol::api::ControllerType;

use super::{from_json, to_json};
use crate::error::ApiResult;

/// A stored controller type; `commands` is JSON.
#[derive(sqlx::FromRow)]
pub struct ControllerTypeRow {
    pub name: String,
    pub description: String,
    pub commands: String,
}

impl ControllerTypeRow {
    /// The controller type as the API shows it.
    pub fn into_api(self) -> ApiResult<ControllerType> {
        Ok(ControllerType {
            name: self.name,
            description: self.description,
            commands: from_json(&self.commands)?,
        })
    }
}

/// Every controller type, by name.
pub async fn list(db: &AnyPool) -> sqlx::Result<Vec<ControllerTypeRow>> {
    sqlx::query_as("SELECT name, description, commands FROM controller_types ORDER BY name")
        .fetch_all(db)
        .await
}

/// The controller type called `name`, if there is one.
pub async fn find(db: &AnyPool, name: &str) -> sqlx::Result<Option<ControllerTypeRow>> {
    sqlx::query_as("SELECT name, description, commands FROM controller_types WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await
}

/// Whether a controller type called `name` is registered, for what refers to one by name.
pub async fn exists(db: &AnyPool, name: &str) -> sqlx::Result<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT name FROM controller_types WHERE name = $1")
            .bind(name)
            .fetch_optional(db)
            .await?;
    Ok(found.is_some())
}

/// Registers `kind`; a taken name fails on the unique key.
pub async fn insert(db: &AnyPool, kind: &ControllerType, created_at: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO controller_types (name, description, commands, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&kind.name)
    .bind(&kind.description)
    .bind(to_json(&kind.commands)?)
    .bind(created_at)
    .execute(db)
    .await?;
    Ok(())
}
