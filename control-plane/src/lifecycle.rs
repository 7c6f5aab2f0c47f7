//! A deployment's app version over its life: upgraded to a newer one, rolled back to the one
//! before (by its owner, or by the control plane itself when a new version keeps failing soon
//! after an upgrade), each step checked as at creation and kept in its history.
//!
//! The node replaces the instance when its assignment names another version. The consumer group
//! is the deployment, and an instance commits each reading only once it has handled it, so the
//! new version resumes at the first reading the old one had not finished.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use trellis_protocol::api::{EventKind, FieldChange};

use crate::auth::{Caller, Role};
use crate::db;
use crate::db::apps::AppRow;
use crate::db::deployments::{DeploymentRow, EventRow, NewEvent};
use crate::deployment_checks::{check_bindings, checked_config, config_set_of};
use crate::error::{ApiError, ApiResult};
use crate::ids::now_ms;
use crate::state::AppState;

/// How long after an upgrade the control plane watches the new version and rolls it back by
/// itself if it fails. A minute covers a start, the first readings and a few backoff rounds
/// (250 ms, 500 ms, 1 s, ...) of an app that cannot start, while an app that fails only hours
/// later is a matter for its owner, not an upgrade gone wrong.
pub const UPGRADE_GRACE: Duration = Duration::from_secs(60);

/// Restarts within the grace period that count as failing even if the node has not yet called
/// the instance `failed` (it does so after three failures in a row; an app that traps now and
/// then, between good readings, never gets there).
pub const FAILING_RESTARTS: i64 = 3;

/// The actor the history names for what the control plane does by itself.
pub const CONTROL_PLANE: &str = "control-plane";

/// Tells nodes waiting on their assignments to fetch them again.
pub fn assignments_changed(state: &AppState) {
    state.assignments.send_modify(|generation| *generation += 1);
}

/// The version a rollback returns to: the one in use before the current one, reading the history
/// as a stack (creation and each upgrade push a version, each rollback pops one), so rolling
/// back twice after two upgrades returns to the first version, not back and forth.
pub fn previous_version(history: &[EventRow]) -> Option<String> {
    let mut versions: Vec<&str> = Vec::new();
    for event in history {
        match event.kind.parse::<EventKind>() {
            Ok(EventKind::Created | EventKind::Upgraded) => versions.push(&event.version),
            Ok(EventKind::RolledBack) => {
                versions.pop();
                // Where the stack ran dry (history older than it), the version rolled back to
                // is the floor.
                if versions.is_empty() {
                    versions.push(&event.version);
                }
            }
            _ => {}
        }
    }
    let n = versions.len();
    (n >= 2).then(|| versions[n - 2].to_string())
}

/// What the change of version is and why.
pub struct VersionChange {
    pub kind: EventKind,
    pub actor: String,
    pub reason: String,
    /// Until when a failing new version is rolled back automatically (upgrades only).
    pub watch_until: Option<i64>,
    /// What the deployment's detail says afterwards.
    pub note: String,
}

/// Moves deployment `row` to app version `to`: its bindings must fit the new version's roles
/// and its owner's parameters its manifest (else 400 naming the role or parameter, and nothing
/// changes). Writes the change and its event, and has its node replace the instance.
pub async fn change_version(
    state: &AppState,
    caller: &Caller,
    mut row: DeploymentRow,
    to: &AppRow,
    change: VersionChange,
) -> ApiResult<DeploymentRow> {
    let from = db::apps::find(&state.db, &row.app_name, Some(&row.app_version))
        .await?
        .map(|app| app.parse_manifest())
        .transpose()?;
    let manifest = to.parse_manifest()?;
    let bindings = db::deployments::bindings(&state.db, &row.id).await?;
    check_bindings(state, caller, &manifest, &bindings)
        .await
        .map_err(|e| in_version(e, &to.version))?;
    let config: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&row.config).map_err(ApiError::internal)?;
    let set = match &from {
        Some(from) => config_set_of(row.config_set.as_deref(), &config, from)?,
        None => config_set_of(row.config_set.as_deref(), &config, &manifest)?,
    };
    let config = checked_config(&manifest, &set).map_err(|e| in_version(e, &to.version))?;
    // A new app version is when a deployment's models are resolved again: the only way a new
    // model version reaches it.
    let models = crate::model_versions::resolve(&state.db, &manifest)
        .await
        .map_err(|e| in_version(e, &to.version))?;
    let old_models = db::deployment_models::of(&state.db, &row.id).await?;
    let changes = model_changes(&old_models, &models);

    let now = now_ms();
    let from_version = std::mem::replace(&mut row.app_version, to.version.clone());
    row.config = serde_json::to_string(&config).map_err(ApiError::internal)?;
    row.config_set = Some(serde_json::to_string(&set).map_err(ApiError::internal)?);
    row.watch_until = change.watch_until;
    row.note = change.note;
    let event = NewEvent {
        at: now,
        actor: change.actor,
        kind: change.kind.as_str(),
        version: to.version.clone(),
        from_version: Some(from_version),
        changes,
        reason: change.reason,
    };
    db::deployments::update(&state.db, &row, None, Some(&models), None, &event).await?;
    db::instances::renew(&state.db, &row.id, now).await?;
    assignments_changed(state);
    crate::live::deployment_changed(state, &row.id).await;
    Ok(row)
}

/// The model versions that differ between `old` and `new`, as `models.<name>` changes (a model
/// no longer or newly called shows as null on its side).
fn model_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<FieldChange> {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter(|name| old.get(*name) != new.get(*name))
        .map(|name| FieldChange {
            field: format!("models.{name}"),
            from: old
                .get(name)
                .map_or(serde_json::Value::Null, |v| v.as_str().into()),
            to: new
                .get(name)
                .map_or(serde_json::Value::Null, |v| v.as_str().into()),
        })
        .collect()
}

/// `error`, saying it is about version `version`.
fn in_version(error: ApiError, version: &str) -> ApiError {
    ApiError::new(
        error.status,
        format!("{} (in version {version})", error.message),
    )
}

/// Rolls back every deployment whose new version fails within the grace period of its upgrade
/// (its node reports it `failed`, or restarted it [`FAILING_RESTARTS`] times), naming the
/// instance's last error in its history and its detail. True if any was rolled back.
pub async fn roll_back_failing_upgrades(state: &AppState) -> ApiResult<bool> {
    let failing =
        db::deployments::failing_while_watched(&state.db, now_ms(), FAILING_RESTARTS).await?;
    let mut rolled_back = false;
    for db::deployments::FailingRow { id, detail } in failing {
        let Some(row) = db::deployments::find(&state.db, &id).await? else {
            continue;
        };
        let history = db::deployments::history(&state.db, &id).await?;
        let target = match previous_version(&history) {
            Some(version) => db::apps::find(&state.db, &row.app_name, Some(&version)).await?,
            None => None,
        };
        let Some(target) = target else {
            tracing::warn!("{id} fails after its upgrade, but has no earlier version to return to");
            db::deployments::end_watch(&state.db, &id).await?;
            continue;
        };
        let grace = state.settings.upgrade_grace.as_secs_f64();
        let why = format!(
            "version {} failed within {grace:.0} s of its upgrade: {}",
            row.app_version,
            if detail.is_empty() {
                "no error given"
            } else {
                &detail
            }
        );
        let note = format!(
            "rolled back automatically from {} to {}: {why}",
            row.app_version, target.version
        );
        // The control plane acts for the owner, with the bindings they were already allowed.
        let caller = Caller {
            user_id: String::new(),
            name: CONTROL_PLANE.into(),
            role: Role::Admin,
            session_id: String::new(),
        };
        let change = VersionChange {
            kind: EventKind::RolledBack,
            actor: CONTROL_PLANE.into(),
            reason: why,
            watch_until: None,
            note: note.clone(),
        };
        match change_version(state, &caller, row, &target, change).await {
            Ok(_) => {
                tracing::warn!("{id}: {note}");
                state
                    .notifier
                    .raise(crate::notify::platform::rolled_back(&id, &note));
                rolled_back = true;
            }
            Err(e) => {
                tracing::warn!(
                    "{id} fails after its upgrade and cannot roll back: {}",
                    e.message
                );
                db::deployments::end_watch(&state.db, &id).await?;
            }
        }
    }
    Ok(rolled_back)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, version: &str) -> EventRow {
        EventRow {
            at: 0,
            actor: "eve".into(),
            kind: kind.as_str().into(),
            version: version.into(),
            from_version: None,
            changes: "[]".into(),
            reason: String::new(),
        }
    }

    #[test]
    fn a_new_deployment_has_nothing_to_roll_back_to() {
        assert_eq!(previous_version(&[event(EventKind::Created, "1")]), None);
        let changed = [
            event(EventKind::Created, "1"),
            event(EventKind::Stopped, "1"),
            event(EventKind::Changed, "1"),
        ];
        assert_eq!(previous_version(&changed), None);
    }

    #[test]
    fn rollbacks_walk_back_through_the_upgrades() {
        let mut history = vec![
            event(EventKind::Created, "1"),
            event(EventKind::Upgraded, "2"),
            event(EventKind::Upgraded, "3"),
        ];
        assert_eq!(previous_version(&history).as_deref(), Some("2"));
        history.push(event(EventKind::RolledBack, "2"));
        assert_eq!(previous_version(&history).as_deref(), Some("1"));
        history.push(event(EventKind::RolledBack, "1"));
        assert_eq!(previous_version(&history), None);
        // Upgrading again starts a new step to come back from.
        history.push(event(EventKind::Upgraded, "4"));
        assert_eq!(previous_version(&history).as_deref(), Some("1"));
    }
}
