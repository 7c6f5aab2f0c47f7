//! Live sessions kept in memory, so a request's token is checked without a database round trip
//! (the round trip was most of a fast request's time).
//!
//! Revocation stays immediate: every write that can end a session or change what its user may
//! do (logout, revoking a session, a role change, disabling, a password change) bumps
//! [`db::sessions::revision`](crate::db::sessions::revision), and an entry cached under an
//! older revision is not trusted. The revision is read before the database is, so a write that
//! lands while an entry is being filled leaves that entry stale rather than wrongly trusted.

use std::collections::HashMap;

use parking_lot::RwLock;

use super::session::Caller;

/// Beyond this many cached sessions the cache starts again empty: a bound on memory that costs
/// one database read per live session when it is hit.
const MOST_SESSIONS: usize = 100_000;

/// A session as cached: its caller, until when it lasts, when it was last recorded as used, and
/// the revision it was read at.
#[derive(Clone)]
pub struct CachedSession {
    pub caller: Caller,
    pub expires_at: i64,
    pub last_used_at: i64,
    pub revision: u64,
}

/// The sessions read lately, by token hash.
#[derive(Default)]
pub struct SessionCache {
    sessions: RwLock<HashMap<String, CachedSession>>,
}

impl SessionCache {
    /// The session kept as `token_hash`, if it was cached at `revision` and lasts past `now`.
    pub fn get(&self, token_hash: &str, revision: u64, now: i64) -> Option<CachedSession> {
        let sessions = self.sessions.read();
        let cached = sessions.get(token_hash)?;
        (cached.revision == revision && cached.expires_at > now).then(|| cached.clone())
    }

    /// Keeps `session` under `token_hash`.
    pub fn put(&self, token_hash: String, session: CachedSession) {
        let mut sessions = self.sessions.write();
        if sessions.len() >= MOST_SESSIONS {
            sessions.clear();
        }
        sessions.insert(token_hash, session);
    }

    /// Forgets the session kept as `token_hash` (one that is no longer live).
    pub fn forget(&self, token_hash: &str) {
        self.sessions.write().remove(token_hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn session(revision: u64, expires_at: i64) -> CachedSession {
        CachedSession {
            caller: Caller {
                user_id: "usr_1".into(),
                name: "ada".into(),
                role: Role::EndUser,
                session_id: "ses_1".into(),
            },
            expires_at,
            last_used_at: 0,
            revision,
        }
    }

    #[test]
    fn an_entry_from_another_revision_or_past_its_expiry_is_not_trusted() {
        let cache = SessionCache::default();
        cache.put("h".into(), session(3, 1_000));
        assert!(cache.get("h", 3, 999).is_some());
        assert!(cache.get("h", 4, 999).is_none(), "a later revision");
        assert!(cache.get("h", 3, 1_000).is_none(), "expired");
        assert!(cache.get("other", 3, 999).is_none());
        cache.forget("h");
        assert!(cache.get("h", 3, 999).is_none());
    }
}
