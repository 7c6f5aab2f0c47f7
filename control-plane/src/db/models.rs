//! The `models` table: every uploaded version of every model, its package's config, and the
//! hashes of its ONNX file and contract in the artifact store.

use sqlx::AnyPool;
use trellis_models::{ModelConfig, TensorSpec};
use trellis_protocol::api::ModelVersion;
use trellis_protocol::node::AssignedModel;

use crate::error::{ApiError, ApiResult};
use crate::ids::rfc3339;

/// A stored model version; `config` is the package's `model.toml`.
#[derive(sqlx::FromRow)]
pub struct ModelRow {
    pub name: String,
    pub version: String,
    pub description: String,
    pub config: String,
    pub backend: String,
    pub onnx_sha256: String,
    pub contract_sha256: String,
    pub uploaded_by: String,
    pub created_at: i64,
}

impl ModelRow {
    /// The model version as the API shows it, with its tensors described from its config.
    pub fn into_api(self) -> ApiResult<ModelVersion> {
        let config = ModelConfig::parse(&self.config).map_err(ApiError::internal)?;
        let describe = |specs: &[TensorSpec]| {
            specs
                .iter()
                .map(|spec| format!("{}: {}", spec.name, spec.describe()))
                .collect()
        };
        Ok(ModelVersion {
            inputs: describe(&config.inputs),
            outputs: describe(&config.outputs),
            name: self.name,
            version: self.version,
            description: self.description,
            backend: self.backend,
            onnx_sha256: self.onnx_sha256,
            contract_sha256: self.contract_sha256,
            uploaded_by: self.uploaded_by,
            created_at: rfc3339(self.created_at),
        })
    }
}

impl ModelRow {
    /// The model version as a node fetches and loads it.
    pub fn into_node(self) -> AssignedModel {
        AssignedModel {
            name: self.name,
            version: self.version,
            config: self.config,
            onnx_sha256: self.onnx_sha256,
            contract_sha256: self.contract_sha256,
        }
    }
}

/// What a [`ModelRow`] reads.
const COLUMNS: &str = "name, version, description, config, backend, onnx_sha256, contract_sha256, uploaded_by, created_at";

/// Every version of every model, newest first within each model.
pub async fn list(db: &AnyPool) -> sqlx::Result<Vec<ModelRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM models ORDER BY name, created_at DESC"
    ))
    .fetch_all(db)
    .await
}

/// The versions of model `name`, newest first.
pub async fn versions(db: &AnyPool, name: &str) -> sqlx::Result<Vec<ModelRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM models WHERE name = $1 ORDER BY created_at DESC"
    ))
    .bind(name)
    .fetch_all(db)
    .await
}

/// The newest version of model `name`, if it was ever uploaded.
pub async fn latest(db: &AnyPool, name: &str) -> sqlx::Result<Option<ModelRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM models WHERE name = $1 ORDER BY created_at DESC LIMIT 1"
    ))
    .bind(name)
    .fetch_optional(db)
    .await
}

/// Version `version` of model `name`, where `latest` names the newest.
pub async fn find(db: &AnyPool, name: &str, version: &str) -> sqlx::Result<Option<ModelRow>> {
    if version == "latest" {
        return latest(db, name).await;
    }
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM models WHERE name = $1 AND version = $2"
    ))
    .bind(name)
    .bind(version)
    .fetch_optional(db)
    .await
}

/// Whether any version of model `name` was uploaded, for apps that name it.
pub async fn exists(db: &AnyPool, name: &str) -> sqlx::Result<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT name FROM models WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}

/// Stores `row`; a version already uploaded fails on the primary key.
pub async fn insert(db: &AnyPool, row: &ModelRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO models ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&row.name)
    .bind(&row.version)
    .bind(&row.description)
    .bind(&row.config)
    .bind(&row.backend)
    .bind(&row.onnx_sha256)
    .bind(&row.contract_sha256)
    .bind(&row.uploaded_by)
    .bind(row.created_at)
    .execute(db)
    .await?;
    Ok(())
}
