//! The `app_state_checkpoints` table: each deployment's app state as its node last checkpointed
//! it (entries and per-topic offsets, as JSON), with a generation that counts the accepted
//! checkpoints and the node that wrote the last one.

use sqlx::AnyPool;

/// A stored checkpoint.
#[derive(sqlx::FromRow)]
pub struct CheckpointRow {
    pub generation: i64,
    pub node_id: String,
    /// The `StateCheckpoint` as JSON (its own generation field is not read: the column is).
    pub checkpoint: String,
}

/// What became of a checkpoint offered by a node.
pub enum Written {
    /// Stored as this generation.
    Accepted(i64),
    /// Another node's checkpoint, newer than the state the offer continues from, is stored.
    Superseded(CheckpointRow),
}

/// The checkpoint of deployment `deployment_id`, if any.
pub async fn get(db: &AnyPool, deployment_id: &str) -> sqlx::Result<Option<CheckpointRow>> {
    sqlx::query_as(
        "SELECT generation, node_id, checkpoint FROM app_state_checkpoints \
         WHERE deployment_id = $1",
    )
    .bind(deployment_id)
    .fetch_optional(db)
    .await
}

/// Stores `checkpoint` (JSON) from node `node_id`, whose state continues from generation `base`,
/// unless a checkpoint another node wrote after `base` is stored: a node's state continues from
/// its own last checkpoint, or from the one it started from.
pub async fn put(
    db: &AnyPool,
    deployment_id: &str,
    node_id: &str,
    base: i64,
    checkpoint: &str,
    now: i64,
) -> sqlx::Result<Written> {
    // One statement decides and writes, so two writers cannot both pass the check.
    let updated: Option<(i64,)> = sqlx::query_as(
        "UPDATE app_state_checkpoints \
         SET generation = generation + 1, node_id = $1, checkpoint = $2, updated_at = $3 \
         WHERE deployment_id = $4 AND (generation = $5 OR node_id = $1) \
         RETURNING generation",
    )
    .bind(node_id)
    .bind(checkpoint)
    .bind(now)
    .bind(deployment_id)
    .bind(base)
    .fetch_optional(db)
    .await?;
    if let Some((generation,)) = updated {
        return Ok(Written::Accepted(generation));
    }
    if let Some(stored) = get(db, deployment_id).await? {
        return Ok(Written::Superseded(stored));
    }
    // The first checkpoint (or the first after the registry lost it): its generation follows
    // the node's, so what the node holds is never taken for newer than it.
    let generation = base + 1;
    let inserted = sqlx::query(
        "INSERT INTO app_state_checkpoints \
         (deployment_id, generation, node_id, checkpoint, updated_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(deployment_id)
    .bind(generation)
    .bind(node_id)
    .bind(checkpoint)
    .bind(now)
    .execute(db)
    .await;
    match inserted {
        Ok(_) => Ok(Written::Accepted(generation)),
        // Another writer's first checkpoint came in between.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            match get(db, deployment_id).await? {
                Some(stored) => Ok(Written::Superseded(stored)),
                None => Err(sqlx::Error::Database(e)),
            }
        }
        Err(e) => Err(e),
    }
}
