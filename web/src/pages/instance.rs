//! One sensor's or controller's page: where it is, its labels and users, what it last measured
//! or reported, and (for configurers) a new gateway token, shown once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use maud::{Markup, html};
use trellis_protocol::api::{Role, SensorType};

use super::instances::{Kind, Row};
use super::register_instance::token_box;
use super::shown::{error_spot, labels_text, segment, value_text, with_unit};
use crate::Portal;
use crate::assets;
use crate::error::PageError;
use crate::layout;
use crate::viewer::Viewer;

/// `GET /instances/{kind}/{id}`.
pub async fn show(
    State(portal): State<Portal>,
    viewer: Viewer,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Markup, PageError> {
    let kind = Kind::parse(&kind).ok_or_else(|| {
        PageError::Status(
            StatusCode::NOT_FOUND,
            format!("`{kind}` is neither `sensor` nor `controller`"),
        )
    })?;
    let api_path = format!("{}/{}", kind.api_path(), segment(&id));
    let row: Row = portal.api.get(&viewer.token, &api_path).await?;
    let device = &row.device;
    let unit = match kind {
        Kind::Sensor => {
            let path = format!("/sensor-types/{}", segment(&device.type_name));
            let sensor_type: SensorType = portal.api.get(&viewer.token, &path).await?;
            sensor_type.unit
        }
        Kind::Controller => String::new(),
    };
    let place = &device.location;
    Ok(layout::page(
        &viewer,
        &device.name,
        "/instances",
        html! {
            p { a href="/instances" { "← Instances" } }
            h1 { (device.name) }
            dl.panel data-live-sensor=[(kind == Kind::Sensor).then_some(&device.id)]
                data-live-controller=[(kind == Kind::Controller).then_some(&device.id)]
                data-unit=(unit) {
                dt { "Kind and type" }
                dd { (kind.as_str()) ", " a href="/device-types" { (device.type_name) } }
                dt { "Location" }
                dd {
                    (place.site) " › " (place.building) " › " (place.room)
                    @if let (Some(lat), Some(lon)) = (place.latitude, place.longitude) {
                        " (" (lat) "°, " (lon) "°)"
                    }
                }
                dt { "Labels" }
                dd { @if device.labels.is_empty() { span.muted { "none" } } @else { (labels_text(&device.labels)) } }
                dt { "End users who may bind it" }
                dd { @if device.users.is_empty() { "every end user" } @else { (device.users.join(", ")) } }
                dt { "Registered" }
                dd { time datetime=(device.created_at) { (device.created_at) } }
                dt { "Id" }
                dd { code { (device.id) } }
                @match kind {
                    Kind::Sensor => {
                        dt { "Readings" }
                        dd data-reading-count { (device.readings.map(|n| n.to_string()).unwrap_or_default()) }
                        dt { "Last value" }
                        dd data-last-value {
                            @if let Some(last) = &row.last_reading {
                                (with_unit(&last.value, &unit)) " at " time datetime=(last.at) { (last.at) }
                            } @else { span.muted { "none yet" } }
                        }
                    }
                    Kind::Controller => {
                        dt { "Reported state" }
                        dd data-reported-state {
                            @if let Some(state) = &device.state { code { (value_text(state)) } }
                            @else { span.muted { "not reported yet" } }
                        }
                    }
                }
            }
            @if kind == Kind::Sensor {
                h2 { "Recent readings" }
                // The chart is drawn here from the readings history, once the API serves it.
                div.chart data-sensor=(device.id) {
                    p.muted data-chart-placeholder { "The chart of this sensor's recent readings appears here." }
                }
            }
            @if let Some(commands) = &row.last_commands {
                h2 { "Last commands" }
                @if commands.is_empty() {
                    p.muted { "None yet." }
                } @else {
                    div.table-wrap { table {
                        thead { tr { th scope="col" { "When" } th scope="col" { "Command" } th scope="col" { "From deployment" } } }
                        tbody {
                            @for sent in commands {
                                tr {
                                    td { time datetime=(sent.at) { (sent.at) } }
                                    td { code { (value_text(&sent.command)) } }
                                    td { (sent.deployment) }
                                }
                            }
                        }
                    } }
                }
            }
            @if viewer.is(&[Role::PlatformConfigurer]) {
                section.panel #gateway-token {
                    h2 { "Gateway token" }
                    p { "A new token replaces the device's current one, which is refused from then on. The new one is shown only once." }
                    form data-api={ "POST /api/v1" (api_path) "/token" } data-then="token-shown" data-kind=(kind.as_str()) {
                        button type="submit" { "Give it a new token" }
                        (error_spot(""))
                    }
                    (token_box())
                }
            }
            script defer src=(assets::url("instances.js")) {}
        },
    ))
}
