//! The deploy form: each role of an app bound by location (site, building and room pickers that
//! offer only places holding instances the viewer may use, then those instances to tick) or by
//! name, the parameters its manifest declares with their defaults, and the schedule. The
//! pickers' options come from the API as the person chooses (`assets/deploy.js`); the page
//! itself carries only the first level of each.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::Method;
use maud::{Markup, html};
use serde::Deserialize;
use trellis_protocol::api::{AppVersion, BindablePlace, Device, RoleInfo};

use crate::error::PageError;
use crate::pages::catalogue::{describe_roles, encode};
use crate::viewer::Viewer;
use crate::{Portal, assets, layout};

/// How many instances the by-name list shows before the person narrows it by searching.
const NAMED_PAGE: u32 = 50;

#[derive(Deserialize)]
pub struct Which {
    version: Option<String>,
}

/// What the manifest says of a parameter beyond its type (which the API lists).
#[derive(Deserialize)]
struct ParamDoc {
    default: Option<toml::Value>,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct ManifestParams {
    #[serde(default)]
    config: BTreeMap<String, ParamDoc>,
}

/// A default as the text an input holds (the API takes parameters as text).
fn as_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// One role of the app, as the form binds it.
struct RoleForm<'a> {
    index: usize,
    name: &'a str,
    info: &'a RoleInfo,
    /// `sensor` or `controller`.
    kind: &'static str,
    sites: Vec<BindablePlace>,
    first: Vec<Device>,
    total: u64,
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        query.append_pair(key, value);
    }
    query.finish()
}

async fn role_form<'a>(
    portal: &Portal,
    viewer: &Viewer,
    index: usize,
    name: &'a str,
    info: &'a RoleInfo,
    kind: &'static str,
) -> Result<RoleForm<'a>, PageError> {
    let sites: Vec<BindablePlace> = portal
        .api
        .get(
            &viewer.token,
            &format!(
                "/bindable/places?{}",
                query(&[("kind", kind), ("type", &info.type_name)])
            ),
        )
        .await?;
    let answer = portal
        .api
        .call(
            Method::GET,
            &format!(
                "/bindable/{kind}s?{}",
                query(&[
                    ("type", &info.type_name),
                    ("limit", &NAMED_PAGE.to_string())
                ])
            ),
            Some(&viewer.token),
            None,
        )
        .await?;
    let total = answer
        .headers
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    let first: Vec<Device> = answer.json()?;
    Ok(RoleForm {
        index,
        name,
        info,
        kind,
        sites,
        first,
        total,
    })
}

fn wanted(info: &RoleInfo) -> String {
    if info.min == info.max {
        format!("{} instance(s)", info.min)
    } else {
        format!("{} to {} instances", info.min, info.max)
    }
}

fn role_fieldset(role: &RoleForm) -> Markup {
    let id = |part: &str| format!("role{}-{part}", role.index);
    let field = format!("bindings.{}", role.name);
    html! {
        fieldset.role.stack data-role=(role.name) data-kind=(role.kind) data-type=(role.info.type_name)
            data-min=(role.info.min) data-max=(role.info.max) {
            legend { strong { (role.name) } ": " (wanted(role.info)) " of type " (role.info.type_name) " (" (role.kind) ")" }
            div.actions role="radiogroup" aria-label=(format!("How to choose {}", role.name)) {
                label { input type="radio" name=(id("mode")) value="location" checked data-skip; " By location" }
                label { input type="radio" name=(id("mode")) value="name" data-skip; " By name" }
            }
            div.by-location {
                @if role.sites.is_empty() {
                    p.notice { "There is no " (role.info.type_name) " " (role.kind) " you may use. Ask a platform configurer to register one or to add you to its users." }
                }
                div.grid-form {
                    label for=(id("site")) { "Site"
                        select #(id("site")) data-level="site" data-skip {
                            option value="" { "Choose a site" }
                            @for site in &role.sites {
                                option value=(site.name) { (site.name) " (" (site.instances) ")" }
                            }
                        }
                    }
                    label for=(id("building")) { "Building"
                        select #(id("building")) data-level="building" data-skip disabled {
                            option value="" { "Any building" }
                        }
                    }
                    label for=(id("room")) { "Room"
                        select #(id("room")) data-level="room" data-skip disabled {
                            option value="" { "Any room" }
                        }
                    }
                }
                fieldset.instances {
                    legend { "Instances there" }
                    p.muted.hint { "Choose a site to see its instances." }
                    div.ticks {}
                }
            }
            div.by-name hidden {
                div.grid-form {
                    label for=(id("search")) { "Search by name"
                        input #(id("search")) type="search" data-search data-skip autocomplete="off";
                    }
                    label for=(id("named")) { "Instances (pick " (wanted(role.info)) ")"
                        select #(id("named")) name=(field) multiple size="6" data-skip {
                            @for device in &role.first {
                                option value=(device.id) { (device.name) " — " (device.location.site) " / " (device.location.building) " / " (device.location.room) }
                            }
                        }
                    }
                }
                p.muted.count { "Showing " (role.first.len()) " of " (role.total) "; search to narrow." }
            }
            p.error data-error-for=(field) role="alert" {}
        }
    }
}

fn parameters(app: &AppVersion) -> Markup {
    let docs = toml::from_str::<ManifestParams>(&app.manifest)
        .map(|m| m.config)
        .unwrap_or_default();
    html! {
        @if !app.config.is_empty() {
            fieldset.stack {
                legend { "Parameters" }
                @for (i, (name, kind)) in app.config.iter().enumerate() {
                    @let id = format!("param{i}");
                    @let doc = docs.get(name);
                    @let default = doc.and_then(|d| d.default.as_ref()).map(as_text).unwrap_or_default();
                    @let field = format!("config.{name}");
                    label for=(id) { (name) " " span.muted { "(" (kind) ")" } }
                    @if let Some(doc) = doc.filter(|d| !d.description.is_empty()) {
                        p.muted { (doc.description) }
                    }
                    @match kind.as_str() {
                        "number" => { input #(id) type="number" step="any" name=(field) value=(default) data-param=(name) data-skip; }
                        "json" => { textarea #(id) name=(field) rows="3" data-param=(name) data-skip { (default) } }
                        _ => { input #(id) type="text" name=(field) value=(default) data-param=(name) data-skip; }
                    }
                    p.error data-error-for=(field) role="alert" {}
                }
            }
        }
    }
}

fn schedule() -> Markup {
    html! {
        fieldset.stack #schedule {
            legend { "When it runs" }
            div.actions role="radiogroup" aria-label="Schedule" {
                label { input type="radio" name="schedule.kind" value="now" checked data-skip; " From now until stopped" }
                label { input type="radio" name="schedule.kind" value="window" data-skip; " In a window" }
                label { input type="radio" name="schedule.kind" value="cron" data-skip; " Repeatedly (cron)" }
            }
            // `hidden` sits on plain wrappers: a class that sets `display` would override it.
            div data-schedule="window" hidden { div.grid-form {
                label for="schedule-start" { "From (your time)" input #schedule-start type="datetime-local" name="schedule.start" data-skip; }
                label for="schedule-end" { "Until (your time)" input #schedule-end type="datetime-local" name="schedule.end" data-skip; }
            } }
            div data-schedule="cron" hidden {
                div.grid-form {
                    label for="schedule-cron" { "Cron expression (five fields, UTC)"
                        input #schedule-cron name="schedule.expression" placeholder="0 8 * * MON-FRI" autocomplete="off" data-skip;
                    }
                    label for="schedule-minutes" { "Minutes each time"
                        input #schedule-minutes type="number" min="1" name="schedule.duration-minutes" value="60" data-skip;
                    }
                    label for="schedule-count" { "How many times (empty: no end)"
                        input #schedule-count type="number" min="1" name="schedule.count" data-skip;
                    }
                }
                p.error #cron-error data-error-for="schedule.expression" role="alert" {}
                div #cron-preview hidden {
                    p.muted { "The next five starts, in your time:" }
                    ol {}
                }
            }
            p.error data-error-for="schedule" role="alert" {}
        }
    }
}

/// `GET /deploy/{app}`.
pub async fn show(
    State(portal): State<Portal>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(which): Query<Which>,
) -> Result<Markup, PageError> {
    let versions: Vec<AppVersion> = portal
        .api
        .get(&viewer.token, &format!("/apps/{}", encode(&name)))
        .await?;
    let app = match &which.version {
        Some(version) => versions.iter().find(|a| &a.version == version),
        None => versions.first(),
    }
    .ok_or_else(|| {
        PageError::Status(
            axum::http::StatusCode::NOT_FOUND,
            format!(
                "{name} has no version {}",
                which.version.unwrap_or_default()
            ),
        )
    })?;
    let mut roles = Vec::new();
    let sensors = app.sensors.iter().map(|(n, i)| (n, i, "sensor"));
    let controllers = app.controllers.iter().map(|(n, i)| (n, i, "controller"));
    for (index, (role, info, kind)) in sensors.chain(controllers).enumerate() {
        roles.push(role_form(&portal, &viewer, index, role, info, kind).await?);
    }
    Ok(layout::page(
        &viewer,
        &format!("Deploy {}", app.name),
        "/catalogue",
        html! {
            script defer src=(assets::url("deploy.js")) {}
            h1 { "Deploy " (app.name) " " span.muted { (app.version) } }
            p { (app.description) }
            @if versions.len() > 1 {
                p.muted { "Other versions: "
                    @for (i, other) in versions.iter().filter(|v| v.version != app.version).enumerate() {
                        @if i > 0 { ", " }
                        a href=(format!("/deploy/{}?version={}", encode(&app.name), encode(&other.version))) { (other.version) }
                    }
                }
            }
            (describe_roles(app))
            form.stack #deploy data-api="POST /api/v1/deployments" data-transform="deploy" data-then="go:/deployments/{id}" {
                input type="hidden" name="app" value=(app.name) data-skip;
                input type="hidden" name="version" value=(app.version) data-skip;
                h2 { "Bind its roles" }
                @for role in &roles {
                    (role_fieldset(role))
                }
                (parameters(app))
                (schedule())
                p.error data-error-for="" role="alert" {}
                div.actions { button type="submit" { "Deploy" } }
            }
        },
    ))
}
