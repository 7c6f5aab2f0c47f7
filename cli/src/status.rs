//! `trellis status`: what is deployed, where and in what state; what each device has seen; and,
//! for configurers, the nodes.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use trellis_protocol::api::{Deployment, Device, Schedule};

use crate::client::{Api, typed};
use crate::output::Output;

/// A schedule in words: `now`, `from A to B`, or `at CRON for N min, K times`.
pub fn describe_schedule(schedule: &Schedule) -> String {
    match schedule {
        Schedule::Now => "now".into(),
        Schedule::Window { start, end } => {
            let time = |t: &chrono::DateTime<chrono::Utc>| {
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            };
            format!("from {} to {}", time(start), time(end))
        }
        Schedule::Cron {
            expression,
            duration_minutes,
            count,
        } => format!(
            "at `{expression}` for {duration_minutes} min{}",
            match count {
                Some(n) => format!(", {n} times"),
                None => String::new(),
            }
        ),
    }
}

/// The model versions a deployment runs: `digits 1.0.0, comfort 1.2.0`, or `-` for none.
pub fn describe_models(models: &BTreeMap<String, String>) -> String {
    if models.is_empty() {
        return "-".into();
    }
    models
        .iter()
        .map(|(name, version)| format!("{name} {version}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn status(output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    let answer = api.get("/deployments")?;
    if output.json {
        output.list(&answer, &[]);
        return Ok(());
    }
    let deployments: Vec<Deployment> = typed("/deployments", answer)?;
    let mut names = BTreeMap::new();
    let mut devices = Vec::new();
    for collection in ["sensors", "controllers"] {
        let listed: Vec<Device> = api.get_as(&format!("/{collection}"))?;
        for device in listed {
            devices.push(device_row(&device));
            let place = format!(
                "{}@{}/{}",
                device.name, device.location.site, device.location.room
            );
            names.insert(device.id, place);
        }
    }
    println!(
        "{} deployment(s) on {} seen as {} ({})",
        deployments.len(),
        api.session.url,
        api.session.user,
        api.session.role
    );
    let rows: Vec<Value> = deployments
        .iter()
        .map(|d| {
            let bindings: Vec<String> = d
                .bindings
                .iter()
                .map(|(role, ids)| {
                    let bound: Vec<&str> = ids
                        .iter()
                        .map(|id| names.get(id).map_or("?", String::as_str))
                        .collect();
                    format!("{role}={}", bound.join("+"))
                })
                .collect();
            let mut state = d.state.to_string();
            if d.restarts > 0 {
                state = format!("{state} ({} restarts)", d.restarts);
            }
            json!({ "id": d.id, "app": format!("{} {}", d.app, d.version),
                "models": describe_models(&d.models),
                "owner": d.owner, "state": state, "node": d.node, "detail": d.detail,
                "schedule": describe_schedule(&d.schedule), "bindings": bindings.join(" ") })
        })
        .collect();
    output.list(
        &Value::Array(rows),
        &[
            ("DEPLOYMENT", "/id"),
            ("APP", "/app"),
            ("MODELS", "/models"),
            ("OWNER", "/owner"),
            ("STATE", "/state"),
            ("NODE", "/node"),
            ("SCHEDULE", "/schedule"),
            ("BINDINGS", "/bindings"),
            ("DETAIL", "/detail"),
        ],
    );
    // What flows: each sensor's readings, each controller's reported state.
    if !devices.is_empty() {
        println!();
        output.list(
            &Value::Array(devices),
            &[
                ("DEVICE", "/name"),
                ("TYPE", "/type"),
                ("AT", "/at"),
                ("READINGS", "/readings"),
                ("STATE", "/state"),
            ],
        );
    }
    // Nodes, for those who may see them (configurers and admins).
    if let Ok(nodes) = api.get("/nodes") {
        println!();
        let rows: Vec<Value> = nodes
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| {
                let metrics = &n["report"]["metrics"];
                json!({ "name": n["name"], "state": n["state"], "last_seen": n["last_seen"],
                    "instances": n["report"]["instances"].as_array().map_or(0, Vec::len),
                    "cpu": metrics["cpu_percent"].as_f64().map(|c| format!("{c:.0}%")),
                    "memory": metrics["memory_used_mb"].as_f64().zip(metrics["memory_total_mb"].as_f64())
                        .map(|(u, t)| format!("{u:.0}/{t:.0} MB")) })
            })
            .collect();
        output.list(
            &Value::Array(rows),
            &[
                ("NODE", "/name"),
                ("STATE", "/state"),
                ("INSTANCES", "/instances"),
                ("CPU", "/cpu"),
                ("MEMORY", "/memory"),
                ("LAST SEEN", "/last_seen"),
            ],
        );
    }
    Ok(())
}

/// A sensor or controller for `trellis status`: readings seen, or the state it reported
/// (`speed=2 mode="cool"`, with how many commands it carried out).
fn device_row(device: &Device) -> Value {
    let state = device
        .state
        .as_ref()
        .and_then(Value::as_object)
        .map(|state| {
            let mut shown: Vec<String> = state
                .iter()
                .filter(|(key, _)| *key != "commands")
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            if let Some(commands) = state.get("commands") {
                shown.push(format!("({commands} commands)"));
            }
            shown.join(" ")
        });
    json!({
        "name": device.name,
        "type": device.type_name,
        "at": format!("{}/{}", device.location.site, device.location.room),
        "readings": device.readings,
        "state": state,
    })
}
