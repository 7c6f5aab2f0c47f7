//! The `sessions` table: live login sessions, kept by the SHA-256 of their token, each with an
//! id that listings show and revocation names.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::AnyPool;

/// Bumped after every write that can end a session or change what its user may do, so sessions
/// cached in memory from before it are read again. One for the process: every control plane in
/// it (tests run several) rereads, which costs a read and is never wrong.
static REVISION: AtomicU64 = AtomicU64::new(0);

/// The sessions' revision: read it before reading a session, to cache what was read under it.
pub fn revision() -> u64 {
    REVISION.load(Ordering::Acquire)
}

/// Marks every cached session as to be read again.
pub(crate) fn bump_revision() {
    REVISION.fetch_add(1, Ordering::AcqRel);
}

/// The user behind a live session, and the session itself.
#[derive(sqlx::FromRow)]
pub struct SessionUser {
    pub id: String,
    pub name: String,
    pub role: String,
    pub session_id: String,
    pub last_used_at: Option<i64>,
    pub expires_at: i64,
}

/// A live session as listed.
#[derive(sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub user_name: String,
    pub created_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub expires_at: i64,
}

/// Records session `id` for `user_id`, started at `now` and lasting until `expires_at` (Unix
/// ms).
pub async fn insert(
    db: &AnyPool,
    token_hash: &str,
    id: &str,
    user_id: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, id, user_id, created_at, last_used_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(token_hash)
    .bind(id)
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The user of the session kept as `token_hash`, if it has not expired by `now` (Unix ms) and
/// the user is not disabled.
pub async fn find_user(
    db: &AnyPool,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<SessionUser>> {
    sqlx::query_as(
        "SELECT users.id, users.name, users.role, sessions.id AS session_id, sessions.last_used_at, \
         sessions.expires_at \
         FROM sessions JOIN users ON users.id = sessions.user_id \
         WHERE sessions.token_hash = $1 AND sessions.expires_at > $2 \
         AND users.disabled_at IS NULL",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Records that session `id` was used at `now`.
pub async fn touch(db: &AnyPool, id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// The live sessions of user `user_id` (every user's if `None`) at `now`, newest first.
pub async fn list(db: &AnyPool, user_id: Option<&str>, now: i64) -> sqlx::Result<Vec<SessionRow>> {
    sqlx::query_as(
        "SELECT sessions.id, sessions.user_id, users.name AS user_name, sessions.created_at, \
         sessions.last_used_at, sessions.expires_at \
         FROM sessions JOIN users ON users.id = sessions.user_id \
         WHERE sessions.expires_at > $1 AND ($2 IS NULL OR sessions.user_id = $2) \
         ORDER BY sessions.expires_at DESC, sessions.id",
    )
    .bind(now)
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// The live session `id` at `now`, if there is one.
pub async fn find(db: &AnyPool, id: &str, now: i64) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as(
        "SELECT sessions.id, sessions.user_id, users.name AS user_name, sessions.created_at, \
         sessions.last_used_at, sessions.expires_at \
         FROM sessions JOIN users ON users.id = sessions.user_id \
         WHERE sessions.id = $1 AND sessions.expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Ends session `id`.
pub async fn delete_by_id(db: &AnyPool, id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    bump_revision();
    Ok(())
}

/// Ends every session of user `user_id` but `keep` (a session id), if given.
pub async fn delete_for_user(db: &AnyPool, user_id: &str, keep: Option<&str>) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id <> $2)")
        .bind(user_id)
        .bind(keep)
        .execute(db)
        .await?;
    bump_revision();
    Ok(())
}

/// Ends the session kept as `token_hash`, and with it every session expired by `now`, so the
/// table does not grow with sessions nobody logged out of.
pub async fn delete(db: &AnyPool, token_hash: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= $2")
        .bind(token_hash)
        .bind(now)
        .execute(db)
        .await?;
    bump_revision();
    Ok(())
}

/// Removes every session expired by `now`: nobody can use them, and kept they would grow the
/// table with every login that was never logged out.
pub async fn delete_expired(db: &AnyPool, now: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}
