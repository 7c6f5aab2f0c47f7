//! The `apps` table: every uploaded version of every app, its manifest (`trellis.toml`) and the
//! hash of its component in the artifact store.

use std::collections::BTreeMap;

use sqlx::AnyPool;

use super::owners::{self, Owned};
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
    /// Who owns the app's name; read, never written with the row.
    pub owner: Option<String>,
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
            models: manifest
                .models
                .iter()
                .map(|(name, requirement)| (name.clone(), requirement.to_string()))
                .collect(),
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
            owner: self.owner.unwrap_or_else(|| self.uploaded_by.clone()),
            uploaded_by: self.uploaded_by,
            created_at: rfc3339(self.created_at),
        })
    }
}

/// What an [`AppRow`] reads, with its name's owner; conditions go on `a` (apps).
const SELECT: &str = "SELECT a.name, a.version, a.description, a.manifest, a.component_sha256, \
    a.uploaded_by, a.created_at, o.owner FROM apps a \
    LEFT JOIN owners o ON o.kind = 'app' AND o.name = a.name";

/// Every version of every app, newest first within each app.
pub async fn list(db: &AnyPool) -> sqlx::Result<Vec<AppRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY a.name, a.created_at DESC"))
        .fetch_all(db)
        .await
}

/// The versions of app `name`, newest first.
pub async fn versions(db: &AnyPool, name: &str) -> sqlx::Result<Vec<AppRow>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE a.name = $1 ORDER BY a.created_at DESC"
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
                "{SELECT} WHERE a.name = $1 ORDER BY a.created_at DESC LIMIT 1"
            ))
            .bind(name)
            .fetch_optional(db)
            .await
        }
        Some(version) => {
            sqlx::query_as(&format!("{SELECT} WHERE a.name = $1 AND a.version = $2"))
                .bind(name)
                .bind(version)
                .fetch_optional(db)
                .await
        }
    }
}

/// Stores `row`, and makes its uploader the owner of the name if it has none, in one
/// transaction; a version already uploaded fails on the primary key.
pub async fn insert(db: &AnyPool, row: &AppRow) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO apps (name, version, description, manifest, component_sha256, uploaded_by, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&row.name)
    .bind(&row.version)
    .bind(&row.description)
    .bind(&row.manifest)
    .bind(&row.component_sha256)
    .bind(&row.uploaded_by)
    .bind(row.created_at)
    .execute(&mut *tx)
    .await?;
    owners::claim(&mut tx, Owned::App, &row.name, &row.uploaded_by).await?;
    tx.commit().await
}

/// Deletes version `version` of app `name`, and frees the name with its last version, in one
/// transaction. False if there was no such version.
pub async fn delete(db: &AnyPool, name: &str, version: &str) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    super::deployments::purge_deleted(&mut tx, name, version).await?;
    let deleted = sqlx::query("DELETE FROM apps WHERE name = $1 AND version = $2")
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM apps WHERE name = $1")
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
    if left == 0 {
        owners::release(&mut tx, Owned::App, name).await?;
    }
    tx.commit().await?;
    Ok(deleted > 0)
}

/// The hashes of every stored component an app version refers to.
pub async fn artifacts(db: &AnyPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT component_sha256 FROM apps")
        .fetch_all(db)
        .await
}
