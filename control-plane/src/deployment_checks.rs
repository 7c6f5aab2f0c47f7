//! The rules a deployment's settings must keep, checked the same way when it is made, changed,
//! upgraded or rolled back: each binding fits a role of its app version, the parameters fit its
//! manifest, the schedule makes sense. Each error names the field that broke the rule.

use std::collections::BTreeMap;

use trellis_host::manifest::AppManifest;
use trellis_protocol::Value;
use trellis_protocol::api::Schedule;

use crate::auth::{Caller, Role};
use crate::db;
use crate::db::devices::DeviceKind;
use crate::error::{ApiError, ApiResult};
use crate::schedule::ScheduleRules;
use crate::state::AppState;

/// Each binding names a role of the app, each role gets between `min` and `max` instances,
/// each instance exists, has the role's type and may be used by the caller.
pub async fn check_bindings(
    state: &AppState,
    caller: &Caller,
    manifest: &AppManifest,
    bindings: &BTreeMap<String, Vec<String>>,
) -> ApiResult<()> {
    for role in bindings.keys() {
        if !manifest.sensors.contains_key(role) && !manifest.controllers.contains_key(role) {
            let roles: Vec<_> = manifest
                .sensors
                .keys()
                .chain(manifest.controllers.keys())
                .map(String::as_str)
                .collect();
            return Err(ApiError::bad_request(format!(
                "bindings: `{role}` is not a role of {}; its roles are {}",
                manifest.name,
                roles.join(", ")
            ))
            .on(format!("bindings.{role}")));
        }
    }
    let roles = manifest
        .sensors
        .iter()
        .map(|(name, role)| (DeviceKind::Sensor, name, role))
        .chain(
            manifest
                .controllers
                .iter()
                .map(|(name, role)| (DeviceKind::Controller, name, role)),
        );
    for (kind, name, role) in roles {
        let ids = bindings.get(name).map(Vec::as_slice).unwrap_or_default();
        let count = ids.len() as u32;
        if count < role.min || count > role.max {
            let wanted = if role.min == role.max {
                role.min.to_string()
            } else {
                format!("{} to {}", role.min, role.max)
            };
            return Err(ApiError::bad_request(format!(
                "bindings: role `{name}` takes {wanted} {} instance(s) of type `{}`; {count} given",
                kind.as_str(),
                role.kind
            ))
            .on(format!("bindings.{name}")));
        }
        for id in ids {
            let device = db::devices::find(&state.db, kind, id)
                .await?
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "bindings: role `{name}`: there is no {} `{id}`",
                        kind.as_str()
                    ))
                    .on(format!("bindings.{name}"))
                })?
                .into_api()?;
            if device.type_name != role.kind {
                return Err(ApiError::bad_request(format!(
                    "bindings: role `{name}` needs a `{}` {}; `{}` ({id}) is a `{}`",
                    role.kind,
                    kind.as_str(),
                    device.name,
                    device.type_name
                ))
                .on(format!("bindings.{name}")));
            }
            let allowed = caller.role == Role::Admin
                || crate::device_access::granted(&device.users, &caller.name);
            if !allowed {
                return Err(ApiError::forbidden(format!(
                    "bindings: role `{name}`: {} `{}` ({id}) is reserved for other users; ask a platform configurer to add you",
                    kind.as_str(),
                    device.name
                ))
                .on(format!("bindings.{name}")));
            }
        }
    }
    Ok(())
}

/// The parameter values of an app version given the owner's own (`set`, as text): the manifest's
/// defaults with `set` on top, as the JSON a deployment stores.
pub fn checked_config(
    manifest: &AppManifest,
    set: &BTreeMap<String, String>,
) -> ApiResult<serde_json::Map<String, serde_json::Value>> {
    let overrides: Vec<(String, String)> = set.clone().into_iter().collect();
    let params = manifest.config_values(&overrides).map_err(|e| {
        // The parameter at fault: the first that is refused on its own.
        let field = overrides
            .iter()
            .find(|one| manifest.config_values(std::slice::from_ref(one)).is_err())
            .map_or_else(
                || "config".to_string(),
                |(name, _)| format!("config.{name}"),
            );
        ApiError::bad_request(format!("config: {e}")).on(field)
    })?;
    Ok(params
        .into_iter()
        .map(|param| (param.name, Value::from(param.value).to_json()))
        .collect())
}

/// The schedule, if it makes sense; the error starts with `schedule:`.
pub fn check_schedule(schedule: &Schedule) -> ApiResult<()> {
    schedule
        .check()
        .map_err(|e| ApiError::bad_request(e).on("schedule"))
}

/// A stored parameter value as the text an owner would have given.
pub fn as_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The parameter values a deployment's owner chose, from its `config_set`; for a deployment made
/// before they were kept apart, those of its `config` that differ from its manifest's defaults.
pub fn config_set_of(
    config_set: Option<&str>,
    config: &serde_json::Map<String, serde_json::Value>,
    manifest: &AppManifest,
) -> ApiResult<BTreeMap<String, String>> {
    if let Some(set) = config_set {
        return serde_json::from_str(set).map_err(ApiError::internal);
    }
    let defaults = checked_config(manifest, &BTreeMap::new()).unwrap_or_default();
    Ok(config
        .iter()
        .filter(|(name, value)| defaults.get(*name) != Some(value))
        .map(|(name, value)| (name.clone(), as_text(value)))
        .collect())
}
