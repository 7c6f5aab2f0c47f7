//! The reconciler: compares desired state (deployments not stopped by their owner whose schedule
//! is active now) with actual state (live nodes and what runs where) and assigns, moves and
//! stops instances until they match. Each round also rolls back new versions that fail soon
//! after their upgrade. Everything it decides is written to the database, so a restarted control plane picks
//! up where it left off, and nodes only ever receive their whole assignment set.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::AnyPool;
use trellis_host::manifest::AppManifest;
use trellis_protocol::api::{RunState, Schedule};
use trellis_protocol::node::NodeReport;

use crate::db;
use crate::ids::now_ms;
use crate::logs::Event;
use crate::placement::{self, Needs, NodeLoad};
use crate::routes::STOPPED;
use crate::schedule::ScheduleRules;
use crate::state::AppState;
use trellis_protocol::logs::LogLevel;

/// Runs [`reconcile`] every `reconcile_interval` until the process ends.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(state.settings.reconcile_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match crate::lifecycle::roll_back_failing_upgrades(&state).await {
            Ok(_) => {}
            Err(e) => tracing::warn!("rolling back failing upgrades: {}", e.message),
        }
        match reconcile(&state).await {
            Ok(true) => {
                state.assignments.send_modify(|generation| *generation += 1);
            }
            Ok(false) => {}
            Err(e) => tracing::warn!("reconciling: {e}"),
        }
    }
}

struct Node {
    id: String,
    state: String,
    live: bool,
    /// Asked to drain: placement does not choose it, and its instances move off it.
    draining: bool,
    /// Silent for longer than its lease and the margin after it: it has stopped its instances
    /// (fencing), so they may run elsewhere. A node that is down but not yet past this keeps
    /// them, placed nowhere else.
    lease_over: bool,
    load: NodeLoad,
}

struct Instance {
    node: Option<String>,
    state: String,
    detail: String,
}

/// One round; true if any assignment changed.
pub async fn reconcile(state: &AppState) -> sqlx::Result<bool> {
    let db = &state.db;
    let now = now_ms();
    let horizon = state.settings.lease().as_millis() as i64;
    let replace_after = state.settings.replace_after().as_millis() as i64;

    // Silence is counted from when this control plane started, so a restart does not declare
    // every node dead before it had the chance to report.
    let mut nodes = load_nodes(db, now, (horizon, replace_after), state.started_at).await?;
    for node in &nodes {
        let wanted = match (node.live, node.state.as_str()) {
            (true, _) => "up",
            (false, "registered") => "registered",
            (false, _) => "down",
        };
        if node.state != wanted {
            tracing::info!("node {} is {wanted}", node.load.name);
            db::nodes::set_state(db, &node.id, wanted).await?;
            if node.state == "up" && wanted == "down" {
                let down = crate::notify::platform::node_down(&node.load.name, horizon);
                state.notifier.raise(down);
            }
            // A node comes up by its heartbeat, which records that; here it can only go down.
            if wanted == "down" {
                let text = format!(
                    "node {} is down: it missed {} heartbeats",
                    node.load.name, state.settings.missed_heartbeats
                );
                let event = Event {
                    kind: "node-down",
                    level: LogLevel::Warn,
                    node: Some(&node.load.name),
                    deployment: None,
                    app: None,
                    text,
                };
                state.logs.event(event).await;
            }
        }
    }
    let mut instances = load_instances(db).await?;
    for instance in instances.values() {
        if let Some(node) = nodes
            .iter_mut()
            .find(|n| Some(&n.id) == instance.node.as_ref())
        {
            node.load.instances += 1;
        }
    }
    let live: Vec<usize> = (0..nodes.len())
        .filter(|&i| nodes[i].live && !nodes[i].draining)
        .collect();

    let now_utc = DateTime::<Utc>::from_timestamp_millis(now).unwrap_or_default();
    let mut changed = false;
    for deployment in db::deployments::desired(db).await? {
        let db::deployments::DesiredRow {
            id,
            schedule,
            created_at,
            manifest,
            node_labels,
            run_state,
        } = deployment;
        let stopped = run_state == RunState::Stopped.as_str();
        let desired = !stopped
            && serde_json::from_str::<Schedule>(&schedule).is_ok_and(|s| {
                s.is_active(
                    DateTime::<Utc>::from_timestamp_millis(created_at).unwrap_or_default(),
                    now_utc,
                )
            });
        let current = instances.remove(&id);
        let live_node = current
            .as_ref()
            .and_then(|i| i.node.as_ref())
            .and_then(|n| nodes.iter().find(|node| &node.id == n && node.live));
        let on_draining_node = live_node.is_some_and(|node| node.draining);
        // Its node went silent but may still run it until its lease is over.
        let on_fencing_node = current
            .as_ref()
            .and_then(|i| i.node.as_ref())
            .and_then(|n| nodes.iter().find(|node| &node.id == n))
            .is_some_and(|node| !node.live && !node.lease_over);
        let (node, next_state, detail) = if stopped {
            (None, "stopped", STOPPED.to_string())
        } else if !desired {
            (None, "stopped", "outside its schedule".to_string())
        } else if (live_node.is_some() && !on_draining_node) || on_fencing_node {
            continue;
        } else {
            let needs = needs(&manifest, node_labels.as_deref());
            let loads: Vec<NodeLoad> = live.iter().map(|&i| nodes[i].load.clone()).collect();
            match placement::choose(&loads, &needs) {
                Some(choice) => {
                    let node = &mut nodes[live[choice]];
                    node.load.instances += 1;
                    let detail = match current.as_ref().and_then(|i| i.node.as_ref()) {
                        Some(_) if on_draining_node => "moved off a draining node".to_string(),
                        Some(_) => "moved from a node that stopped reporting".to_string(),
                        None => String::new(),
                    };
                    (Some(node.id.clone()), "placed", detail)
                }
                // A draining node keeps what it runs until another node can take it.
                None if on_draining_node => continue,
                None => (
                    None,
                    "pending",
                    "no live node can take it (memory, labels or temperature)".to_string(),
                ),
            }
        };
        // Unplaced and already saying why: nothing to write.
        let unchanged = current.as_ref().is_some_and(|i| {
            i.node.is_none() && node.is_none() && i.state == next_state && i.detail == detail
        });
        if unchanged {
            continue;
        }
        if current.as_ref().and_then(|i| i.node.as_ref()) != node.as_ref() {
            changed = true;
        }
        let node = node.as_deref();
        let name_of = |id: &str| {
            nodes
                .iter()
                .find(|n| n.id == id)
                .map_or(id.to_string(), |n| n.load.name.clone())
        };
        let was = current.as_ref().and_then(|i| i.node.as_deref());
        let told = match (was, node) {
            (None, Some(to)) => Some(("placed", format!("placed on {}", name_of(to)))),
            (Some(from), Some(to)) if from != to => Some((
                "moved",
                format!("moved from {} to {}: {detail}", name_of(from), name_of(to)),
            )),
            (Some(from), None) if next_state == "stopped" => {
                Some(("stopped", format!("stopped on {}: {detail}", name_of(from))))
            }
            _ => None,
        };
        if let Some((kind, text)) = told {
            state
                .logs
                .event(Event {
                    kind,
                    level: LogLevel::Info,
                    node: node.or(was).map(name_of).as_deref(),
                    deployment: Some(&id),
                    app: None,
                    text,
                })
                .await;
        }
        if current.is_none() {
            db::instances::insert(db, &id, node, next_state, &detail, now).await?;
        } else {
            db::instances::reassign(db, &id, node, next_state, &detail, now).await?;
        }
        crate::live::deployment_changed(state, &id).await;
    }
    // What is left has no deployment to run any more (deleted while this round ran).
    for (id, instance) in instances {
        db::instances::remove(db, &id).await?;
        crate::live::deployment_changed(state, &id).await;
        changed |= instance.node.is_some();
    }
    Ok(changed)
}

/// The nodes as their heartbeats show them: live if silent for at most `horizon` ms, their lease
/// over if silent for more than `replace_after` ms.
async fn load_nodes(
    db: &AnyPool,
    now: i64,
    (horizon, replace_after): (i64, i64),
    started: i64,
) -> sqlx::Result<Vec<Node>> {
    Ok(db::nodes::list(db)
        .await?
        .into_iter()
        .map(|row| {
            let report: NodeReport = row
                .report
                .and_then(|r| serde_json::from_str(&r).ok())
                .unwrap_or_default();
            let metrics = report.metrics;
            Node {
                draining: row.drain_requested_at.is_some(),
                id: row.id,
                state: row.state,
                live: row
                    .last_seen
                    .is_some_and(|seen| now - seen.max(started) <= horizon),
                lease_over: row
                    .last_seen
                    .is_none_or(|seen| now - seen.max(started) > replace_after),
                load: NodeLoad {
                    name: row.name,
                    labels: serde_json::from_str(&row.labels).unwrap_or_default(),
                    cpu_percent: metrics.cpu_percent,
                    memory_free_mb: metrics.memory_total_mb - metrics.memory_used_mb,
                    memory_total_mb: metrics.memory_total_mb,
                    temperature_c: metrics.temperature_c,
                    performance: metrics.performance,
                    instances: 0,
                },
            }
        })
        .collect())
}

async fn load_instances(db: &AnyPool) -> sqlx::Result<HashMap<String, Instance>> {
    Ok(db::instances::list(db)
        .await?
        .into_iter()
        .map(|row| {
            let instance = Instance {
                node: row.node_id,
                state: row.state,
                detail: row.detail,
            };
            (row.deployment_id, instance)
        })
        .collect())
}

/// What an instance needs of its node: memory from the app's manifest, labels from the
/// deployment.
fn needs(manifest: &str, node_labels: Option<&str>) -> Needs {
    let manifest = AppManifest::parse(manifest).ok();
    Needs {
        memory_mb: manifest
            .as_ref()
            .and_then(|m| m.resources.memory_mb)
            .map_or(0.0, f64::from),
        labels: node_labels
            .and_then(|labels| serde_json::from_str(labels).ok())
            .unwrap_or_default(),
    }
}
