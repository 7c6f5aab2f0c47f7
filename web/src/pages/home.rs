//! The home page: what the viewer can do here, and what is running.

use std::collections::BTreeMap;

use axum::extract::State;
use maud::{Markup, html};
use trellis_protocol::api::{Deployment, Role};

use crate::Portal;
use crate::error::PageError;
use crate::layout;
use crate::viewer::Viewer;

/// What each section is for, in the viewer's words.
fn purpose(href: &str) -> &'static str {
    match href {
        "/catalogue" => {
            "Pick an app, bind it to the sensors and controllers of a place, and schedule it."
        }
        "/deployments" => {
            "Follow what runs: state, node, restarts and the last error; stop, start or delete."
        }
        "/device-types" => "Define sensor and controller types, with their units and commands.",
        "/instances" => {
            "Register sensors and controllers by site, building and room, and watch their readings."
        }
        "/nodes" => "Watch the nodes' load and join new ones.",
        "/models" => "Upload ONNX models with their contracts, and try them.",
        "/apps" => "Upload apps and see how their deployments fare.",
        "/users" => "Create users and set their roles.",
        _ => "",
    }
}

/// `GET /`.
pub async fn show(State(portal): State<Portal>, viewer: Viewer) -> Result<Markup, PageError> {
    let deployments: Vec<Deployment> = portal.api.get(&viewer.token, "/deployments").await?;
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    for deployment in &deployments {
        *by_state.entry(deployment.state.to_string()).or_default() += 1;
    }
    let whose = if viewer.role == Role::EndUser {
        "Your deployments"
    } else {
        "Deployments"
    };
    Ok(layout::page(
        &viewer,
        "Home",
        "/",
        html! {
            h1 { "Welcome, " (viewer.name) }
            p { "You are signed in as " strong { (viewer.role.as_str()) } ". Here you can:" }
            ul.cards {
                @for (href, label) in layout::sections(&viewer) {
                    li { a href=(href) { (label) } p { (purpose(href)) } }
                }
            }
            h2 { "What is running" }
            @if deployments.is_empty() {
                p { "Nothing is deployed yet." }
            } @else {
                p {
                    (whose) ": " (deployments.len()) " — "
                    @for (i, (state, count)) in by_state.iter().enumerate() {
                        @if i > 0 { ", " }
                        span.state data-state=(state) { (count) " " (state) }
                    }
                }
            }
        },
    ))
}
