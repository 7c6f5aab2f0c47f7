//! `trellis bindable`: what you may bind into a deployment (end users; admins see all): the
//! instances of a type you may use, or the places that hold them, level by level, as the
//! portal's deploy form offers them.

use crate::client::Api;
use crate::output::Output;
use crate::registry::query;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    Sensor,
    Controller,
}

#[derive(clap::Args)]
pub struct BindableArgs {
    /// Sensor or controller instances.
    #[arg(value_enum)]
    kind: Kind,
    /// The type a role of the app takes.
    #[arg(long = "type")]
    type_name: String,
    #[arg(long)]
    site: Option<String>,
    #[arg(long, requires = "site")]
    building: Option<String>,
    #[arg(long, requires = "building")]
    room: Option<String>,
    /// Only instances whose name holds this text.
    #[arg(long, conflicts_with = "places")]
    name_contains: Option<String>,
    /// The most instances to list (the API's default is 100).
    #[arg(long, conflicts_with = "places")]
    limit: Option<u32>,
    /// Instances to skip first.
    #[arg(long, conflicts_with = "places")]
    offset: Option<u32>,
    /// List the places holding them instead: the sites, the buildings of --site, or the rooms
    /// of --site and --building, each with how many you may use.
    #[arg(long, conflicts_with = "room")]
    places: bool,
}

pub fn bindable(args: BindableArgs, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    let (kind, collection) = match args.kind {
        Kind::Sensor => ("sensor", "sensors"),
        Kind::Controller => ("controller", "controllers"),
    };
    if args.places {
        let path = format!(
            "/bindable/places{}",
            query(&[
                ("kind", Some(kind.into())),
                ("type", Some(args.type_name)),
                ("site", args.site),
                ("building", args.building),
            ])
        );
        output.list(
            &api.get(&path)?,
            &[("PLACE", "/name"), ("INSTANCES", "/instances")],
        );
        return Ok(());
    }
    let path = format!(
        "/bindable/{collection}{}",
        query(&[
            ("type", Some(args.type_name)),
            ("site", args.site),
            ("building", args.building),
            ("room", args.room),
            ("q", args.name_contains),
            ("limit", args.limit.map(|n| n.to_string())),
            ("offset", args.offset.map(|n| n.to_string())),
        ])
    );
    output.list(
        &api.get(&path)?,
        &[
            ("ID", "/id"),
            ("NAME", "/name"),
            ("SITE", "/location/site"),
            ("BUILDING", "/location/building"),
            ("ROOM", "/location/room"),
        ],
    );
    Ok(())
}
