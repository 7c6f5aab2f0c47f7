//! The `models` table: every uploaded version of every model, its package's config, and the
//! hashes of its ONNX file and contract in the artifact store.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::AnyPool;

use super::owners::{self, Owned};
use trellis_models::{ModelConfig, TensorSpec};
use trellis_protocol::api::ModelVersion;
use trellis_protocol::node::AssignedModel;

use crate::error::{ApiError, ApiResult};
use crate::ids::rfc3339;

/// Bumped after every upload or deletion of a model version, so what was resolved from the
/// versions before it (which version `latest` names) is resolved again.
static REVISION: AtomicU64 = AtomicU64::new(0);

/// The model versions' revision: read it before reading the versions, to cache what was read
/// under it.
pub fn revision() -> u64 {
    REVISION.load(Ordering::Acquire)
}

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
    /// Who owns the model's name; read, never written with the row.
    pub owner: Option<String>,
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
            owner: self.owner.unwrap_or_else(|| self.uploaded_by.clone()),
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

/// What a [`ModelRow`] reads, with its name's owner: the start of every query for rows, which
/// may go on with joins and conditions on `m` (models).
pub const SELECT: &str = "SELECT m.name, m.version, m.description, m.config, m.backend, \
    m.onnx_sha256, m.contract_sha256, m.uploaded_by, m.created_at, o.owner FROM models m \
    LEFT JOIN owners o ON o.kind = 'model' AND o.name = m.name";

/// Every version of every model, newest first within each model.
pub async fn list(db: &AnyPool) -> sqlx::Result<Vec<ModelRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY m.name, m.created_at DESC"))
        .fetch_all(db)
        .await
}

/// The versions of model `name`, newest first.
pub async fn versions(db: &AnyPool, name: &str) -> sqlx::Result<Vec<ModelRow>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE m.name = $1 ORDER BY m.created_at DESC"
    ))
    .bind(name)
    .fetch_all(db)
    .await
}

/// Version `version` of model `name`.
pub async fn find(db: &AnyPool, name: &str, version: &str) -> sqlx::Result<Option<ModelRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE m.name = $1 AND m.version = $2"))
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

/// Stores `row`, and makes its uploader the owner of the name if it has none, in one
/// transaction; a version already uploaded fails on the primary key.
pub async fn insert(db: &AnyPool, row: &ModelRow) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO models (name, version, description, config, backend, onnx_sha256, \
         contract_sha256, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&row.name)
    .bind(&row.version)
    .bind(&row.description)
    .bind(&row.config)
    .bind(&row.backend)
    .bind(&row.onnx_sha256)
    .bind(&row.contract_sha256)
    .bind(&row.uploaded_by)
    .bind(row.created_at)
    .execute(&mut *tx)
    .await?;
    owners::claim(&mut tx, Owned::Model, &row.name, &row.uploaded_by).await?;
    tx.commit().await?;
    REVISION.fetch_add(1, Ordering::AcqRel);
    Ok(())
}

/// Deletes version `version` of model `name`, and frees the name with its last version, in one
/// transaction. False if there was no such version.
pub async fn delete(db: &AnyPool, name: &str, version: &str) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let deleted = sqlx::query("DELETE FROM models WHERE name = $1 AND version = $2")
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM models WHERE name = $1")
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
    if left == 0 {
        owners::release(&mut tx, Owned::Model, name).await?;
    }
    tx.commit().await?;
    REVISION.fetch_add(1, Ordering::AcqRel);
    Ok(deleted > 0)
}

/// The hashes of every stored artifact a model version refers to (ONNX files and contracts).
pub async fn artifacts(db: &AnyPool) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT onnx_sha256, contract_sha256 FROM models")
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().flat_map(|(a, b)| [a, b]).collect())
}
