//! The app catalogue: every app one may deploy, at its newest version, with what it needs.

use axum::extract::State;
use maud::{Markup, html};
use trellis_protocol::api::{AppVersion, Role};

use crate::Portal;
use crate::error::PageError;
use crate::layout;
use crate::viewer::Viewer;

/// An app's roles as "temperature: temperature sensor, fan: fan controller".
pub fn describe_roles(app: &AppVersion) -> Markup {
    let sensors = app
        .sensors
        .iter()
        .map(|(role, info)| (role, info, "sensor"));
    let controllers = app
        .controllers
        .iter()
        .map(|(role, info)| (role, info, "controller"));
    html! {
        p.roles {
            "Needs: "
            @for (i, (role, info, kind)) in sensors.chain(controllers).enumerate() {
                @if i > 0 { ", " }
                span.role {
                    strong { (role) } ": " (info.type_name) " " (kind)
                    @if info.min != 1 || info.max != 1 {
                        " (" (info.min) "–" (info.max) ")"
                    }
                }
            }
        }
    }
}

/// `GET /catalogue`.
pub async fn show(State(portal): State<Portal>, viewer: Viewer) -> Result<Markup, PageError> {
    let versions: Vec<AppVersion> = portal.api.get(&viewer.token, "/apps").await?;
    // The API lists each app's versions newest first: the first of each name is its latest.
    let mut latest: Vec<&AppVersion> = Vec::new();
    for app in &versions {
        if latest.last().is_none_or(|last| last.name != app.name) {
            latest.push(app);
        }
    }
    let may_deploy = viewer.is(&[Role::EndUser]);
    Ok(layout::page(
        &viewer,
        "Apps to deploy",
        "/catalogue",
        html! {
            h1 { "Apps to deploy" }
            @if latest.is_empty() {
                p { "No app has been uploaded yet." }
            } @else {
                ul.cards #catalogue {
                    @for app in &latest {
                        li data-app=(app.name) {
                            h2 { (app.name) " " span.muted { (app.version) } }
                            p { (app.description) }
                            (describe_roles(app))
                            @if !app.config.is_empty() {
                                p.muted {
                                    "Parameters: "
                                    @for (i, name) in app.config.keys().enumerate() {
                                        @if i > 0 { ", " }
                                        (name)
                                    }
                                }
                            }
                            @if may_deploy {
                                p { a.button href=(format!("/deploy/{}", encode(&app.name))) { "Deploy " (app.name) } }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// `text` as one segment of a URL path.
pub fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
