//! Session tokens: random, returned once at login, kept only as their SHA-256 with an expiry
//! and an id of their own, by which their owner (or an admin) lists and revokes them.

use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use super::Role;
use super::session_cache::{CachedSession, SessionCache};
use crate::db;
use crate::ids::{new_id, now_ms, random_hex};

/// How stale a session's "last used" may get before a request writes it again: one write a
/// minute per busy session rather than one per request.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The user a request comes from, once its token checked out.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: String,
    pub name: String,
    pub role: Role,
    /// The id of the session the request came with.
    pub session_id: String,
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

/// Starts a session for `user_id`; returns the token and when it expires (Unix ms). Sessions
/// that have expired, anyone's, are deleted on the way, so the table holds live ones only.
pub async fn create_session(
    db: &AnyPool,
    user_id: &str,
    ttl: Duration,
) -> sqlx::Result<(String, i64)> {
    let token = random_hex(32);
    let now = now_ms();
    db::sessions::delete_expired(db, now).await?;
    let expires_at = now + ttl.as_millis() as i64;
    db::sessions::insert(
        db,
        &token_hash(&token),
        &new_id("ses"),
        user_id,
        now,
        expires_at,
    )
    .await?;
    Ok((token, expires_at))
}

/// The caller holding `token`, if it names a live session of a user who is not disabled. Read
/// from `cache` when it holds the session at the current revision; otherwise from the database
/// (the user's role afresh, so a role change holds from the next request on), and cached.
pub async fn find_caller(
    db: &AnyPool,
    cache: &SessionCache,
    token: &str,
) -> sqlx::Result<Option<Caller>> {
    let now = now_ms();
    let hash = token_hash(token);
    let revision = db::sessions::revision();
    if let Some(cached) = cache.get(&hash, revision, now)
        && now - cached.last_used_at < TOUCH_EVERY_MS
    {
        return Ok(Some(cached.caller));
    }
    let Some(user) = db::sessions::find_user(db, &hash, now).await? else {
        cache.forget(&hash);
        return Ok(None);
    };
    let mut last_used_at = user.last_used_at.unwrap_or(0);
    if now - last_used_at >= TOUCH_EVERY_MS {
        db::sessions::touch(db, &user.session_id, now).await?;
        last_used_at = now;
    }
    let Some(role) = Role::parse(&user.role) else {
        return Ok(None);
    };
    let caller = Caller {
        user_id: user.id,
        name: user.name,
        role,
        session_id: user.session_id,
    };
    cache.put(
        hash,
        CachedSession {
            caller: caller.clone(),
            expires_at: user.expires_at,
            last_used_at,
            revision,
        },
    );
    Ok(Some(caller))
}

/// Ends the session of `token` (and sweeps expired ones).
pub async fn end_session(db: &AnyPool, token: &str) -> sqlx::Result<()> {
    db::sessions::delete(db, &token_hash(token), now_ms()).await
}
