//! Deployments: the viewer's own for an end user (the API decides whose each role sees), with
//! state, node, restarts and last error updated live, and stop / start / delete where the API
//! lets the viewer; one deployment's bindings, settings, history and recent log lines.

use axum::extract::{Path, State};
use maud::{Markup, html};
use trellis_protocol::api::{Deployment, DeploymentEvent, Device, Role, RunState, Schedule};
use trellis_protocol::logs::LogPage;

use crate::error::PageError;
use crate::pages::catalogue::encode;
use crate::viewer::Viewer;
use crate::{Portal, assets, layout};

/// An instance bound to a role: its id, and the instance while it is registered.
type Bound<'a> = (&'a String, Option<Device>);

/// Log lines the detail shows.
const RECENT_LINES: u32 = 20;

/// When a deployment runs, in words, with times the viewer's script shows in their zone.
fn schedule(schedule: &Schedule) -> Markup {
    html! {
        @match schedule {
            Schedule::Now => { "now, until stopped" }
            Schedule::Window { start, end } => {
                "from " time datetime=(start.to_rfc3339()) { (start.to_rfc3339()) }
                " until " time datetime=(end.to_rfc3339()) { (end.to_rfc3339()) }
            }
            Schedule::Cron { expression, duration_minutes, count } => {
                "at " code { (expression) } " (UTC) for " (duration_minutes) " min"
                @if let Some(count) = count { ", " (count) " times" }
            }
        }
    }
}

/// Stop or start, and delete, for a viewer whose role the API lets change deployments (the
/// API still checks each).
fn actions(viewer: &Viewer, deployment: &Deployment) -> Markup {
    let base = format!("/api/v1/deployments/{}", encode(&deployment.id));
    html! {
        @if viewer.is(&[Role::EndUser]) {
            div.actions {
                @if deployment.run_state == RunState::Running {
                    form data-api=(format!("POST {base}/stop")) data-then="reload" {
                        button.secondary type="submit" aria-label=(format!("Stop {}", deployment.id)) { "Stop" }
                        span.error data-error-for="" {}
                    }
                } @else {
                    form data-api=(format!("POST {base}/start")) data-then="reload" {
                        button.secondary type="submit" aria-label=(format!("Start {}", deployment.id)) { "Start" }
                        span.error data-error-for="" {}
                    }
                }
                form data-api=(format!("DELETE {base}")) data-then="go:/deployments"
                    data-confirm=(format!("Delete {} ({})? It stops and is removed; its history stays readable.", deployment.id, deployment.app)) {
                    button.danger type="submit" aria-label=(format!("Delete {}", deployment.id)) { "Delete" }
                    span.error data-error-for="" {}
                }
            }
        }
    }
}

/// `GET /deployments`.
pub async fn list(State(portal): State<Portal>, viewer: Viewer) -> Result<Markup, PageError> {
    let deployments: Vec<Deployment> = portal.api.get(&viewer.token, "/deployments").await?;
    let title = if viewer.role == Role::EndUser {
        "My deployments"
    } else {
        "Deployments"
    };
    Ok(layout::page(
        &viewer,
        title,
        "/deployments",
        html! {
            script defer src=(assets::url("deploy.js")) {}
            h1 { (title) }
            @if viewer.is(&[Role::EndUser]) {
                p { a href="/catalogue" { "Deploy an app" } }
            }
            @if deployments.is_empty() {
                p { "No deployments yet." }
            } @else {
                div.table-wrap {
                    table #deployments {
                        thead { tr {
                            // What matters most first, so a phone shows it without scrolling.
                            th { "App" } th { "State" } th { "Node" } th.num { "Restarts" } th { "Last error" }
                            th { "Version" } th { "Schedule" } th { "Created" } th { "Deployment" }
                            @if viewer.role != Role::EndUser { th { "Owner" } }
                            th { "Actions" }
                        } }
                        tbody {
                            @for d in &deployments {
                                tr data-live-deployment=(d.id) {
                                    td { a href=(format!("/deployments/{}", encode(&d.id))) { (d.app) } }
                                    td { span.state data-field="state" data-state=(d.state.as_str()) { (d.state.as_str()) }
                                        @if d.run_state == RunState::Stopped { " " span.muted { "(stopped by its owner)" } } }
                                    td data-field="node" { (d.node.as_deref().unwrap_or("—")) }
                                    td.num data-field="restarts" { (d.restarts) }
                                    td data-field="detail" { (d.detail) }
                                    td { (d.version) }
                                    td { (schedule(&d.schedule)) }
                                    td { time datetime=(d.created_at) { (d.created_at) } }
                                    td { code { (d.id) } }
                                    @if viewer.role != Role::EndUser { td { (d.owner) } }
                                    td { (actions(&viewer, d)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

fn history(events: &[DeploymentEvent]) -> Markup {
    html! {
        div.table-wrap {
            table #history {
                thead { tr { th { "When" } th { "Who" } th { "What" } th { "Version" } th { "Details" } } }
                tbody {
                    @for e in events {
                        tr {
                            td { time datetime=(e.at) { (e.at) } }
                            td { (e.actor) }
                            td { (e.kind.as_str()) }
                            td {
                                @if let Some(from) = &e.from_version { (from) " → " }
                                (e.version)
                            }
                            td {
                                @for change in &e.changes {
                                    div { code { (change.field) } ": " (change.from.to_string()) " → " (change.to.to_string()) }
                                }
                                (e.reason)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The recent lines (oldest first, as a log is read), or why there are none to show; the table
/// is there either way, for the lines a follow brings.
fn logs(id: &str, page: Result<LogPage, PageError>) -> Markup {
    let (lines, note) = match page {
        Ok(page) if page.lines.is_empty() => (Vec::new(), Some("No log lines yet.".to_string())),
        Ok(page) => (page.lines, None),
        Err(PageError::Status(_, message)) => (
            Vec::new(),
            Some(format!("The log cannot be shown: {message}")),
        ),
        Err(PageError::SignIn { .. }) => (Vec::new(), None),
    };
    html! {
        @if let Some(note) = note { p.muted { (note) } }
        div.table-wrap {
            table #log {
                thead { tr { th { "When" } th { "Level" } th { "Source" } th { "Line" } } }
                tbody {
                    @for line in lines.iter().rev() {
                        tr {
                            td { time datetime=(line.time) { (line.time) } }
                            td { (line.level.as_str()) }
                            td { (line.source.as_str()) }
                            td { code { (line.text) } }
                        }
                    }
                }
            }
        }
        p.actions {
            button.secondary type="button" #follow data-deployment=(id) { "Follow the log" }
            a href=(format!("/api/v1/logs?deployment={}&format=ndjson", encode(id))) { "Download every line" }
        }
    }
}

/// `GET /deployments/{id}`.
pub async fn show(
    State(portal): State<Portal>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let path = format!("/deployments/{}", encode(&id));
    let d: Deployment = portal.api.get(&viewer.token, &path).await?;
    let events: Vec<DeploymentEvent> = portal
        .api
        .get(&viewer.token, &format!("{path}/history"))
        .await?;
    let lines: Result<LogPage, PageError> = portal
        .api
        .get(
            &viewer.token,
            &format!("/logs?deployment={}&limit={RECENT_LINES}", encode(&id)),
        )
        .await;
    // Each bound instance by name and place (an instance since removed shows by its id).
    let mut bound: Vec<(&String, Vec<Bound>)> = Vec::new();
    for (role, ids) in &d.bindings {
        let mut devices = Vec::new();
        for id in ids {
            let collection = if id.starts_with("ctl_") {
                "controllers"
            } else {
                "sensors"
            };
            let device = portal
                .api
                .get::<Device>(&viewer.token, &format!("/{collection}/{}", encode(id)))
                .await
                .ok();
            devices.push((id, device));
        }
        bound.push((role, devices));
    }
    if let Err(PageError::SignIn { .. }) = lines {
        return Err(PageError::SignIn { next: path });
    }
    Ok(layout::page(
        &viewer,
        &format!("{} {}", d.app, d.id),
        "/deployments",
        html! {
            script defer src=(assets::url("deploy.js")) {}
            p { a href="/deployments" { "← Deployments" } }
            h1 { (d.app) " " span.muted { (d.version) } }
            div.panel data-live-deployment=(d.id) {
                div.table-wrap { table.facts { tbody {
                    tr { th scope="row" { "Deployment" } td { code { (d.id) } } }
                    tr { th scope="row" { "Owner" } td { (d.owner) } }
                    tr { th scope="row" { "State" } td { span.state data-field="state" data-state=(d.state.as_str()) { (d.state.as_str()) }
                        @if d.run_state == RunState::Stopped { " " span.muted { "(stopped by its owner)" } } } }
                    tr { th scope="row" { "Node" } td data-field="node" { (d.node.as_deref().unwrap_or("—")) } }
                    tr { th scope="row" { "Restarts" } td data-field="restarts" { (d.restarts) } }
                    tr { th scope="row" { "Last error" } td data-field="detail" { (d.detail) } }
                    tr { th scope="row" { "Schedule" } td { (schedule(&d.schedule)) } }
                    tr { th scope="row" { "Created" } td { time datetime=(d.created_at) { (d.created_at) } } }
                } } }
                (actions(&viewer, &d))
            }
            h2 { "Bindings" }
            ul #bindings {
                @for (role, devices) in &bound {
                    li { strong { (role) } ": "
                        @for (i, (id, device)) in devices.iter().enumerate() {
                            @if i > 0 { ", " }
                            @match device {
                                Some(device) => { (device.name) " " span.muted { "(" (device.location.site) " / " (device.location.building) " / " (device.location.room) ")" } }
                                None => { code { (id) } }
                            }
                        }
                    }
                }
            }
            h2 { "Parameters" }
            @if d.config.is_empty() { p.muted { "None." } } @else {
                ul { @for (name, value) in &d.config { li { strong { (name) } ": " code { (value.to_string()) } } } }
            }
            @if !d.models.is_empty() {
                h2 { "Models" }
                ul { @for (model, version) in &d.models { li { (model) " " (version) } } }
            }
            @if !d.node_labels.is_empty() {
                h2 { "Runs only on nodes labelled" }
                ul { @for (k, v) in &d.node_labels { li { (k) "=" (v) } } }
            }
            h2 { "History" }
            (history(&events))
            h2 { "Recent log lines" }
            (logs(&d.id, lines))
        },
    ))
}
