//! The `users` table: accounts with one role each and an argon2id password hash.

use sqlx::AnyPool;
use trellis_protocol::api::{Role, User};

use crate::ids::rfc3339;

/// A user as listed: never the password hash, which only [`find_credentials`] reads.
#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub name: String,
    pub role: String,
    pub created_at: i64,
}

impl UserRow {
    /// The user as the API shows it; `None` for a role this build does not know, so one odd row
    /// does not hide every other user.
    pub fn into_api(self) -> Option<User> {
        Some(User {
            name: self.name,
            role: Role::parse(&self.role)?,
            created_at: rfc3339(self.created_at),
        })
    }
}

/// What logging in checks a password against.
#[derive(sqlx::FromRow)]
pub struct Credentials {
    pub id: String,
    pub role: String,
    pub password_hash: String,
}

/// How many users there are; none means a fresh registry that needs its first admin.
pub async fn count(db: &AnyPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db)
        .await
}

/// Every user, by name.
pub async fn list(db: &AnyPool) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as("SELECT name, role, created_at FROM users ORDER BY name")
        .fetch_all(db)
        .await
}

/// The credentials of the user called `name`, if there is one.
pub async fn find_credentials(db: &AnyPool, name: &str) -> sqlx::Result<Option<Credentials>> {
    sqlx::query_as("SELECT id, role, password_hash FROM users WHERE name = $1")
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
