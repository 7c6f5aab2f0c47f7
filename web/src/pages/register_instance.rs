//! Registering sensors and controllers: a form per kind (a registered type, name, place, labels,
//! users), whose answer shows the device's gateway token once. The place stays filled in, so a
//! room's devices go in one after another.

use axum::extract::State;
use maud::{Markup, html};
use trellis_protocol::api::{ControllerType, Role, SensorType};

use super::instances::{Kind, Places};
use super::shown::error_spot;
use crate::Portal;
use crate::assets;
use crate::error::PageError;
use crate::layout;
use crate::viewer::Viewer;

/// Where a new gateway token appears, once (instances.js fills it from the API's answer).
pub fn token_box() -> Markup {
    html! {
        div.notice data-token-box hidden tabindex="-1" role="status" {
            p {
                strong data-token-name {} "'s gateway token. It is shown only this once and will not be shown again: "
                "copy it to the device now."
            }
            p { code.secret data-token {} }
            p { a data-token-link href="/instances" { "Open its page" } }
        }
    }
}

/// `GET /instances/new`.
pub async fn show(State(portal): State<Portal>, viewer: Viewer) -> Result<Markup, PageError> {
    let sensor_types: Vec<SensorType> = portal.api.get(&viewer.token, "/sensor-types").await?;
    let controller_types: Vec<ControllerType> =
        portal.api.get(&viewer.token, "/controller-types").await?;
    let sensor_types: Vec<(String, String)> = sensor_types
        .into_iter()
        .map(|kind| {
            let label = if kind.unit.is_empty() {
                kind.name.clone()
            } else {
                format!("{} ({})", kind.name, kind.unit)
            };
            (kind.name, label)
        })
        .collect();
    let controller_types: Vec<(String, String)> = controller_types
        .into_iter()
        .map(|kind| (kind.name.clone(), kind.name))
        .collect();
    let places = Places::of(&portal, &viewer).await;
    Ok(layout::page(
        &viewer,
        "Register instances",
        "/instances",
        html! {
            p { a href="/instances" { "← Instances" } }
            h1 { "Register sensors and controllers" }
            @if !viewer.is(&[Role::PlatformConfigurer]) {
                p.notice { "Platform configurers register instances; ask one." }
            } @else {
                (form(Kind::Sensor, &sensor_types))
                (form(Kind::Controller, &controller_types))
                (places.datalists())
            }
            script defer src=(assets::url("instances.js")) {}
        },
    ))
}

/// The registration form of `kind`, offering `types` as (name, label).
fn form(kind: Kind, types: &[(String, String)]) -> Markup {
    let noun = kind.as_str();
    html! {
        section.panel id={ "register-" (noun) } {
            h2 { "Register a " (noun) }
            @if types.is_empty() {
                p { "No " (noun) " types yet: " a href="/device-types" { "register one first" } "." }
            } @else {
                form.grid-form data-api={ "POST /api/v1" (kind.api_path()) } data-transform="device"
                    data-then="device-registered" data-kind=(noun) {
                    label {
                        "Type"
                        select name="type" required {
                            option value="" { "Choose a " (noun) " type" }
                            @for (name, label) in types { option value=(name) { (label) } }
                        }
                        (error_spot("type"))
                    }
                    label { "Name" input name="name" required autocomplete="off"; (error_spot("name")) }
                    label { "Site" input name="location.site" list="sites" required; (error_spot("location.site")) }
                    label { "Building" input name="location.building" list="buildings" required; (error_spot("location.building")) }
                    label { "Room" input name="location.room" list="rooms" required; (error_spot("location.room")) }
                    label {
                        "Labels (key=value, comma-separated)"
                        input name="labels" data-type="list" placeholder="floor=2, wing=east";
                        (error_spot("labels"))
                    }
                    label {
                        "Users who may use it (names, comma-separated; * for every user; empty: only configurers and admins)"
                        input name="users" data-type="list";
                        (error_spot("users"))
                    }
                    div { button type="submit" { "Register " (noun) } (error_spot("")) }
                }
                (token_box())
            }
        }
    }
}
