//! The `notification_deliveries` table: every notification's delivery to each recipient, with
//! how it ended.

use sqlx::AnyPool;

/// A delivery as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub deployment_id: Option<String>,
    pub source: String,
    pub urgency: String,
    pub title: String,
    pub channel: String,
    pub target: String,
    pub status: String,
    pub error: String,
    pub attempts: i64,
    pub created_at: i64,
    pub finished_at: i64,
}

/// Records a delivery that ended.
pub async fn insert(db: &AnyPool, row: &DeliveryRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO notification_deliveries (id, deployment_id, source, urgency, title, \
         channel, target, status, error, attempts, created_at, finished_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&row.id)
    .bind(&row.deployment_id)
    .bind(&row.source)
    .bind(&row.urgency)
    .bind(&row.title)
    .bind(&row.channel)
    .bind(&row.target)
    .bind(&row.status)
    .bind(&row.error)
    .bind(row.attempts)
    .bind(row.created_at)
    .bind(row.finished_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The newest `limit` deliveries of deployment `deployment` (`None`: the admins'), newest first.
pub async fn of(
    db: &AnyPool,
    deployment: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    const COLUMNS: &str = "SELECT id, deployment_id, source, urgency, title, channel, target, \
         status, error, attempts, created_at, finished_at FROM notification_deliveries";
    match deployment {
        Some(id) => {
            sqlx::query_as(&format!(
                "{COLUMNS} WHERE deployment_id = $1 ORDER BY finished_at DESC, id DESC LIMIT $2"
            ))
            .bind(id)
            .bind(limit)
            .fetch_all(db)
            .await
        }
        None => {
            sqlx::query_as(&format!(
                "{COLUMNS} WHERE deployment_id IS NULL ORDER BY finished_at DESC, id DESC LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(db)
            .await
        }
    }
}
