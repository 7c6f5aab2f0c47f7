//! The `apps` table: every uploaded version of every app, its manifest (`trellis.toml`) and the
//! hash of its component in the artifact store.

use std::collections::BTreeMap;

use sqlx::AnyPool;
use trellis_host::manifest::{AppManifest, Role};
use trellis_protocol::api::{AppVersion, RoleInfo};

use crate::error::{ApiError, ApiResult};
use crate::ids::rfc3339;

/// A stored app version; `manifest` is its `trellis.toml`.
#[derive(sqlx::FromRow)]
pub struct AppRow {
    pub name: String,
    pub version: String,
    pub description: String,
    pub manifest: String,
    pub component_sha256: String,
    pub uploaded_by: String,
    pub created_at: i64,
}

impl AppRow {
    /// The stored manifest, parsed. It was checked at upload, so one that no longer parses is
    /// our failure.
    pub fn parse_manifest(&self) -> ApiResult<AppManifest> {
        AppManifest::parse(&self.manifest).map_err(ApiError::internal)
    }

    /// The app version as the API shows it, with its roles, models and parameters taken from
    /// its manifest.
    pub fn into_api(self) -> ApiResult<AppVersion> {
        let manifest = self.parse_manifest()?;
        let roles = |roles: &BTreeMap<String, Role>| -> BTreeMap<String, RoleInfo> {
            roles
                .iter()
                .map(|(name, role)| {
                    let info = RoleInfo {
                        type_name: role.kind.clone(),
                        min: role.min,
                        max: role.max,
                    };
                    (name.clone(), info)
                })
                .collect()
        };
        Ok(AppVersion {
            sensors: roles(&manifest.sensors),
            controllers: roles(&manifest.controllers),
            models: manifest.models.clone(),
            config: manifest
                .config
                .iter()
                .map(|(name, param)| (name.clone(), format!("{:?}", param.kind).to_lowercase()))
                .collect(),
            name: self.name,
            version: self.version,
            description: self.description,
            manifest: self.manifest,
            component_sha256: self.component_sha256,
            uploaded_by: self.uploaded_by,
            created_at: rfc3339(self.created_at),
        })
    }
}

/// What an [`AppRow`] reads.
const COLUMNS: &str =
    "name, version, description, manifest, component_sha256, uploaded_by, created_at";

/// Every version of every app, newest first within each app.
pub async fn list(db: &AnyPool) -> sqlx::Result<Vec<AppRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM apps ORDER BY name, created_at DESC"
    ))
    .fetch_all(db)
    .await
}

/// The versions of app `name`, newest first.
pub async fn versions(db: &AnyPool, name: &str) -> sqlx::Result<Vec<AppRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM apps WHERE name = $1 ORDER BY created_at DESC"
    ))
    .bind(name)
    .fetch_all(db)
    .await
}

/// Version `version` of app `name`, or its newest version when `version` is `None`.
pub async fn find(db: &AnyPool, name: &str, version: Option<&str>) -> sqlx::Result<Option<AppRow>> {
    match version {
        None => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM apps WHERE name = $1 ORDER BY created_at DESC LIMIT 1"
            ))
            .bind(name)
            .fetch_optional(db)
            .await
        }
        Some(version) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM apps WHERE name = $1 AND version = $2"
            ))
            .bind(name)
            .bind(version)
            .fetch_optional(db)
            .await
        }
    }
}

/// Stores `row`; a version already uploaded fails on the primary key.
pub async fn insert(db: &AnyPool, row: &AppRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO apps ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&row.name)
    .bind(&row.version)
    .bind(&row.description)
    .bind(&row.manifest)
    .bind(&row.component_sha256)
    .bind(&row.uploaded_by)
    .bind(row.created_at)
    .execute(db)
    .await?;
    Ok(())
}
