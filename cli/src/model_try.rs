//! `trellis model try`: one input through a model version's pipeline, as the portal's "try it"
//! sends it (JSON, or a file's bytes with its media type), with the answer and how long it took:
//! in all, and on the server (its `Server-Timing`).

use std::path::Path;
use std::time::Instant;

use anyhow::Context;

use crate::client::{Api, read_answer};
use crate::output::Output;

/// The media type a file is sent with, by its extension; the contract reads the bytes anyway.
fn media_type(file: &Path) -> &'static str {
    match file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("pgm") => "image/x-portable-graymap",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// Runs the input (`--input` JSON text, or a file) through `model` (`name` or `name@version`).
pub fn run(
    api: &Api,
    output: Output,
    model: &str,
    input: Option<String>,
    file: Option<&Path>,
) -> anyhow::Result<()> {
    let (name, version) = model.split_once('@').unwrap_or((model, "latest"));
    let (media_type, body) = match (input, file) {
        (Some(text), None) => {
            serde_json::from_str::<serde_json::Value>(&text)
                .context("--input is not valid JSON")?;
            ("application/json", text.into_bytes())
        }
        (None, Some(file)) => (
            media_type(file),
            std::fs::read(file).with_context(|| format!("reading {}", file.display()))?,
        ),
        _ => anyhow::bail!("give the input as --input JSON or --file PATH (one of them)"),
    };
    let path = format!("/models/{name}/{version}/predict");
    let started = Instant::now();
    let response = api
        .request(reqwest::Method::POST, &path)
        .header(reqwest::header::CONTENT_TYPE, media_type)
        .body(body)
        .send()
        .map_err(|e| crate::client::unreachable(&api.session.url, e))?;
    let server_ms = response
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("predict;dur="))
        .and_then(|ms| ms.parse::<f64>().ok());
    // Which version answered: what `latest` named.
    let answered_by = response
        .headers()
        .get("trellis-model-version")
        .and_then(|v| v.to_str().ok())
        .map_or(String::new(), |version| format!("{name} {version}; "));
    let answer = read_answer(response)?;
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    let server = server_ms.map_or(String::new(), |ms| format!(", {ms:.1} ms on the server"));
    output.done(
        &answer,
        format!("{answer}\n({answered_by}took {took_ms:.1} ms in all{server})"),
    );
    Ok(())
}
