//! `trellis sensor-type`, `controller-type`, `sensor` and `controller`: what a platform
//! configurer registers, and what everyone lists.

use serde_json::{Value, json};
use trellis_protocol::api::{
    CommandParam, CommandSpec, ControllerType, Location, NewDevice, SensorType, ValueKind,
};

use crate::client::Api;
use crate::output::Output;

#[derive(clap::Subcommand)]
pub enum SensorTypeCommand {
    /// Register a sensor type.
    Create {
        name: String,
        /// What a reading carries: number, numbers, text, bytes or json.
        #[arg(long, default_value = "number", value_parser = parse_kind)]
        value: ValueKind,
        /// The unit of a reading, e.g. °C.
        #[arg(long, default_value = "")]
        unit: String,
        /// The media type of `bytes` readings, e.g. image/png.
        #[arg(long)]
        media_type: Option<String>,
        /// Readings per second.
        #[arg(long)]
        sampling_hz: Option<f64>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List sensor types.
    List,
}

#[derive(clap::Subcommand)]
pub enum ControllerTypeCommand {
    /// Register a controller type.
    Create {
        name: String,
        /// A command it accepts, with its parameters: `on:level=number,mode=text` (repeatable).
        #[arg(long = "command", required = true, value_parser = parse_command)]
        commands: Vec<CommandSpec>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List controller types.
    List,
}

#[derive(clap::Subcommand)]
pub enum DeviceCommand {
    /// Register an instance at a location.
    Create {
        name: String,
        #[arg(long = "type")]
        type_name: String,
        #[arg(long)]
        site: String,
        #[arg(long)]
        building: String,
        #[arg(long)]
        room: String,
        #[arg(long)]
        latitude: Option<f64>,
        #[arg(long)]
        longitude: Option<f64>,
        /// A label, `key=value` (repeatable).
        #[arg(long = "label", value_parser = parse_pair)]
        labels: Vec<(String, String)>,
        /// A user who may use it (repeatable; `*` for every user); none: only platform
        /// configurers and admins, unless the platform runs with `trellis up --open-devices`.
        #[arg(long = "user")]
        users: Vec<String>,
    },
    /// Give an instance a new gateway token (shown once); its old token is refused at once.
    RotateToken { id: String },
    /// Set who may use an instance besides configurers and admins, replacing the list before.
    Users {
        id: String,
        /// A user (repeatable; `*` for every user); none: only platform configurers and admins.
        #[arg(long = "user")]
        users: Vec<String>,
    },
    /// List instances, filtered by type, location, label or text, a page at a time if asked.
    List {
        #[arg(long = "type")]
        type_name: Option<String>,
        #[arg(long)]
        site: Option<String>,
        #[arg(long)]
        building: Option<String>,
        #[arg(long)]
        room: Option<String>,
        /// `key=value`.
        #[arg(long)]
        label: Option<String>,
        /// Text in the name, site, building or room (ignoring ASCII case).
        #[arg(long)]
        search: Option<String>,
        /// The most instances to list (by name); default all.
        #[arg(long)]
        limit: Option<u32>,
        /// How many matching instances (by name) to skip first.
        #[arg(long)]
        offset: Option<u32>,
    },
}

pub fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .ok_or_else(|| format!("`{text}` should look like KEY=VALUE"))
}

/// `number`, `numbers`, `text`, `bytes` or `json`.
fn parse_kind(text: &str) -> Result<ValueKind, String> {
    serde_json::from_value(Value::String(text.to_string())).map_err(|_| {
        format!("`{text}` is not a value kind: use number, numbers, text, bytes or json")
    })
}

/// `on:level=number,mode=text` → a command with two optional parameters.
fn parse_command(text: &str) -> Result<CommandSpec, String> {
    let (name, params) = text.split_once(':').unwrap_or((text, ""));
    let params = params
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|param| {
            let (name, kind) = parse_pair(param)?;
            Ok(CommandParam {
                name,
                value: parse_kind(&kind)?,
                required: false,
            })
        })
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| format!("command `{text}`: {e}"))?;
    Ok(CommandSpec {
        name: name.to_string(),
        description: String::new(),
        params,
    })
}

pub fn sensor_type(command: SensorTypeCommand, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    match command {
        SensorTypeCommand::Create {
            name,
            value,
            unit,
            media_type,
            sampling_hz,
            description,
        } => {
            let body = SensorType {
                name: name.clone(),
                description,
                unit,
                value,
                media_type,
                sampling_hz,
            };
            let created = api.post("/sensor-types", &body)?;
            output.done(&created, format!("registered sensor type {name}"));
        }
        SensorTypeCommand::List => output.list(
            &api.get("/sensor-types")?,
            &[
                ("NAME", "/name"),
                ("VALUE", "/value"),
                ("UNIT", "/unit"),
                ("HZ", "/sampling_hz"),
            ],
        ),
    }
    Ok(())
}

pub fn controller_type(command: ControllerTypeCommand, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    match command {
        ControllerTypeCommand::Create {
            name,
            commands,
            description,
        } => {
            let body = ControllerType {
                name: name.clone(),
                description,
                commands,
            };
            let created = api.post("/controller-types", &body)?;
            output.done(&created, format!("registered controller type {name}"));
        }
        ControllerTypeCommand::List => {
            let list = api.get("/controller-types")?;
            let rows: Vec<Value> = list
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    let commands: Vec<Value> = t["commands"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| c["name"].clone())
                        .collect();
                    json!({ "name": t["name"], "commands": commands })
                })
                .collect();
            if output.json {
                output.list(&list, &[]);
            } else {
                output.list(
                    &Value::Array(rows),
                    &[("NAME", "/name"), ("COMMANDS", "/commands")],
                );
            }
        }
    }
    Ok(())
}

/// `collection` is `sensors` or `controllers`.
pub fn device(collection: &str, command: DeviceCommand, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    match command {
        DeviceCommand::Create {
            name,
            type_name,
            site,
            building,
            room,
            latitude,
            longitude,
            labels,
            users,
        } => {
            let body = NewDevice {
                name: name.clone(),
                type_name,
                location: Location {
                    site: site.clone(),
                    building: building.clone(),
                    room: room.clone(),
                    latitude,
                    longitude,
                },
                labels: labels.into_iter().collect(),
                users,
            };
            let created = api.post(&format!("/{collection}"), &body)?;
            output.done(
                &created,
                format!(
                    "registered {} {name} ({}) at {site}/{building}/{room}",
                    collection.trim_end_matches('s'),
                    created["id"].as_str().unwrap_or("?")
                ),
            );
        }
        DeviceCommand::Users { id, users } => {
            let answer = api.put(
                &format!("/{collection}/{id}/users"),
                &json!({ "users": users }),
            )?;
            let granted = answer["users"]
                .as_array()
                .map(|users| {
                    users
                        .iter()
                        .filter_map(|u| u.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|list| !list.is_empty())
                .unwrap_or_else(|| "only platform configurers and admins".into());
            output.done(
                &answer,
                format!(
                    "{} ({id}) may be used by: {granted}",
                    answer["name"].as_str().unwrap_or("?")
                ),
            );
        }
        DeviceCommand::RotateToken { id } => {
            let answer = api.post(&format!("/{collection}/{id}/token"), &json!({}))?;
            let kind = collection.trim_end_matches('s');
            let token = answer["token"].as_str().unwrap_or("?");
            output.done(
                &answer,
                format!(
                    "new gateway token for {kind} {} ({id}), shown once: {token}\n\
                     The old token is refused from now on; give the device this one \
                     (`trellis simulate {kind} --token {token}` for a simulator).",
                    answer["name"].as_str().unwrap_or("?")
                ),
            );
        }
        DeviceCommand::List {
            type_name,
            site,
            building,
            room,
            label,
            search,
            limit,
            offset,
        } => {
            let (list, total) = api.get_page(&format!(
                "/{collection}{}",
                query(&[
                    ("type", type_name),
                    ("site", site),
                    ("building", building),
                    ("room", room),
                    ("label", label),
                    ("q", search),
                    ("limit", limit.map(|n| n.to_string())),
                    ("offset", offset.map(|n| n.to_string())),
                ])
            ))?;
            let mut columns = vec![
                ("ID", "/id"),
                ("NAME", "/name"),
                ("TYPE", "/type"),
                ("SITE", "/location/site"),
                ("BUILDING", "/location/building"),
                ("ROOM", "/location/room"),
                ("LABELS", "/labels"),
            ];
            if collection == "sensors" {
                columns.extend([("READINGS", "/readings"), ("LAST", "/last_reading/value")]);
            } else {
                columns.push(("STATE", "/state"));
            }
            output.list(&list, &columns);
            let shown = list.as_array().map_or(0, Vec::len) as u64;
            if let Some(total) = total.filter(|&total| total > shown && !output.json) {
                let first = u64::from(offset.unwrap_or(0)) + 1;
                println!("{first}-{} of {total}", first + shown.saturating_sub(1));
            }
        }
    }
    Ok(())
}

/// `?a=1&b=2` from the pairs that are set, percent-encoded.
pub fn query(pairs: &[(&str, Option<String>)]) -> String {
    let set: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    if set.is_empty() {
        String::new()
    } else {
        format!("?{}", set.join("&"))
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
