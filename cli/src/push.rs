//! `trellis model` and `trellis app`: a package from a directory, uploaded with a progress bar;
//! listing versions; deleting one.

use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::blocking::multipart::{Form, Part};

use trellis_protocol::api::{Deployment, Upgrade};

use crate::client::Api;
use crate::output::Output;

#[derive(clap::Subcommand)]
pub enum ModelCommand {
    /// Upload a model package: DIR holds model.toml and model.onnx, and contract.wasm unless
    /// --contract names the contract component elsewhere; or DIR is a .zip holding the three.
    Push {
        dir: PathBuf,
        #[arg(long)]
        contract: Option<PathBuf>,
    },
    /// List models and their versions.
    List,
    /// Run one input through a model, as the portal's "try it" does: MODEL is a name (its
    /// newest version) or name@version; the input is --input JSON or --file PATH (e.g. a PNG).
    Try {
        model: String,
        #[arg(long, value_name = "JSON", conflicts_with = "file")]
        input: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Delete a model version (its owner or an admin), unless a deployment runs it; deleting the
    /// last version deletes the name.
    Delete { name: String, version: String },
    /// Each version's requests, mean and 95th-percentile latency over the last 5 minutes.
    Stats { name: String },
}

#[derive(clap::Subcommand)]
pub enum AppCommand {
    /// Upload an app: DIR holds trellis.toml, and app.wasm unless --component names the
    /// component elsewhere (e.g. target/wasm32-wasip1/release/my_app.wasm).
    Push {
        dir: PathBuf,
        #[arg(long)]
        component: Option<PathBuf>,
        /// Then upgrade every deployment of the app you may change to the new version.
        #[arg(long)]
        roll: bool,
    },
    /// List apps and their versions.
    List,
    /// Delete an app version (its owner or an admin), unless a deployment runs it; deleting the
    /// last version deletes the name.
    Delete { name: String, version: String },
}

pub fn model(command: ModelCommand, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    match command {
        ModelCommand::Push { dir, contract } => {
            let files = if dir
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
            {
                anyhow::ensure!(
                    contract.is_none(),
                    "--contract names a file beside a directory; {} is a .zip, which holds the contract itself",
                    dir.display()
                );
                vec![("package.zip", dir)]
            } else {
                let contract = contract.unwrap_or_else(|| dir.join("contract.wasm"));
                vec![
                    ("model.toml", dir.join("model.toml")),
                    ("model.onnx", dir.join("model.onnx")),
                    ("contract.wasm", contract),
                ]
            };
            let model = upload(&api, "/models", &files)?;
            output.done(
                &model,
                format!(
                    "pushed model {} {} (runs on {})",
                    model["name"].as_str().unwrap_or("?"),
                    model["version"].as_str().unwrap_or("?"),
                    model["backend"].as_str().unwrap_or("?")
                ),
            );
        }
        ModelCommand::List => output.list(
            &api.get("/models")?,
            &[
                ("NAME", "/name"),
                ("VERSION", "/version"),
                ("BACKEND", "/backend"),
                ("INPUTS", "/inputs"),
                ("OWNER", "/owner"),
                ("UPLOADED BY", "/uploaded_by"),
            ],
        ),
        ModelCommand::Try { model, input, file } => {
            crate::model_try::run(&api, output, &model, input, file.as_deref())?;
        }
        ModelCommand::Delete { name, version } => {
            delete(&api, output, "model", &name, &version)?;
        }
        ModelCommand::Stats { name } => output.list(
            &api.get(&format!("/models/{name}/stats"))?["versions"],
            &[
                ("VERSION", "/version"),
                ("REQUESTS", "/requests"),
                ("MEAN MS", "/mean_latency_ms"),
                ("P95 MS", "/p95_latency_ms"),
            ],
        ),
    }
    Ok(())
}

pub fn app(command: AppCommand, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    match command {
        AppCommand::Push {
            dir,
            component,
            roll,
        } => {
            let component = component.unwrap_or_else(|| dir.join("app.wasm"));
            let files = [
                ("trellis.toml", dir.join("trellis.toml")),
                ("app.wasm", component),
            ];
            let app = upload(&api, "/apps", &files)?;
            output.done(
                &app,
                format!(
                    "pushed app {} {}",
                    app["name"].as_str().unwrap_or("?"),
                    app["version"].as_str().unwrap_or("?")
                ),
            );
            if roll {
                let name = app["name"].as_str().unwrap_or_default();
                let version = app["version"].as_str().unwrap_or_default();
                roll_out(&api, name, version)?;
            }
        }
        AppCommand::List => output.list(
            &api.get("/apps")?,
            &[
                ("NAME", "/name"),
                ("VERSION", "/version"),
                ("SENSORS", "/sensors"),
                ("CONTROLLERS", "/controllers"),
                ("MODELS", "/models"),
                ("OWNER", "/owner"),
            ],
        ),
        AppCommand::Delete { name, version } => {
            delete(&api, output, "app", &name, &version)?;
        }
    }
    Ok(())
}

/// Upgrades every deployment of app `name` the caller may change (an end user their own, an
/// admin all) to `version`, printing each; an error at the end if any could not be upgraded.
fn roll_out(api: &Api, name: &str, version: &str) -> anyhow::Result<()> {
    let deployments: Vec<Deployment> = api.get_as("/deployments")?;
    let session = &api.session;
    let mine = |d: &Deployment| session.role == "admin" || d.owner == session.user;
    let targets: Vec<&Deployment> = deployments
        .iter()
        .filter(|d| d.app == name && d.version != version && mine(d))
        .collect();
    if targets.is_empty() {
        println!("no deployment of {name} for you to upgrade");
        return Ok(());
    }
    let mut failed = 0;
    for d in targets {
        let upgrade = Upgrade {
            version: version.into(),
        };
        match api.post(&format!("/deployments/{}/upgrade", d.id), &upgrade) {
            Ok(_) => println!(
                "upgraded {} ({}) from {} to {version}",
                d.id, d.owner, d.version
            ),
            Err(e) => {
                failed += 1;
                println!("did not upgrade {} ({}): {e:#}", d.id, d.owner);
            }
        }
    }
    anyhow::ensure!(failed == 0, "{failed} deployment(s) of {name} not upgraded");
    Ok(())
}

/// Deletes version `version` of the `kind` (model or app) called `name`.
fn delete(api: &Api, output: Output, kind: &str, name: &str, version: &str) -> anyhow::Result<()> {
    let path = format!("/{kind}s/{name}/{version}");
    let answer = api.send(api.request(reqwest::Method::DELETE, &path))?;
    output.done(&answer, format!("deleted {kind} {name} {version}"));
    Ok(())
}

/// Uploads `files` (part name, path) as one multipart request, showing progress on a terminal.
fn upload(api: &Api, path: &str, files: &[(&str, PathBuf)]) -> anyhow::Result<serde_json::Value> {
    let mut total = 0;
    for (part, file) in files {
        let size = std::fs::metadata(file)
            .with_context(|| missing(part, file))?
            .len();
        total += size;
    }
    let progress = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes}")
            .expect("a valid progress template")
            .progress_chars("=> "),
    );
    progress.set_message(format!("uploading to {path}"));
    let mut form = Form::new();
    for (part, file) in files {
        let opened = std::fs::File::open(file).with_context(|| missing(part, file))?;
        let size = opened.metadata()?.len();
        let reader = progress.wrap_read(opened);
        form = form.part(
            part.to_string(),
            Part::reader_with_length(reader, size).file_name(part.to_string()),
        );
    }
    let answer = api.send(api.request(reqwest::Method::POST, path).multipart(form));
    progress.finish_and_clear();
    answer
}

fn missing(part: &str, file: &Path) -> String {
    format!("reading {part} from {}", file.display())
}
