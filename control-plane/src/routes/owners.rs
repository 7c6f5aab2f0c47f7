//! Who may change a model or app name: its owner (whoever first uploaded a version of it) and
//! admins. Other uploaders get a 403 naming the owner, so they know whom to ask.

use crate::auth::Caller;
use crate::db;
use crate::db::deployments::DeploymentUse;
use crate::db::owners::Owned;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Refuses `caller` unless they own `name` (or nobody does yet) or are an admin; `action` says
/// what they tried, for the message.
pub async fn check_owner(
    state: &AppState,
    caller: &Caller,
    kind: Owned,
    name: &str,
    action: &str,
) -> ApiResult<()> {
    let Some(owner) = db::owners::owner(&state.db, kind, name).await? else {
        return Ok(());
    };
    if owner == caller.name || caller.is_admin() {
        return Ok(());
    }
    let kind = kind.as_str();
    Err(ApiError::forbidden(format!(
        "{kind} `{name}` belongs to {owner}: only they or an admin may {action} its versions; choose another name or ask {owner}"
    )))
}

/// The 409 for deleting what deployments still use, naming each deployment and its owner.
pub fn in_use(what: &str, users: &[DeploymentUse]) -> ApiError {
    let named: Vec<String> = users
        .iter()
        .map(|d| format!("{} (owner {})", d.id, d.owner))
        .collect();
    ApiError::conflict(format!(
        "{what} is used by {} deployment(s): {}; they must be deleted or moved to another version first",
        users.len(),
        named.join(", ")
    ))
}
