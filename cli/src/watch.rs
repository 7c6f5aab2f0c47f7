//! `trellis watch`: the live events of the sensors, controllers, deployments, nodes and models
//! named, as they happen (the API's `/live` stream), one line each or, with --json, each event's
//! JSON.

use std::io::{BufRead, BufReader, Write};

use anyhow::Context;
use clap::Args;
use trellis_protocol::live::LiveEvent;

use crate::client::Api;
use crate::logs::streaming_get;
use crate::output::Output;

#[derive(Args)]
pub struct WatchArgs {
    /// A sensor's id: its readings (repeatable).
    #[arg(long = "sensor", value_name = "ID")]
    sensors: Vec<String>,
    /// A controller's id: its reported states and the commands it is handed (repeatable).
    #[arg(long = "controller", value_name = "ID")]
    controllers: Vec<String>,
    /// A deployment's id: its instance's changes (repeatable).
    #[arg(long = "deployment", value_name = "ID")]
    deployments: Vec<String>,
    /// A node's name or id: its heartbeats' load (repeatable; platform configurers and admins).
    #[arg(long = "node", value_name = "NODE")]
    nodes: Vec<String>,
    /// A model's name: its requests and latency, at most once a second (repeatable).
    #[arg(long = "model", value_name = "NAME")]
    models: Vec<String>,
}

pub fn watch(args: WatchArgs, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    let query: Vec<(&str, String)> = [
        ("sensors", &args.sensors),
        ("controllers", &args.controllers),
        ("deployments", &args.deployments),
        ("nodes", &args.nodes),
        ("models", &args.models),
    ]
    .into_iter()
    .filter(|(_, ids)| !ids.is_empty())
    .map(|(name, ids)| (name, ids.join(",")))
    .collect();
    if query.is_empty() {
        anyhow::bail!(
            "name what to watch: --sensor, --controller, --deployment, --node or --model"
        );
    }
    let response = streaming_get(&api, "/live", &query, Some("text/event-stream"))?;
    let (mut event, mut data) = (String::new(), String::new());
    for text in BufReader::new(response).lines() {
        let text = text.context("reading the live stream")?;
        if let Some(name) = text.strip_prefix("event:") {
            event = name.trim().to_string();
        } else if let Some(part) = text.strip_prefix("data:") {
            data.push_str(part.trim_start());
        } else if text.is_empty() {
            if event == "lagged" {
                eprintln!("(this stream fell behind: {data} event(s) skipped)");
            } else if !data.is_empty() {
                let live: LiveEvent =
                    serde_json::from_str(&data).context("reading an event of the live stream")?;
                print_event(&live, output);
            }
            event.clear();
            data.clear();
        }
    }
    Ok(())
}

/// One line for people, or the event's JSON with --json.
fn print_event(event: &LiveEvent, output: Output) {
    let line = if output.json {
        serde_json::to_string(event).unwrap_or_default()
    } else {
        describe(event)
    };
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (`| head`) ends nothing else; the next event finds it closed too.
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

fn describe(event: &LiveEvent) -> String {
    let kind = event.kind();
    match event {
        LiveEvent::Reading { sensor, value, at } => format!("{at} {kind} {sensor} {value}"),
        LiveEvent::ControllerState {
            controller,
            state,
            at,
        } => format!("{at} {kind} {controller} {state}"),
        LiveEvent::Command {
            controller,
            command,
            at,
        } => format!("{at} {kind} {controller} {command}"),
        LiveEvent::Deployment {
            deployment,
            state,
            node,
            restarts,
            last_error,
            at,
        } => {
            let on = node
                .as_deref()
                .map(|n| format!(" on {n}"))
                .unwrap_or_default();
            let error = if last_error.is_empty() {
                String::new()
            } else {
                format!(": {last_error}")
            };
            format!("{at} {kind} {deployment} {state}{on}, {restarts} restart(s){error}")
        }
        LiveEvent::Node {
            name,
            cpu,
            memory,
            temperature,
            instances,
            state,
            at,
            ..
        } => {
            let temperature = temperature
                .map(|t| format!(", {t:.1} °C"))
                .unwrap_or_default();
            format!(
                "{at} {kind} {name} {state}: CPU {cpu:.1} %, memory {:.0}/{:.0} MB{temperature}, {instances} instance(s)",
                memory.used_mb, memory.total_mb
            )
        }
        LiveEvent::Model {
            model,
            version,
            requests,
            mean_latency_ms,
            at,
        } => format!(
            "{at} {kind} {model} {version}: {requests} request(s) in the last minutes, mean {mean_latency_ms:.1} ms"
        ),
    }
}
