//! Login sessions as their owner (or an admin) sees them: never the token.

use serde::{Deserialize, Serialize};

/// A live login session.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActiveSession {
    /// What `DELETE /api/v1/auth/sessions/{id}` names; not the token.
    pub id: String,
    /// Whose session it is.
    pub user: String,
    /// When it started; unknown for sessions older than session listing.
    pub created_at: Option<String>,
    /// When it was last used, to the minute.
    pub last_used_at: Option<String>,
    pub expires_at: String,
    /// True for the session the listing was asked with.
    pub current: bool,
}
