//! One sensor's or controller's page: where it is, its labels and users, what it last measured
//! or reported, and (for configurers) who may use it and a new gateway token, shown once.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use maud::{Markup, html};
use serde::Deserialize;
use trellis_protocol::api::{EVERY_USER, Role, SensorType};

use super::instances::{Kind, Row};
use super::register_instance::token_box;
use super::shown::{error_spot, labels_text, segment, value_text, with_unit};
use crate::Portal;
use crate::assets;
use crate::error::PageError;
use crate::layout;
use crate::viewer::Viewer;

/// How far back a sensor's chart reaches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum ChartRange {
    #[serde(rename = "1h")]
    Hour,
    #[default]
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "90d")]
    Quarter,
}

impl ChartRange {
    const ALL: [ChartRange; 4] = [
        ChartRange::Hour,
        ChartRange::Day,
        ChartRange::Week,
        ChartRange::Quarter,
    ];

    /// As the readings API's `since` spells it.
    fn as_str(self) -> &'static str {
        match self {
            ChartRange::Hour => "1h",
            ChartRange::Day => "24h",
            ChartRange::Week => "7d",
            ChartRange::Quarter => "90d",
        }
    }

    fn label(self) -> &'static str {
        match self {
            ChartRange::Hour => "hour",
            ChartRange::Day => "24 hours",
            ChartRange::Week => "7 days",
            ChartRange::Quarter => "90 days",
        }
    }
}

#[derive(Deserialize)]
pub struct Shown {
    #[serde(default)]
    range: ChartRange,
}

/// `GET /instances/{kind}/{id}`.
pub async fn show(
    State(portal): State<Portal>,
    viewer: Viewer,
    Path((kind, id)): Path<(String, String)>,
    Query(Shown { range }): Query<Shown>,
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
                dt { "Users who may use it" }
                dd {
                    @if device.users.iter().any(|u| u == EVERY_USER) { "every user" }
                    @else if device.users.is_empty() { span.muted { "only platform configurers and admins" } }
                    @else { (device.users.join(", ")) }
                }
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
                            @if let Some(last) = &row.device.last_reading {
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
                h2 { "Readings over the last " (range.label()) }
                nav.pager aria-label="Chart range" {
                    @for choice in ChartRange::ALL {
                        a href={ "?range=" (choice.as_str()) } aria-current=[(choice == range).then_some("true")] { (choice.label()) }
                    }
                }
                // Drawn by charts.js from the history, downsampled on the server to the chart's
                // width, then grown by the page's live readings.
                div.chart data-sensor=(device.id) data-since=(range.as_str()) data-unit=(unit) {
                    p.muted data-chart-placeholder { "Loading the chart…" }
                }
            }
            @if kind == Kind::Controller {
                section #last-commands {
                    h2 { "Last commands" }
                    @let commands = device.last_commands.clone().unwrap_or_default();
                    @if commands.is_empty() {
                        p.muted data-no-commands { "None yet." }
                    }
                    div.table-wrap { table hidden[commands.is_empty()] {
                        thead { tr { th scope="col" { "When" } th scope="col" { "Command" } th scope="col" { "From deployment" } } }
                        tbody data-commands-of=(device.id) {
                            @for sent in &commands {
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
                section.panel #device-users {
                    h2 { "Who may use it" }
                    // The API replaces the list whole, so the field starts as the list is now.
                    form.grid-form data-api={ "PUT /api/v1" (api_path) "/users" } data-then="reload" {
                        label {
                            "Users (names, comma-separated; * for every user; empty: only configurers and admins)"
                            input name="users" data-type="list" autocomplete="off" value=(device.users.join(", "));
                            (error_spot("users"))
                        }
                        div { button type="submit" { "Save users" } (error_spot("")) }
                    }
                }
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
