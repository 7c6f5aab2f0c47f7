//! The `users` table: accounts with one role each, an argon2id password hash, and whether an
//! admin disabled them.

use sqlx::AnyPool;
use trellis_protocol::api::{Role, User};

use crate::ids::rfc3339;

/// A user as listed: never the password hash, which only [`find_credentials`] reads.
#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

impl UserRow {
    /// The user as the API shows it; `None` for a role this build does not know, so one odd row
    /// does not hide every other user.
    pub fn into_api(self) -> Option<User> {
        Some(User {
            name: self.name,
            role: Role::parse(&self.role)?,
            created_at: rfc3339(self.created_at),
            disabled: self.disabled_at.is_some(),
        })
    }
}

/// What logging in checks a password against.
#[derive(sqlx::FromRow)]
pub struct Credentials {
    pub id: String,
    pub role: String,
    pub password_hash: String,
    pub disabled_at: Option<i64>,
}

/// What a [`UserRow`] reads.
const COLUMNS: &str = "id, name, role, created_at, disabled_at";

/// How many users there are; none means a fresh registry that needs its first admin.
pub async fn count(db: &AnyPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db)
        .await
}

/// Every user, by name.
pub async fn list(db: &AnyPool) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users ORDER BY name"))
        .fetch_all(db)
        .await
}

/// The user called `name`, if there is one.
pub async fn find(db: &AnyPool, name: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE name = $1"))
        .bind(name)
        .fetch_optional(db)
        .await
}

/// The credentials of the user called `name`, if there is one.
pub async fn find_credentials(db: &AnyPool, name: &str) -> sqlx::Result<Option<Credentials>> {
    sqlx::query_as("SELECT id, role, password_hash, disabled_at FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await
}

/// Adds a user; a taken name fails on the unique key.
pub async fn insert(
    db: &AnyPool,
    id: &str,
    name: &str,
    role: Role,
    password_hash: &str,
    created_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO users (id, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(name)
    .bind(role.as_str())
    .bind(password_hash)
    .bind(created_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Gives user `id` `role` and `disabled_at` (NULL: enabled). With `keep_an_admin`, the change
/// is made only if another enabled admin remains, checked in the same statement so the last
/// admin cannot be lost between a check and the write; false if nothing was changed.
pub async fn set_account(
    db: &AnyPool,
    id: &str,
    role: Role,
    disabled_at: Option<i64>,
    keep_an_admin: bool,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE users SET role = $1, disabled_at = $2 WHERE id = $3 \
         AND ($4 = 0 OR (SELECT COUNT(*) FROM users other \
             WHERE other.role = 'admin' AND other.disabled_at IS NULL AND other.id <> $3) > 0)",
    )
    .bind(role.as_str())
    .bind(disabled_at)
    .bind(id)
    .bind(i32::from(keep_an_admin))
    .execute(db)
    .await?;
    super::sessions::bump_revision();
    Ok(updated.rows_affected() > 0)
}

/// Replaces user `id`'s password hash.
pub async fn set_password(db: &AnyPool, id: &str, password_hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(id)
        .execute(db)
        .await?;
    super::sessions::bump_revision();
    Ok(())
}

/// The password hash of user `id`, to check a current password against.
pub async fn password_hash(db: &AnyPool, id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}
