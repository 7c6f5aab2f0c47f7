//! The app developer's pages: every app with its versions, uploading an app (manifest and
//! component) with each refusal shown beside the file it concerns, and one app's roles, models,
//! parameters and versions with how every deployment of it the viewer may see is faring.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use maud::{Markup, html};
use serde::Deserialize;
use trellis_protocol::api::{AppVersion, Deployment, Role, RoleInfo};

use super::upload_form::{self, FilePart};
use crate::error::PageError;
use crate::viewer::Viewer;
use crate::{Portal, assets, layout};

const APP_FILES: [FilePart; 2] = [
    FilePart {
        name: "trellis.toml",
        accept: ".toml",
        hint: "the manifest: roles, models, parameters",
    },
    FilePart {
        name: "app.wasm",
        accept: ".wasm",
        hint: "the component",
    },
];

/// What the page shows of a manifest's parameters beyond the API's name → type: each one's
/// default and description, read from the manifest as uploaded.
#[derive(Deserialize, Default)]
struct Manifest {
    #[serde(default)]
    config: BTreeMap<String, Parameter>,
}

#[derive(Deserialize)]
struct Parameter {
    default: Option<toml::Value>,
    #[serde(default)]
    description: String,
}

/// `GET /apps`.
pub async fn list(State(portal): State<Portal>, viewer: Viewer) -> Result<Markup, PageError> {
    let versions: Vec<AppVersion> = portal.api.get(&viewer.token, "/apps").await?;
    let mut by_name: BTreeMap<&str, Vec<&AppVersion>> = BTreeMap::new();
    for version in &versions {
        by_name.entry(&version.name).or_default().push(version);
    }
    Ok(layout::page(
        &viewer,
        "Apps",
        "/apps",
        html! {
            h1 { "Apps" }
            @if viewer.is(&[Role::AppDeveloper]) {
                section.panel aria-labelledby="upload-title" {
                    h2 #upload-title { "Upload an app" }
                    (upload_form::form("app-upload", "/api/v1/apps", "/apps/{name}", "Upload the app", html! {
                        @for part in &APP_FILES { (upload_form::file_input("app-upload", part)) }
                    }))
                }
            }
            @if by_name.is_empty() {
                p { "No app has been uploaded yet." }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr {
                            th scope="col" { "App" }
                            th scope="col" { "Versions" }
                            th scope="col" { "Owner" }
                            th scope="col" { "What it does" }
                        } }
                        tbody {
                            @for (name, versions) in &by_name {
                                tr {
                                    td { a href={ "/apps/" (name) } { (name) } }
                                    td { @for (i, v) in versions.iter().enumerate() { @if i > 0 { ", " } (v.version) } }
                                    td { (versions[0].owner) }
                                    td { (versions[0].description) }
                                }
                            }
                        }
                    }
                }
            }
            script defer src=(assets::url("uploads.js")) {}
        },
    ))
}

/// `GET /apps/{name}`.
pub async fn show(
    State(portal): State<Portal>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Markup, PageError> {
    if !upload_form::is_name(&name) {
        return Err(PageError::Status(
            axum::http::StatusCode::NOT_FOUND,
            format!("no app `{name}`"),
        ));
    }
    let versions: Vec<AppVersion> = portal
        .api
        .get(&viewer.token, &format!("/apps/{name}"))
        .await?;
    let deployments: Vec<Deployment> = portal.api.get(&viewer.token, "/deployments").await?;
    let deployments: Vec<&Deployment> = deployments.iter().filter(|d| d.app == name).collect();
    let Some(newest) = versions.first() else {
        return Err(PageError::Status(
            axum::http::StatusCode::NOT_FOUND,
            format!("no app `{name}`"),
        ));
    };
    // The API checked the manifest at upload; should it not read here, the page still shows
    // each parameter's type, without default or description.
    let manifest: Manifest = toml::from_str(&newest.manifest).unwrap_or_default();
    let may_delete = viewer.role == Role::Admin || newest.owner == viewer.name;
    Ok(layout::page(
        &viewer,
        &format!("App {name}"),
        "/apps",
        html! {
            p { a href="/apps" { "← All apps" } }
            h1 { "App " (name) }
            @if !newest.description.is_empty() { p { (newest.description) } }
            p.muted { "Owner: " (newest.owner) ". Shown below: version " (newest.version) ", the newest." }

            h2 { "Roles" }
            (roles_table(&newest.sensors, &newest.controllers))

            h2 { "Models" }
            @if newest.models.is_empty() {
                p { "It calls no model." }
            } @else {
                ul {
                    @for (model, requirement) in &newest.models {
                        li { a href={ "/models/" (model) } { (model) } ", versions " code { (requirement) } }
                    }
                }
            }

            h2 { "Parameters" }
            @if newest.config.is_empty() {
                p { "It takes no parameters." }
            } @else {
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { "Parameter" } th scope="col" { "Type" }
                        th scope="col" { "Default" } th scope="col" { "What it sets" }
                    } }
                    tbody {
                        @for (param, kind) in &newest.config {
                            @let declared = manifest.config.get(param);
                            tr {
                                td { code { (param) } }
                                td { (kind) }
                                td { @match declared.and_then(|p| p.default.as_ref()) {
                                    Some(default) => code { (serde_json::to_string(default).unwrap_or_default()) },
                                    None => span.muted { "none: it must be set" },
                                } }
                                td { (declared.map(|p| p.description.as_str()).unwrap_or_default()) }
                            }
                        }
                    }
                } }
            }

            h2 { "Versions" }
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Version" } th scope="col" { "Uploaded by" }
                    th scope="col" { "Uploaded" } th scope="col" { "Component" }
                    th scope="col" { span.muted { "Actions" } }
                } }
                tbody {
                    @for app in &versions {
                        tr {
                            td { (app.version) }
                            td { (app.uploaded_by) }
                            td { time datetime=(app.created_at) { (app.created_at) } }
                            td { code title=(app.component_sha256) { "sha256 " (app.component_sha256.get(..12).unwrap_or_default()) } }
                            td {
                                @if may_delete {
                                    form data-api={ "DELETE /api/v1/apps/" (app.name) "/" (app.version) } data-then="reload" {
                                        button.danger type="submit" aria-label={ "Delete " (app.name) " " (app.version) } { "Delete" }
                                        p.error data-error-for="" role="alert" {}
                                    }
                                }
                            }
                        }
                    }
                }
            } }

            h2 { "Deployments" }
            @if deployments.is_empty() {
                p { "No deployment of it that you may see." }
            } @else {
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { "Deployment" } th scope="col" { "Owner" }
                        th scope="col" { "Version" } th scope="col" { "State" }
                        th scope="col" { "Node" } th.num scope="col" { "Restarts" }
                        th scope="col" { "Last error or event" }
                    } }
                    tbody {
                        @for d in &deployments {
                            tr data-live-deployment=(d.id) {
                                td { code { (d.id) } }
                                td { (d.owner) }
                                td { (d.version) }
                                td { span.state data-state=(d.state.as_str()) data-field="state" { (d.state.as_str()) } }
                                td data-field="node" { (d.node.as_deref().unwrap_or("—")) }
                                td.num data-field="restarts" { (d.restarts) }
                                td data-field="last_error" { (d.detail) }
                            }
                        }
                    }
                } }
            }
            script defer src=(assets::url("app_deployments.js")) {}
        },
    ))
}

/// Each sensor and controller role: the type of instance it takes, and how many.
fn roles_table(
    sensors: &BTreeMap<String, RoleInfo>,
    controllers: &BTreeMap<String, RoleInfo>,
) -> Markup {
    let roles = sensors
        .iter()
        .map(|(role, info)| ("sensor", role, info))
        .chain(
            controllers
                .iter()
                .map(|(role, info)| ("controller", role, info)),
        );
    html! {
        div.table-wrap { table {
            thead { tr {
                th scope="col" { "Role" } th scope="col" { "Kind" }
                th scope="col" { "Type" } th.num scope="col" { "Instances" }
            } }
            tbody {
                @for (kind, role, info) in roles {
                    tr {
                        td { code { (role) } }
                        td { (kind) }
                        td { (info.type_name) }
                        td.num { @if info.min == info.max { (info.min) } @else { (info.min) "–" (info.max) } }
                    }
                }
            }
        } }
    }
}
