//! The `sessions` table: live login sessions, kept by the SHA-256 of their token.

use sqlx::AnyPool;

/// The user behind a live session.
#[derive(sqlx::FromRow)]
pub struct SessionUser {
    pub id: String,
    pub name: String,
    pub role: String,
}

/// Records a session for `user_id` until `expires_at` (Unix ms).
pub async fn insert(
    db: &AnyPool,
    token_hash: &str,
    user_id: &str,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(user_id)
        .bind(expires_at)
        .execute(db)
        .await?;
    Ok(())
}

/// The user of the session kept as `token_hash`, if it has not expired by `now` (Unix ms).
pub async fn find_user(
    db: &AnyPool,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<SessionUser>> {
    sqlx::query_as(
        "SELECT users.id, users.name, users.role FROM sessions \
         JOIN users ON users.id = sessions.user_id \
         WHERE sessions.token_hash = $1 AND sessions.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Ends the session kept as `token_hash`, and with it every session expired by `now`, so the
/// table does not grow with sessions nobody logged out of.
pub async fn delete(db: &AnyPool, token_hash: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= $2")
        .bind(token_hash)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}
