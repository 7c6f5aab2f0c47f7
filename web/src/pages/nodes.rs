//! Nodes: each with its state and what its last report said (load, memory, temperature,
//! instances), drain and undrain; and joining a new one, which registers it and shows the
//! command and systemd unit its machine needs, from the same function `trellis node join` uses.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::State;
use axum::http::header::HOST;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use trellis_protocol::api::{
    JOIN_CA_CERT_PATH, NewNode, Node, join_instructions, save_ca_cert_step,
};
use trellis_protocol::node::NodeReport;

use super::login::same_origin;
use super::shown::{error_spot, labels_text, segment};
use crate::Portal;
use crate::assets;
use crate::error::PageError;
use crate::layout;
use crate::session::csrf_token;
use crate::viewer::Viewer;

/// What the join form sends.
#[derive(Deserialize)]
pub struct JoinForm {
    csrf: String,
    name: String,
    #[serde(default)]
    labels: String,
}

/// `GET /nodes`.
pub async fn show(State(portal): State<Portal>, viewer: Viewer) -> Result<Markup, PageError> {
    let nodes: Vec<Node> = portal.api.get(&viewer.token, "/nodes").await?;
    Ok(page(&viewer, &nodes, &JoinAnswer::default()))
}

/// What the join form shows again after a refused registration.
#[derive(Default)]
struct JoinAnswer {
    name: String,
    labels: String,
    /// The API's message and the field it names (`""`: the form as a whole).
    error: Option<(String, String)>,
}

/// The most load charts the page draws: enough for a cluster at a glance, never one per machine
/// of a large fleet (the table still lists every node).
const MAX_CHARTS: usize = 12;

fn page(viewer: &Viewer, nodes: &[Node], join: &JoinAnswer) -> Markup {
    layout::page(
        viewer,
        "Nodes",
        "/nodes",
        html! {
            h1 { "Nodes" }
            @if nodes.is_empty() {
                p.muted { "No nodes yet: join one below." }
            } @else {
                div.table-wrap { table #nodes {
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "State" } th scope="col" { "Last seen" }
                        th.num scope="col" { "Instances" } th.num scope="col" { "CPU" }
                        th.num scope="col" { "Memory" } th.num scope="col" { "Temperature" }
                        th scope="col" { "Labels" } th scope="col" { "Work" }
                    } }
                    tbody { @for node in nodes { (row(node)) } }
                } }
                h2 { "Load over the last 15 minutes" }
                div.cards {
                    @for node in nodes.iter().filter(|node| node.last_seen.is_some()).take(MAX_CHARTS) {
                        section.panel {
                            h3 { (node.name) }
                            div.chart data-node-load=(node.id) {}
                        }
                    }
                }
            }
            (join_form(viewer, join))
            script defer src=(assets::url("nodes.js")) {}
        },
    )
}

fn row(node: &Node) -> Markup {
    let report: Option<NodeReport> = node
        .report
        .clone()
        .and_then(|report| serde_json::from_value(report).ok());
    let draining = matches!(node.state.as_str(), "draining" | "drained");
    let action = if draining { "undrain" } else { "drain" };
    html! {
        tr data-live-node=(node.id) {
            th scope="row" { (node.name) }
            td { span.state data-state=(node.state) data-node-state { (node.state) } }
            td data-last-seen {
                @if let Some(at) = &node.last_seen { time datetime=(at) { (at) } } @else { span.muted { "never" } }
            }
            @if let Some(report) = &report {
                td.num data-instances { (report.instances.len()) }
                td.num data-cpu { (format!("{:.1}\u{a0}%", report.metrics.cpu_percent)) }
                td.num data-memory {
                    (format!("{:.0}", report.metrics.memory_used_mb)) " of "
                    (format!("{:.0}\u{a0}MB", report.metrics.memory_total_mb))
                }
                td.num data-temperature {
                    @if let Some(celsius) = report.metrics.temperature_c { (format!("{celsius:.1}\u{a0}°C")) }
                    @else { span.muted { "not measured" } }
                }
            } @else {
                td.num data-instances { "—" } td.num data-cpu { "—" } td.num data-memory { "—" }
                td.num data-temperature { "—" }
            }
            td { (labels_text(&node.labels)) }
            td {
                form data-api={ "POST /api/v1/nodes/" (segment(&node.id)) "/" (action) } data-then="reload" {
                    button.secondary type="submit" aria-label={ (action) " " (node.name) } {
                        @if draining { "Undrain" } @else { "Drain" }
                    }
                    (error_spot(""))
                }
            }
        }
    }
}

fn join_form(viewer: &Viewer, join: &JoinAnswer) -> Markup {
    let error_at = |field: &str| -> Markup {
        html! {
            @if let Some((message, at)) = &join.error {
                @if at == field { span.error role="alert" { (message) } }
            }
        }
    };
    html! {
        section.panel #join {
            h2 { "Join a node" }
            p { "Registers the node and shows the command to start it on its machine, and the systemd unit to keep it running." }
            form.grid-form method="post" action="/nodes/join" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label {
                    "Name" input name="name" required autocomplete="off" value=(join.name)
                        aria-invalid=[join.error.as_ref().filter(|(_, at)| at == "name").map(|_| "true")];
                    (error_at("name"))
                }
                label {
                    "Labels (key=value, comma-separated, e.g. site=north)"
                    input name="labels" value=(join.labels)
                        aria-invalid=[join.error.as_ref().filter(|(_, at)| at == "labels").map(|_| "true")];
                    (error_at("labels"))
                }
                div { button type="submit" { "Join a node" } (error_at("")) }
            }
        }
    }
}

/// `key=value, key=value` as labels, or what is wrong with it.
fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                Ok((key.trim().to_string(), value.trim().to_string()))
            }
            _ => Err(format!("labels: `{pair}` should look like key=value")),
        })
        .collect()
}

/// The field an API message is about (`name: must not be empty` is about `name`).
fn field_of(message: &str) -> String {
    match message.split_once(": ") {
        Some((field, _)) if field == "name" || field == "labels" => field.to_string(),
        _ => String::new(),
    }
}

/// Where nodes reach the control plane: its public URL when one is set, else the address this
/// browser used.
fn control_plane_url(portal: &Portal, headers: &HeaderMap) -> String {
    if let Some(url) = &portal.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("127.0.0.1:7878");
    let scheme = if portal.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// `POST /nodes/join`: registers the node through the API and shows how its machine joins,
/// the token in it once. A plain form, so the instructions come from the one Rust function the
/// CLI prints too.
pub async fn join(
    State(portal): State<Portal>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<JoinForm>,
) -> Result<Response, PageError> {
    if !same_origin(&headers) || form.csrf != csrf_token(&viewer.token) {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "refused: the form did not come from this site's page (reload it and try again)".into(),
        ));
    }
    let refused = |status: StatusCode, message: String, nodes: Vec<Node>| {
        let answer = JoinAnswer {
            name: form.name.clone(),
            labels: form.labels.clone(),
            error: Some((message.clone(), field_of(&message))),
        };
        (status, page(&viewer, &nodes, &answer)).into_response()
    };
    let labels = match parse_labels(&form.labels) {
        Ok(labels) => labels,
        Err(message) => {
            let nodes: Vec<Node> = portal.api.get(&viewer.token, "/nodes").await?;
            return Ok(refused(StatusCode::BAD_REQUEST, message, nodes));
        }
    };
    let new = NewNode {
        name: form.name.trim().to_string(),
        labels,
    };
    let answer = portal.api.post(Some(&viewer.token), "/nodes", &new).await?;
    if !answer.status.is_success() {
        return match answer.error() {
            PageError::Status(status, message)
                if status.is_client_error() && status != StatusCode::FORBIDDEN =>
            {
                let nodes: Vec<Node> = portal.api.get(&viewer.token, "/nodes").await?;
                Ok(refused(status, message, nodes))
            }
            other => Err(other),
        };
    }
    let node: Node = answer.json()?;
    let url = control_plane_url(&portal, &headers);
    let mut join = join_instructions(
        &url,
        node.token.as_deref().unwrap_or_default(),
        node.bus.as_deref(),
    );
    if portal.node_ca_pem.is_some() {
        join = join.trusting_ca_cert();
    }
    Ok(layout::page(
        &viewer,
        "Node registered",
        "/nodes",
        html! {
            p { a href="/nodes" { "← Nodes" } }
            h1 { "Node " (node.name) " is registered" }
            p.notice role="status" {
                "The token in these instructions is shown only this once and will not be shown again: "
                "copy them now. (A new token can be given to the node later, which refuses the old one.)"
            }
            h2 { "On its machine, as root, with the trellis binary in /usr/local/bin" }
            p { "Make the node's user and its token file, " code { (join.env_path) } ", readable by root only:" }
            pre.secret #join-setup { (join.setup) }
            @if let Some(pem) = &portal.node_ca_pem {
                p { "Save the control plane's CA certificate, which the node trusts it by, as "
                    code { (JOIN_CA_CERT_PATH) } ":" }
                pre #join-ca { (save_ca_cert_step(pem)) }
            }
            p { "Then run it by hand:" }
            pre #join-command { (join.command) }
            h2 { "Or as a service: " code { (join.unit_path) } }
            pre #join-unit { (join.unit) }
            p { "then: " code #join-enable { (join.enable) } }
            p { "The node shows as " strong { "up" } " here once its daemon reports." }
        },
    )
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_pairs_and_a_pair_without_a_value_is_named() {
        let labels = parse_labels(" site=north, rack = 4 ,").unwrap();
        assert_eq!(labels.get("site").map(String::as_str), Some("north"));
        assert_eq!(labels.get("rack").map(String::as_str), Some("4"));
        assert!(parse_labels("").unwrap().is_empty());
        let error = parse_labels("site=north, gpu").unwrap_err();
        assert!(
            error.starts_with("labels:") && error.contains("`gpu`"),
            "{error}"
        );
    }
}
