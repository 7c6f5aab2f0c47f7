//! `trellis readings SENSOR`: a sensor's stored history, downsampled by the control plane to
//! the points asked for; and `trellis locations`, the places instances are at.

use clap::Args;
use serde_json::Value;

use crate::client::Api;
use crate::output::Output;
use crate::registry::query;

#[derive(Args)]
pub struct ReadingsArgs {
    /// The sensor's id.
    sensor: String,
    /// From this moment: RFC 3339, or a span back from now such as `10m`, `2h`, `90d`
    /// (default: the oldest stored reading).
    #[arg(long)]
    since: Option<String>,
    /// Before this moment, written as --since (default: now).
    #[arg(long)]
    until: Option<String>,
    /// The most points to print (default 500, at most 5000); a range holding more readings
    /// is printed as this many time buckets with their count, min, mean and max.
    #[arg(long)]
    points: Option<u32>,
}

pub fn readings(args: ReadingsArgs, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    let history = api.get(&format!(
        "/sensors/{}/readings{}",
        args.sensor,
        query(&[
            ("since", args.since),
            ("until", args.until),
            ("points", args.points.map(|n| n.to_string())),
        ])
    ))?;
    if output.json {
        output.done(&history, String::new());
        return Ok(());
    }
    let total = history["total"].as_u64().unwrap_or(0);
    if history["downsampled"] == Value::Bool(true) {
        println!(
            "{total} reading(s), in {} bucket(s):",
            history["buckets"].as_array().map_or(0, Vec::len)
        );
        output.list(
            &history["buckets"],
            &[
                ("FROM", "/at"),
                ("COUNT", "/count"),
                ("MIN", "/min"),
                ("MEAN", "/mean"),
                ("MAX", "/max"),
            ],
        );
    } else {
        println!("{total} reading(s):");
        output.list(&history["readings"], &[("AT", "/at"), ("VALUE", "/value")]);
    }
    Ok(())
}

/// Prints every site, building and room with instances, with how many of each type.
pub fn locations(output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    let tree = api.get("/locations")?;
    if output.json {
        output.done(&tree, String::new());
        return Ok(());
    }
    let mut rows = Vec::new();
    for site in tree["sites"].as_array().into_iter().flatten() {
        rows.push(place(
            &site["name"],
            &Value::Null,
            &Value::Null,
            &site["counts"],
        ));
        for building in site["buildings"].as_array().into_iter().flatten() {
            rows.push(place(
                &site["name"],
                &building["name"],
                &Value::Null,
                &building["counts"],
            ));
            for room in building["rooms"].as_array().into_iter().flatten() {
                rows.push(place(
                    &site["name"],
                    &building["name"],
                    &room["name"],
                    &room["counts"],
                ));
            }
        }
    }
    output.list(
        &Value::Array(rows),
        &[
            ("SITE", "/site"),
            ("BUILDING", "/building"),
            ("ROOM", "/room"),
            ("SENSORS", "/sensors"),
            ("CONTROLLERS", "/controllers"),
        ],
    );
    Ok(())
}

fn place(site: &Value, building: &Value, room: &Value, counts: &Value) -> Value {
    serde_json::json!({
        "site": site,
        "building": building,
        "room": room,
        "sensors": counts["sensors"],
        "controllers": counts["controllers"],
    })
}
