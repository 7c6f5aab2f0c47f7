//! The `notification_recipients` table: who gets a deployment's notifications (or, with no
//! deployment, the admins'): e-mail addresses and webhooks with their signing secrets.

use sqlx::AnyPool;

use crate::ids::new_id;

/// A recipient as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RecipientRow {
    /// `email` or `webhook`.
    pub kind: String,
    /// The address or URL.
    pub target: String,
    /// A webhook's HMAC key.
    pub secret: Option<String>,
}

/// The recipients of deployment `deployment` (`None`: the admins'), in the order they were set.
pub async fn of(db: &AnyPool, deployment: Option<&str>) -> sqlx::Result<Vec<RecipientRow>> {
    let query = match deployment {
        Some(_) => {
            "SELECT kind, target, secret FROM notification_recipients WHERE deployment_id = $1 \
             ORDER BY created_at, id"
        }
        None => {
            "SELECT kind, target, secret FROM notification_recipients \
             WHERE deployment_id IS NULL ORDER BY created_at, id"
        }
    };
    let mut query = sqlx::query_as(query);
    if let Some(deployment) = deployment {
        query = query.bind(deployment);
    }
    query.fetch_all(db).await
}

/// Replaces the recipients of `deployment` (`None`: the admins') with `recipients`, in one
/// transaction.
pub async fn replace(
    db: &AnyPool,
    deployment: Option<&str>,
    recipients: &[RecipientRow],
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    match deployment {
        Some(id) => {
            sqlx::query("DELETE FROM notification_recipients WHERE deployment_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        None => {
            sqlx::query("DELETE FROM notification_recipients WHERE deployment_id IS NULL")
                .execute(&mut *tx)
                .await?;
        }
    }
    for (position, recipient) in recipients.iter().enumerate() {
        sqlx::query(
            "INSERT INTO notification_recipients \
             (id, deployment_id, kind, target, secret, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id("rcp"))
        .bind(deployment)
        .bind(&recipient.kind)
        .bind(&recipient.target)
        .bind(&recipient.secret)
        // Keeps the order they were given in.
        .bind(now + position as i64)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
