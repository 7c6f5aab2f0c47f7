//! `trellis deploy`: an end user's app bound to instances chosen by name or by location, with
//! parameters and a schedule.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use trellis_protocol::api::{AppVersion, Deployment, Device, NewDeployment, Schedule};

use crate::client::Api;
use crate::output::Output;
use crate::registry::{parse_pair, query};
use crate::status::{describe_models, describe_schedule};

#[derive(clap::Args)]
pub struct DeployArgs {
    /// The app's name.
    app: String,
    /// The app version; default the newest.
    #[arg(long)]
    version: Option<String>,
    #[command(flatten)]
    settings: SettingsArgs,
}

/// What `trellis deploy` sets and `trellis deployment set` changes: bindings, parameters, node
/// labels and schedule.
#[derive(clap::Args)]
pub struct SettingsArgs {
    /// Bind a role to an instance by name or id: `temperature=north-temperature` (repeatable;
    /// repeat a role to bind several instances).
    #[arg(long = "bind", value_parser = parse_pair)]
    bind: Vec<(String, String)>,
    /// Bind every role not bound with --bind to the instances of its type at this location
    /// that you may use (`trellis bindable` lists them): `site=north`, `site=north,room=room-1`.
    #[arg(long)]
    at: Option<String>,
    /// Set a parameter: `fan-above=25` (repeatable).
    #[arg(long = "set", value_parser = parse_pair)]
    pub set: Vec<(String, String)>,
    /// Run only on nodes with this label, e.g. `site=north` (repeatable).
    #[arg(long = "node-label", value_parser = parse_pair)]
    pub node_labels: Vec<(String, String)>,
    /// Run in a window from this time (RFC 3339, e.g. 2026-12-01T08:00:00Z) ...
    #[arg(long, requires = "end", conflicts_with = "cron")]
    start: Option<String>,
    /// ... until this time.
    #[arg(long, requires = "start")]
    end: Option<String>,
    /// Run at each time this cron expression names (five fields, UTC) ...
    #[arg(long, requires = "duration_minutes")]
    cron: Option<String>,
    /// ... for this many minutes each time ...
    #[arg(long)]
    duration_minutes: Option<u32>,
    /// ... at most this many times.
    #[arg(long, requires = "cron")]
    count: Option<u32>,
}

impl SettingsArgs {
    /// The instances bound to each role of `app`: by --bind, else by --at. With `every_role`,
    /// a role neither names is an error; without, it is left out (it keeps its binding).
    pub fn bindings(
        &self,
        api: &Api,
        app: &AppVersion,
        every_role: bool,
    ) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
        let location = match &self.at {
            Some(at) => at
                .split(',')
                .map(parse_pair)
                .collect::<Result<Vec<_>, _>>()
                .map_err(anyhow::Error::msg)?,
            None => Vec::new(),
        };
        let mut bindings: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (collection, roles) in [("sensors", &app.sensors), ("controllers", &app.controllers)] {
            for (role, spec) in roles {
                let type_name = &spec.type_name;
                let named: Vec<&String> = self
                    .bind
                    .iter()
                    .filter(|(r, _)| r == role)
                    .map(|(_, i)| i)
                    .collect();
                if named.is_empty() && location.is_empty() && !every_role {
                    continue;
                }
                let chosen: Vec<String> = if !named.is_empty() {
                    let of_type: Vec<Device> = api.get_as(&format!(
                        "/{collection}{}",
                        query(&[("type", Some(type_name.clone()))])
                    ))?;
                    named
                        .into_iter()
                        .map(|wanted| {
                            of_type
                                .iter()
                                .find(|d| &d.name == wanted || &d.id == wanted)
                                .map(|d| d.id.clone())
                                .with_context(|| {
                                    format!(
                                        "role `{role}`: no `{type_name}` instance called {wanted}"
                                    )
                                })
                        })
                        .collect::<anyhow::Result<_>>()?
                } else if !location.is_empty() {
                    // Only instances this user may use there, as the API answers them.
                    let mut pairs = vec![
                        ("type", Some(type_name.clone())),
                        ("limit", Some(spec.max.to_string())),
                    ];
                    for (part, value) in &location {
                        if !["site", "building", "room"].contains(&part.as_str()) {
                            bail!(
                                "--at {part}=...: a location is given by site, building and room"
                            );
                        }
                        pairs.push((part.as_str(), Some(value.clone())));
                    }
                    let usable: Vec<Device> =
                        api.get_as(&format!("/bindable/{collection}{}", query(&pairs)))?;
                    usable.into_iter().map(|d| d.id).collect()
                } else {
                    bail!(
                        "role `{role}` needs a `{type_name}` instance: bind it with --bind {role}=NAME or choose a location with --at site=NAME"
                    );
                };
                bindings.insert(role.clone(), chosen);
            }
        }
        if let Some((role, _)) = self
            .bind
            .iter()
            .find(|(role, _)| !bindings.contains_key(role))
        {
            bail!("--bind {role}=...: `{role}` is not a role of {}", app.name);
        }
        Ok(bindings)
    }

    /// The schedule the flags give, if they give one.
    pub fn schedule(&self) -> anyhow::Result<Option<Schedule>> {
        Ok(match (&self.start, &self.end, &self.cron) {
            (Some(start), Some(end), _) => Some(Schedule::Window {
                start: parse_time("--start", start)?,
                end: parse_time("--end", end)?,
            }),
            (_, _, Some(cron)) => Some(Schedule::Cron {
                expression: cron.clone(),
                duration_minutes: self.duration_minutes.unwrap_or_default(),
                count: self.count,
            }),
            _ => None,
        })
    }
}

pub fn deploy(args: DeployArgs, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    let versions: Vec<AppVersion> = api.get_as(&format!("/apps/{}", args.app))?;
    let app = match &args.version {
        None => versions.into_iter().next(),
        Some(v) => versions.into_iter().find(|a| &a.version == v),
    }
    .with_context(|| format!("app {} has no such version", args.app))?;

    let bindings = args.settings.bindings(&api, &app, true)?;
    let schedule = args.settings.schedule()?.unwrap_or_default();
    let body = NewDeployment {
        app: args.app.clone(),
        version: Some(app.version),
        bindings,
        config: args.settings.set.into_iter().collect(),
        schedule,
        node_labels: args.settings.node_labels.into_iter().collect(),
    };
    let answer = api.post("/deployments", &body)?;
    let deployment: Deployment = crate::client::typed("/deployments", answer.clone())?;
    output.done(
        &answer,
        format!(
            "deployed {} {} as {} ({}; models: {})",
            args.app,
            deployment.version,
            deployment.id,
            describe_schedule(&deployment.schedule),
            describe_models(&deployment.models)
        ),
    );
    Ok(())
}

/// An RFC 3339 time given on the command line.
fn parse_time(flag: &str, text: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    text.parse().with_context(|| {
        format!("{flag} {text}: not an RFC 3339 time such as 2026-12-01T08:00:00Z")
    })
}
