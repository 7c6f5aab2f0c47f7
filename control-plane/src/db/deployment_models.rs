//! The `deployment_models` table: the exact version of each model a deployment runs, resolved
//! from its app's requirements when it was made. Its node is assigned exactly these, so a new
//! model version reaches a deployment only when its versions are resolved again.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, AnyPool};

use super::deployments::DeploymentUse;
use super::models::ModelRow;

/// Records `models` (name → version) for deployment `deployment_id`, on the connection (or
/// transaction) that writes the deployment.
pub async fn insert(
    connection: &mut AnyConnection,
    deployment_id: &str,
    models: &BTreeMap<String, String>,
) -> sqlx::Result<()> {
    for (name, version) in models {
        sqlx::query(
            "INSERT INTO deployment_models (deployment_id, model_name, model_version) VALUES ($1, $2, $3)",
        )
        .bind(deployment_id)
        .bind(name)
        .bind(version)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// Replaces what deployment `deployment_id` runs with `models`, in one transaction: for
/// versions resolved again.
pub async fn set(
    db: &AnyPool,
    deployment_id: &str,
    models: &BTreeMap<String, String>,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    replace(&mut tx, deployment_id, models).await?;
    tx.commit().await
}

/// Replaces what deployment `deployment_id` runs with `models`, on the connection (or
/// transaction) that writes the deployment.
pub async fn replace(
    connection: &mut AnyConnection,
    deployment_id: &str,
    models: &BTreeMap<String, String>,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM deployment_models WHERE deployment_id = $1")
        .bind(deployment_id)
        .execute(&mut *connection)
        .await?;
    insert(connection, deployment_id, models).await
}

/// The version of each model deployment `deployment_id` runs, by name.
pub async fn of(db: &AnyPool, deployment_id: &str) -> sqlx::Result<BTreeMap<String, String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT model_name, model_version FROM deployment_models WHERE deployment_id = $1",
    )
    .bind(deployment_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}

/// The model versions deployment `deployment_id` runs, whole, for its node's assignment.
pub async fn assigned(db: &AnyPool, deployment_id: &str) -> sqlx::Result<Vec<ModelRow>> {
    sqlx::query_as(&format!(
        "{} JOIN deployment_models d ON d.model_name = m.name AND d.model_version = m.version \
         WHERE d.deployment_id = $1 ORDER BY m.name",
        super::models::SELECT
    ))
    .bind(deployment_id)
    .fetch_all(db)
    .await
}

/// The deployments that run version `version` of model `name`, oldest first.
pub async fn users_of(db: &AnyPool, name: &str, version: &str) -> sqlx::Result<Vec<DeploymentUse>> {
    sqlx::query_as(
        "SELECT d.id, d.owner FROM deployment_models m JOIN deployments d ON d.id = m.deployment_id \
         WHERE m.model_name = $1 AND m.model_version = $2 ORDER BY d.created_at, d.id",
    )
    .bind(name)
    .bind(version)
    .fetch_all(db)
    .await
}

/// Deployments with no model versions recorded, with their app version's manifest: those made
/// before versions were recorded (and those whose app calls no model).
pub async fn unrecorded(db: &AnyPool) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "SELECT d.id, a.manifest FROM deployments d \
         JOIN apps a ON a.name = d.app_name AND a.version = d.app_version \
         WHERE NOT EXISTS (SELECT 1 FROM deployment_models m WHERE m.deployment_id = d.id) \
         ORDER BY d.created_at, d.id",
    )
    .fetch_all(db)
    .await
}
