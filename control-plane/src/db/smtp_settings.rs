//! The `smtp_settings` table: the one SMTP server notifications are mailed through.

use sqlx::AnyPool;

/// The SMTP server as stored, password included (never answered to anyone).
#[derive(Clone, sqlx::FromRow)]
pub struct SmtpRow {
    pub host: String,
    pub port: i64,
    pub security: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub sender: String,
    pub updated_at: i64,
}

/// The SMTP server, if an admin set one.
pub async fn get(db: &AnyPool) -> sqlx::Result<Option<SmtpRow>> {
    sqlx::query_as(
        "SELECT host, port, security, username, password, sender, updated_at FROM smtp_settings \
         WHERE singleton = 1",
    )
    .fetch_optional(db)
    .await
}

/// Sets the SMTP server, replacing the one there was.
pub async fn put(db: &AnyPool, row: &SmtpRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO smtp_settings \
         (singleton, host, port, security, username, password, sender, updated_at) \
         VALUES (1, $1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (singleton) DO UPDATE SET host = $1, port = $2, security = $3, \
         username = $4, password = $5, sender = $6, updated_at = $7",
    )
    .bind(&row.host)
    .bind(row.port)
    .bind(&row.security)
    .bind(&row.username)
    .bind(&row.password)
    .bind(&row.sender)
    .bind(row.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Forgets the SMTP server: e-mail notifications fail (and are recorded so) until one is set.
pub async fn delete(db: &AnyPool) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM smtp_settings WHERE singleton = 1")
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}
