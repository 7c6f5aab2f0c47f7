//! `GET /live`: one server-sent-event stream per page, carrying only the events of the ids on
//! screen (sensors, controllers, deployments, nodes, models), and only those the caller may see:
//! an end user their own deployments and the devices they may use; nodes for configurers.
//! Each event is named by its type (`event: reading`, ...) with the event as JSON data.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::broadcast;
use trellis_protocol::live::LiveEvent;
use utoipa::IntoParams;

use crate::auth::{Caller, Role};
use crate::db;
use crate::db::devices::DeviceKind;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The most ids one stream may ask for: a page's rows on screen, not a whole fleet.
pub const MAX_IDS: usize = 500;

/// What to follow: comma-separated ids (nodes by id or name, models by name).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveParams {
    /// Sensor ids: their readings.
    pub sensors: Option<String>,
    /// Controller ids: their reported states and the commands handed to them.
    pub controllers: Option<String>,
    /// Deployment ids: their instances' changes.
    pub deployments: Option<String>,
    /// Node ids or names: their heartbeats' load (platform configurers and admins).
    pub nodes: Option<String>,
    /// Model names: their recent requests and latency.
    pub models: Option<String>,
}

/// The ids a stream passes events for.
#[derive(Default)]
struct Wanted {
    sensors: HashSet<String>,
    controllers: HashSet<String>,
    deployments: HashSet<String>,
    nodes: HashSet<String>,
    models: HashSet<String>,
}

impl Wanted {
    fn matches(&self, event: &LiveEvent) -> bool {
        match event {
            LiveEvent::Reading { sensor, .. } => self.sensors.contains(sensor),
            LiveEvent::ControllerState { controller, .. }
            | LiveEvent::Command { controller, .. } => self.controllers.contains(controller),
            LiveEvent::Deployment { deployment, .. } => self.deployments.contains(deployment),
            LiveEvent::Node { node, .. } => self.nodes.contains(node),
            LiveEvent::Model { model, .. } => self.models.contains(model),
        }
    }
}

fn unprocessable(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// The ids of a comma-separated list, without blanks or repeats.
fn ids(list: &Option<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    list.iter()
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .filter(|id| !id.is_empty() && seen.insert(id.to_string()))
        .map(str::to_string)
        .collect()
}

/// Live events for the ids asked for, as server-sent events; a stream too slow to keep up gets
/// an `event: lagged` with how many events it missed.
#[utoipa::path(get, path = "/live", tag = "live", security(("token" = [])), params(LiveParams),
    responses(
        (status = 200, description = "Server-sent events named `reading`, `controller-state`, \
            `command`, `deployment`, `node` or `model`, each with its JSON data",
            content_type = "text/event-stream", body = LiveEvent),
        (status = 401, body = ErrorBody),
        (status = 403, description = "An id the caller may not watch, named", body = ErrorBody),
        (status = 422, description = "No ids, too many, or an unknown one, named", body = ErrorBody)))]
pub async fn stream(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<LiveParams>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(params) = query.map_err(|e| unprocessable(format!("query: {}", e.body_text())))?;
    let wanted = wanted(&state, &caller, &params).await?;
    let live = Live {
        receiver: state.live.subscribe(),
        wanted,
    };
    let events = futures_util::stream::unfold(live, |mut live| async move {
        let event = live.next().await?;
        Some((Ok::<_, Infallible>(event), live))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// The ids `params` name, each checked to exist and to be the caller's to watch.
async fn wanted(state: &AppState, caller: &Caller, params: &LiveParams) -> ApiResult<Wanted> {
    let lists = [
        ("sensors", ids(&params.sensors)),
        ("controllers", ids(&params.controllers)),
        ("deployments", ids(&params.deployments)),
        ("nodes", ids(&params.nodes)),
        ("models", ids(&params.models)),
    ];
    let total: usize = lists.iter().map(|(_, ids)| ids.len()).sum();
    if total == 0 {
        return Err(unprocessable(
            "name what to follow: sensors, controllers, deployments, nodes or models (comma-separated ids)"
                .into(),
        ));
    }
    if total > MAX_IDS {
        return Err(unprocessable(format!(
            "{total} ids asked for; one stream follows at most {MAX_IDS} (the rows on screen)"
        )));
    }
    let [sensors, controllers, deployments, nodes, models] = lists.map(|(_, ids)| ids);
    let mut wanted = Wanted::default();
    for (kind, ids, into) in [
        (DeviceKind::Sensor, sensors, &mut wanted.sensors),
        (DeviceKind::Controller, controllers, &mut wanted.controllers),
    ] {
        for id in ids {
            let row = db::devices::find(&state.db, kind, &id).await?;
            let what = kind.as_str();
            let device = row
                .ok_or_else(|| unprocessable(format!("{what}s: there is no {what} `{id}`")))?
                .into_api()?;
            let usable = caller.role != Role::EndUser
                || crate::device_access::granted(&device.users, &caller.name);
            if !usable {
                return Err(ApiError::forbidden(format!(
                    "{what}s: {what} `{}` ({id}) is reserved for other users",
                    device.name
                )));
            }
            into.insert(id);
        }
    }
    for id in deployments {
        // Another user's deployment is as missing as one that never was, as everywhere.
        let row = db::deployments::find(&state.db, &id).await?;
        super::deployments::only_theirs(caller, &id, row)
            .map_err(|_| unprocessable(format!("deployments: there is no deployment `{id}`")))?;
        wanted.deployments.insert(id);
    }
    if !nodes.is_empty() && !matches!(caller.role, Role::Admin | Role::PlatformConfigurer) {
        return Err(ApiError::forbidden(format!(
            "nodes: a {} may not watch nodes",
            caller.role.as_str()
        )));
    }
    for id in nodes {
        let node = db::nodes::find(&state.db, &id)
            .await?
            .ok_or_else(|| unprocessable(format!("nodes: there is no node `{id}`")))?;
        wanted.nodes.insert(node.id);
    }
    for name in models {
        if db::models::versions(&state.db, &name).await?.is_empty() {
            return Err(unprocessable(format!("models: there is no model `{name}`")));
        }
        wanted.models.insert(name);
    }
    Ok(wanted)
}

/// One stream's place in the hub's events.
struct Live {
    receiver: broadcast::Receiver<Arc<LiveEvent>>,
    wanted: Wanted,
}

impl Live {
    async fn next(&mut self) -> Option<Event> {
        loop {
            match self.receiver.recv().await {
                Ok(event) if self.wanted.matches(&event) => {
                    return Some(
                        Event::default()
                            .event(event.kind())
                            .json_data(&*event)
                            .unwrap_or_else(|_| Event::default().comment("an unwritable event")),
                    );
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    return Some(Event::default().event("lagged").data(missed.to_string()));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
