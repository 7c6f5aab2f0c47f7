//! Session tokens: random, returned once at login, kept only as their SHA-256 with an expiry.

use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use super::Role;
use crate::db;
use crate::ids::{now_ms, random_hex};

/// The user a request comes from, once its token checked out.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: String,
    pub name: String,
    pub role: Role,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// How a token is kept: its SHA-256, so a copy of the database logs no one in.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session for `user_id`; returns the token and when it expires (Unix ms).
pub async fn create_session(
    db: &AnyPool,
    user_id: &str,
    ttl: Duration,
) -> sqlx::Result<(String, i64)> {
    let token = random_hex(32);
    let expires_at = now_ms() + ttl.as_millis() as i64;
    db::sessions::insert(db, &token_hash(&token), user_id, expires_at).await?;
    Ok((token, expires_at))
}

/// The caller holding `token`, if it names a live session.
pub async fn find_caller(db: &AnyPool, token: &str) -> sqlx::Result<Option<Caller>> {
    let user = db::sessions::find_user(db, &token_hash(token), now_ms()).await?;
    Ok(user.and_then(|user| {
        Some(Caller {
            user_id: user.id,
            name: user.name,
            role: Role::parse(&user.role)?,
        })
    }))
}

/// Ends the session of `token` (and sweeps expired ones).
pub async fn end_session(db: &AnyPool, token: &str) -> sqlx::Result<()> {
    db::sessions::delete(db, &token_hash(token), now_ms()).await
}
