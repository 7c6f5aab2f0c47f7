//! Device types: the sensor types (what a reading carries, in which unit) and controller types
//! (the commands they accept) the platform knows, and forms to register more.

use axum::extract::State;
use maud::{Markup, html};
use trellis_protocol::api::{ControllerType, Role, SensorType, ValueKind};

use super::shown::error_spot;
use crate::Portal;
use crate::error::PageError;
use crate::layout;
use crate::viewer::Viewer;

/// The value kinds a sensor type or command parameter may have, in the order offered.
const VALUE_KINDS: [ValueKind; 5] = [
    ValueKind::Number,
    ValueKind::Numbers,
    ValueKind::Text,
    ValueKind::Bytes,
    ValueKind::Json,
];

/// What a new controller type's commands look like, shown beside the field.
const COMMANDS_EXAMPLE: &str = r#"[
  { "name": "set-level", "description": "Dim to a level",
    "params": [ { "name": "level", "value": "number", "required": true } ] },
  { "name": "off" }
]"#;

/// `GET /device-types`.
pub async fn show(State(portal): State<Portal>, viewer: Viewer) -> Result<Markup, PageError> {
    let sensor_types: Vec<SensorType> = portal.api.get(&viewer.token, "/sensor-types").await?;
    let controller_types: Vec<ControllerType> =
        portal.api.get(&viewer.token, "/controller-types").await?;
    // Only a convenience: the API refuses a registration from anyone else.
    let registers = viewer.is(&[Role::PlatformConfigurer]);
    Ok(layout::page(
        &viewer,
        "Device types",
        "/device-types",
        html! {
            h1 { "Device types" }
            h2 #sensor-types { "Sensor types" }
            (sensor_table(&sensor_types))
            @if registers { (sensor_form()) }
            h2 #controller-types { "Controller types" }
            (controller_table(&controller_types))
            @if registers { (controller_form()) }
        },
    ))
}

fn sensor_table(types: &[SensorType]) -> Markup {
    html! {
        @if types.is_empty() {
            p.muted { "No sensor types yet." }
        } @else {
            div.table-wrap {
                table {
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Unit" } th scope="col" { "Value" }
                        th scope="col" { "Media type" } th.num scope="col" { "Sampling" }
                        th scope="col" { "Description" }
                    } }
                    tbody {
                        @for kind in types {
                            tr id={ "sensor-type-" (kind.name) } {
                                th scope="row" { (kind.name) }
                                td { @if kind.unit.is_empty() { span.muted { "none" } } @else { (kind.unit) } }
                                td { (kind.value.as_str()) }
                                td { (kind.media_type.as_deref().unwrap_or("")) }
                                td.num { @if let Some(hz) = kind.sampling_hz { (hz) " Hz" } }
                                td { (kind.description) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn controller_table(types: &[ControllerType]) -> Markup {
    html! {
        @if types.is_empty() {
            p.muted { "No controller types yet." }
        } @else {
            div.table-wrap {
                table {
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Commands and their parameters" }
                        th scope="col" { "Description" }
                    } }
                    tbody {
                        @for kind in types {
                            tr id={ "controller-type-" (kind.name) } {
                                th scope="row" { (kind.name) }
                                td {
                                    ul.commands {
                                        @for command in &kind.commands {
                                            li {
                                                code { (command.name) }
                                                @if !command.params.is_empty() {
                                                    " ("
                                                    @for (i, param) in command.params.iter().enumerate() {
                                                        @if i > 0 { ", " }
                                                        (param.name) ": " (param.value.as_str())
                                                        @if !param.required { " (optional)" }
                                                    }
                                                    ")"
                                                }
                                                @if !command.description.is_empty() {
                                                    " — " (command.description)
                                                }
                                            }
                                        }
                                    }
                                }
                                td { (kind.description) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn sensor_form() -> Markup {
    html! {
        h3 { "Register a sensor type" }
        form.panel.grid-form #new-sensor-type data-api="POST /api/v1/sensor-types" data-then="reload" {
            label { "Name" input name="name" required autocomplete="off"; (error_spot("name")) }
            label { "Unit (e.g. °C, %, ppm; empty for none)" input name="unit"; (error_spot("unit")) }
            label {
                "Value"
                select name="value" {
                    @for kind in VALUE_KINDS { option value=(kind.as_str()) { (kind.as_str()) } }
                }
                (error_spot("value"))
            }
            label {
                "Media type (bytes only, e.g. image/png)"
                input name="media_type" data-optional;
                (error_spot("media_type"))
            }
            label {
                "Sampling (readings per second)"
                input name="sampling_hz" type="number" step="any" min="0" data-optional;
                (error_spot("sampling_hz"))
            }
            label { "Description" input name="description"; (error_spot("description")) }
            div { button type="submit" { "Register sensor type" } (error_spot("")) }
        }
    }
}

fn controller_form() -> Markup {
    html! {
        h3 { "Register a controller type" }
        form.panel.stack #new-controller-type data-api="POST /api/v1/controller-types" data-then="reload" {
            label for="controller-type-name" { "Name" }
            input #controller-type-name name="name" required autocomplete="off";
            (error_spot("name"))
            label for="controller-type-description" { "Description" }
            input #controller-type-description name="description";
            (error_spot("description"))
            label for="controller-type-commands" { "Commands (JSON: each with a name, and its parameters with their value kinds)" }
            textarea #controller-type-commands name="commands" data-type="json" rows="8" required
                aria-describedby="commands-example" placeholder=(COMMANDS_EXAMPLE) {}
            (error_spot("commands"))
            details #commands-example {
                summary { "Example" }
                pre { (COMMANDS_EXAMPLE) }
                p.muted {
                    "Value kinds: "
                    @for (i, kind) in VALUE_KINDS.iter().enumerate() {
                        @if i > 0 { ", " }
                        code { (kind.as_str()) }
                    }
                    "."
                }
            }
            div { button type="submit" { "Register controller type" } (error_spot("")) }
        }
    }
}
