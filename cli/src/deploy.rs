//! `trellis deploy` and `trellis status`: an end user's app bound to instances chosen by name or
//! by location, with parameters and a schedule; and what is deployed.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};

use crate::client::Api;
use crate::output::Output;
use crate::registry::{parse_pair, query};

#[derive(clap::Args)]
pub struct DeployArgs {
    /// The app's name.
    app: String,
    /// The app version; default the newest.
    #[arg(long)]
    version: Option<String>,
    /// Bind a role to an instance by name or id: `temperature=north-temperature` (repeatable;
    /// repeat a role to bind several instances).
    #[arg(long = "bind", value_parser = parse_pair)]
    bind: Vec<(String, String)>,
    /// Bind every role not bound with --bind to the instances of its type at this location:
    /// `site=north`, `site=north,room=room-1`.
    #[arg(long)]
    at: Option<String>,
    /// Set a parameter: `fan-above=25` (repeatable).
    #[arg(long = "set", value_parser = parse_pair)]
    set: Vec<(String, String)>,
    /// Run only on nodes with this label, e.g. `site=north` (repeatable).
    #[arg(long = "node-label", value_parser = parse_pair)]
    node_labels: Vec<(String, String)>,
    /// Run in a window from this time (RFC 3339, e.g. 2026-12-01T08:00:00Z) ...
    #[arg(long, requires = "end", conflicts_with = "cron")]
    start: Option<String>,
    /// ... until this time.
    #[arg(long, requires = "start")]
    end: Option<String>,
    /// Run at each time this cron expression names (five fields, UTC) ...
    #[arg(long, requires = "duration_minutes")]
    cron: Option<String>,
    /// ... for this many minutes each time ...
    #[arg(long)]
    duration_minutes: Option<u32>,
    /// ... at most this many times.
    #[arg(long, requires = "cron")]
    count: Option<u32>,
}

pub fn deploy(args: DeployArgs, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    let versions = api.get(&format!("/apps/{}", args.app))?;
    let app = match &args.version {
        None => versions.get(0).cloned(),
        Some(v) => versions
            .as_array()
            .and_then(|all| all.iter().find(|a| a["version"] == v.as_str()).cloned()),
    }
    .with_context(|| format!("app {} has no such version", args.app))?;

    let location = match &args.at {
        Some(at) => at
            .split(',')
            .map(parse_pair)
            .collect::<Result<Vec<_>, _>>()
            .map_err(anyhow::Error::msg)?,
        None => Vec::new(),
    };
    let mut bindings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (collection, roles) in [
        ("sensors", &app["sensors"]),
        ("controllers", &app["controllers"]),
    ] {
        for (role, spec) in roles.as_object().into_iter().flatten() {
            let type_name = spec["type"].as_str().unwrap_or_default().to_string();
            let of_type = api.get(&format!(
                "/{collection}{}",
                query(&[("type", Some(type_name.clone()))])
            ))?;
            let of_type = of_type.as_array().cloned().unwrap_or_default();
            let named: Vec<&String> = args
                .bind
                .iter()
                .filter(|(r, _)| r == role)
                .map(|(_, i)| i)
                .collect();
            let chosen: Vec<String> = if !named.is_empty() {
                named
                    .into_iter()
                    .map(|wanted| {
                        of_type
                            .iter()
                            .find(|d| d["name"] == wanted.as_str() || d["id"] == wanted.as_str())
                            .map(|d| d["id"].as_str().unwrap_or_default().to_string())
                            .with_context(|| {
                                format!("role `{role}`: no `{type_name}` instance called {wanted}")
                            })
                    })
                    .collect::<anyhow::Result<_>>()?
            } else if !location.is_empty() {
                let max = spec["max"].as_u64().unwrap_or(1) as usize;
                of_type
                    .iter()
                    .filter(|d| {
                        location
                            .iter()
                            .all(|(k, v)| d["location"][k.as_str()] == v.as_str())
                    })
                    .take(max)
                    .map(|d| d["id"].as_str().unwrap_or_default().to_string())
                    .collect()
            } else {
                bail!(
                    "role `{role}` needs a `{type_name}` instance: bind it with --bind {role}=NAME or choose a location with --at site=NAME"
                );
            };
            bindings.insert(role.clone(), chosen);
        }
    }
    let schedule = match (&args.start, &args.end, &args.cron) {
        (Some(start), Some(end), _) => json!({ "kind": "window", "start": start, "end": end }),
        (_, _, Some(cron)) => json!({ "kind": "cron", "expression": cron,
            "duration-minutes": args.duration_minutes, "count": args.count }),
        _ => json!({ "kind": "now" }),
    };
    let config: Map<String, Value> = args
        .set
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let node_labels: Map<String, Value> = args
        .node_labels
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let body = json!({ "app": args.app, "version": app["version"], "bindings": bindings,
        "config": config, "schedule": schedule, "node_labels": node_labels });
    let deployment = api.post("/deployments", &body)?;
    output.done(
        &deployment,
        format!(
            "deployed {} {} as {} ({})",
            args.app,
            deployment["version"].as_str().unwrap_or("?"),
            deployment["id"].as_str().unwrap_or("?"),
            describe_schedule(&deployment["schedule"])
        ),
    );
    Ok(())
}

fn describe_schedule(schedule: &Value) -> String {
    match schedule["kind"].as_str() {
        Some("window") => format!(
            "from {} to {}",
            schedule["start"].as_str().unwrap_or("?"),
            schedule["end"].as_str().unwrap_or("?")
        ),
        Some("cron") => format!(
            "at `{}` for {} min{}",
            schedule["expression"].as_str().unwrap_or("?"),
            schedule["duration-minutes"],
            match schedule["count"].as_u64() {
                Some(n) => format!(", {n} times"),
                None => String::new(),
            }
        ),
        _ => "now".into(),
    }
}

pub fn status(output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    let deployments = api.get("/deployments")?;
    if output.json {
        output.list(&deployments, &[]);
        return Ok(());
    }
    let mut names = BTreeMap::new();
    let mut devices = Vec::new();
    for collection in ["sensors", "controllers"] {
        for device in api
            .get(&format!("/{collection}"))?
            .as_array()
            .into_iter()
            .flatten()
        {
            devices.push(device_row(device));
            let place = format!(
                "{}@{}/{}",
                device["name"].as_str().unwrap_or("?"),
                device["location"]["site"].as_str().unwrap_or("?"),
                device["location"]["room"].as_str().unwrap_or("?")
            );
            names.insert(device["id"].as_str().unwrap_or_default().to_string(), place);
        }
    }
    println!(
        "{} deployment(s) on {} seen as {} ({})",
        deployments.as_array().map_or(0, Vec::len),
        api.session.url,
        api.session.user,
        api.session.role
    );
    let rows: Vec<Value> = deployments
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let bindings: Vec<String> = d["bindings"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(role, ids)| {
                    let bound: Vec<&str> = ids
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|id| names.get(id.as_str().unwrap_or_default()).map_or("?", String::as_str))
                        .collect();
                    format!("{role}={}", bound.join("+"))
                })
                .collect();
            let mut state = d["state"].as_str().unwrap_or("?").to_string();
            if let Some(restarts) = d["restarts"].as_u64().filter(|r| *r > 0) {
                state = format!("{state} ({restarts} restarts)");
            }
            json!({ "id": d["id"], "app": format!("{} {}", d["app"].as_str().unwrap_or("?"), d["version"].as_str().unwrap_or("?")),
                "owner": d["owner"], "state": state, "node": d["node"], "detail": d["detail"],
                "schedule": describe_schedule(&d["schedule"]), "bindings": bindings.join(" ") })
        })
        .collect();
    output.list(
        &Value::Array(rows),
        &[
            ("DEPLOYMENT", "/id"),
            ("APP", "/app"),
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
fn device_row(device: &Value) -> Value {
    let state = device["state"].as_object().map(|state| {
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
        "name": device["name"],
        "type": device["type"],
        "at": format!(
            "{}/{}",
            device["location"]["site"].as_str().unwrap_or("?"),
            device["location"]["room"].as_str().unwrap_or("?")
        ),
        "readings": device["readings"],
        "state": state,
    })
}
