//! `trellis deployment ...`: one deployment's life after `trellis deploy`: list and show, stop
//! and start, change its settings, upgrade and roll back its app version, delete it, and read
//! its history.

use anyhow::Context;
use serde_json::{Value, json};
use trellis_protocol::api::{
    AppVersion, Deployment, DeploymentChanges, DeploymentEvent, EventKind, Rollback, Upgrade,
};

use crate::client::{Api, typed};
use crate::deploy::SettingsArgs;
use crate::output::Output;
use crate::status::describe_schedule;

#[derive(clap::Subcommand)]
pub enum DeploymentCommand {
    /// List deployments (an end user's own; everyone's for others).
    List,
    /// One deployment: its state, node, version, settings and last error.
    Show { id: String },
    /// Stop it: it keeps its settings but does not run until started.
    Stop { id: String },
    /// Start a stopped deployment.
    Start { id: String },
    /// Delete (undeploy) it: its node stops it; its history stays readable.
    Delete { id: String },
    /// Change its parameters, bindings, node labels or schedule (the flags `trellis deploy`
    /// takes; what is not given keeps its value).
    Set {
        id: String,
        #[command(flatten)]
        settings: SettingsArgs,
        /// Run from now on, instead of in a window or on a cron schedule.
        #[arg(long, conflicts_with_all = ["start", "cron"])]
        now: bool,
        /// Run on any node (drops the labels it asked for).
        #[arg(long, conflicts_with = "node_labels")]
        any_node: bool,
    },
    /// What happened to it: who did what, when, from what to what.
    History { id: String },
    /// Run another version of its app.
    Upgrade {
        id: String,
        /// The version to run.
        version: String,
    },
    /// Go back to the version it ran before.
    Rollback {
        id: String,
        /// Why, for its history.
        #[arg(long)]
        reason: Option<String>,
    },
}

pub fn deployment(command: DeploymentCommand, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    let path = |id: &str, tail: &str| format!("/deployments/{id}{tail}");
    match command {
        DeploymentCommand::List => {
            let answer = api.get("/deployments")?;
            let deployments: Vec<Deployment> = typed("/deployments", answer.clone())?;
            if output.json {
                output.list(&answer, &[]);
                return Ok(());
            }
            let rows: Vec<Value> = deployments.iter().map(row).collect();
            output.list(
                &Value::Array(rows),
                &[
                    ("DEPLOYMENT", "/id"),
                    ("APP", "/app"),
                    ("VERSION", "/version"),
                    ("OWNER", "/owner"),
                    ("STATE", "/state"),
                    ("NODE", "/node"),
                    ("DETAIL", "/detail"),
                ],
            );
        }
        DeploymentCommand::Show { id } => {
            let answer = api.get(&path(&id, ""))?;
            show(&answer, output)?;
        }
        DeploymentCommand::Stop { id } => {
            let answer = api.post(&path(&id, "/stop"), &json!({}))?;
            output.done(&answer, format!("stopped {id}"));
        }
        DeploymentCommand::Start { id } => {
            let answer = api.post(&path(&id, "/start"), &json!({}))?;
            output.done(&answer, format!("started {id}; the reconciler places it"));
        }
        DeploymentCommand::Delete { id } => {
            api.delete(&path(&id, ""))?;
            output.done(&json!({ "deleted": id }), format!("deleted {id}"));
        }
        DeploymentCommand::Set {
            id,
            settings,
            now,
            any_node,
        } => {
            let current: Deployment = api.get_as(&path(&id, ""))?;
            let versions: Vec<AppVersion> = api.get_as(&format!("/apps/{}", current.app))?;
            let app = versions
                .into_iter()
                .find(|a| a.version == current.version)
                .with_context(|| format!("{} {} is gone", current.app, current.version))?;
            let bindings = settings.bindings(&api, &app, false)?;
            let schedule = match settings.schedule()? {
                Some(schedule) => Some(schedule),
                None => now.then(Default::default),
            };
            let changes = DeploymentChanges {
                config: (!settings.set.is_empty()).then(|| settings.set.iter().cloned().collect()),
                schedule,
                bindings: (!bindings.is_empty()).then_some(bindings),
                node_labels: if any_node {
                    Some(Default::default())
                } else {
                    (!settings.node_labels.is_empty())
                        .then(|| settings.node_labels.iter().cloned().collect())
                },
            };
            let answer = api.patch(&path(&id, ""), &changes)?;
            let history: Vec<DeploymentEvent> = api.get_as(&path(&id, "/history"))?;
            let last = history.last().filter(|e| e.kind == EventKind::Changed);
            let said = match last {
                Some(event) if !event.changes.is_empty() => event
                    .changes
                    .iter()
                    .map(|c| format!("{}: {} → {}", c.field, c.from, c.to))
                    .collect::<Vec<_>>()
                    .join("; "),
                _ => "nothing changed".into(),
            };
            output.done(&answer, format!("{id}: {said}"));
        }
        DeploymentCommand::History { id } => {
            let answer = api.get(&path(&id, "/history"))?;
            let events: Vec<DeploymentEvent> = typed("/history", answer.clone())?;
            if output.json {
                output.list(&answer, &[]);
                return Ok(());
            }
            let rows: Vec<Value> = events.iter().map(event_row).collect();
            output.list(
                &Value::Array(rows),
                &[
                    ("AT", "/at"),
                    ("WHO", "/actor"),
                    ("WHAT", "/kind"),
                    ("VERSION", "/version"),
                    ("DETAIL", "/detail"),
                ],
            );
        }
        DeploymentCommand::Upgrade { id, version } => {
            let before: Deployment = api.get_as(&path(&id, ""))?;
            let answer = api.post(&path(&id, "/upgrade"), &Upgrade { version })?;
            let after: Deployment = typed("/upgrade", answer.clone())?;
            output.done(
                &answer,
                format!(
                    "upgraded {id} from {} to {} (rolled back by itself if it fails soon)",
                    before.version, after.version
                ),
            );
        }
        DeploymentCommand::Rollback { id, reason } => {
            let before: Deployment = api.get_as(&path(&id, ""))?;
            let answer = api.post(&path(&id, "/rollback"), &Rollback { reason })?;
            let after: Deployment = typed("/rollback", answer.clone())?;
            output.done(
                &answer,
                format!(
                    "rolled {id} back from {} to {}",
                    before.version, after.version
                ),
            );
        }
    }
    Ok(())
}

/// A deployment as a row of `list`.
fn row(d: &Deployment) -> Value {
    let mut state = d.state.to_string();
    if d.restarts > 0 {
        state = format!("{state} ({} restarts)", d.restarts);
    }
    json!({ "id": d.id, "app": d.app, "version": d.version, "owner": d.owner, "state": state,
        "node": d.node, "detail": d.detail })
}

/// `show`: one deployment, field by field.
fn show(answer: &Value, output: Output) -> anyhow::Result<()> {
    if output.json {
        output.done(answer, String::new());
        return Ok(());
    }
    let d: Deployment = typed("/deployments", answer.clone())?;
    let bindings: Vec<String> = d
        .bindings
        .iter()
        .map(|(role, ids)| format!("{role}={}", ids.join("+")))
        .collect();
    let config: Vec<String> = d.config.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let labels: Vec<String> = d
        .node_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let lines = [
        ("deployment", d.id.clone()),
        ("app", format!("{} {}", d.app, d.version)),
        ("owner", d.owner.clone()),
        ("wanted", d.run_state.as_str().to_string()),
        ("state", format!("{} ({} restarts)", d.state, d.restarts)),
        ("node", d.node.clone().unwrap_or_else(|| "-".into())),
        (
            "last error",
            if d.detail.is_empty() {
                "-".into()
            } else {
                d.detail.clone()
            },
        ),
        ("schedule", describe_schedule(&d.schedule)),
        ("bindings", bindings.join(" ")),
        ("parameters", config.join(" ")),
        ("node labels", labels.join(" ")),
        ("created", d.created_at.clone()),
    ];
    for (name, value) in lines {
        println!("{name:<12} {value}");
    }
    Ok(())
}

/// A history entry as a row of `history`: what changed, from what to what, and why.
fn event_row(e: &DeploymentEvent) -> Value {
    let mut detail: Vec<String> = e
        .changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.field, c.from, c.to))
        .collect();
    if let Some(from) = &e.from_version {
        detail.insert(0, format!("from {from}"));
    }
    if !e.reason.is_empty() {
        detail.push(format!("because {}", e.reason));
    }
    json!({ "at": e.at, "actor": e.actor, "kind": e.kind.as_str(), "version": e.version,
        "detail": detail.join("; ") })
}
