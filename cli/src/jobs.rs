//! `trellis job`: prediction jobs. Submit a CSV (one input a row) or a zip of images to a model
//! version and watch its progress; list jobs, show one, cancel one, download its results.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use trellis_protocol::api::{JobState, PredictionJob};

use crate::client::{Api, read_answer, typed};
use crate::output::Output;

/// How often a waiting `submit` asks how far the job got.
const POLL: Duration = Duration::from_millis(300);

#[derive(clap::Subcommand)]
pub enum JobCommand {
    /// Run every input of FILE through a model and wait for it with a progress bar. A CSV has a
    /// header row; an optional `id` column names each row; the other columns are the input
    /// (several: numbers in column order; one: read as the predict route reads JSON). A `.zip`
    /// holds one image a file.
    Submit {
        /// `MODEL` (its latest version) or `MODEL@VERSION`.
        model: String,
        file: PathBuf,
        /// Print the job's id and return at once.
        #[arg(long)]
        no_wait: bool,
    },
    /// Your jobs (every job, for admins), newest first.
    List,
    /// One job's state and progress.
    Status { id: String },
    /// Stop a queued or running job; the rows done so far stay downloadable.
    Cancel { id: String },
    /// Download an ended job's results as CSV.
    Results {
        id: String,
        /// Where to write them; standard output if not given.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

pub fn job(command: JobCommand, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    match command {
        JobCommand::Submit {
            model,
            file,
            no_wait,
        } => submit(&api, output, &model, &file, no_wait),
        JobCommand::List => {
            let jobs = api.get("/jobs")?;
            output.list(
                &jobs,
                &[
                    ("ID", "/id"),
                    ("MODEL", "/model"),
                    ("VERSION", "/version"),
                    ("OWNER", "/owner"),
                    ("STATE", "/state"),
                    ("DONE", "/rows_done"),
                    ("FAILED", "/rows_failed"),
                    ("TOTAL", "/rows_total"),
                    ("MS", "/duration_ms"),
                ],
            );
            Ok(())
        }
        JobCommand::Status { id } => {
            let answer = api.get(&format!("/jobs/{id}"))?;
            let job: PredictionJob = typed("/jobs/{id}", answer.clone())?;
            output.done(&answer, describe(&job));
            Ok(())
        }
        JobCommand::Cancel { id } => {
            let answer = api.post(&format!("/jobs/{id}/cancel"), &serde_json::json!({}))?;
            let job: PredictionJob = typed("/jobs/{id}/cancel", answer.clone())?;
            output.done(&answer, format!("cancelled {}", describe(&job)));
            Ok(())
        }
        JobCommand::Results { id, output: file } => results(&api, &id, file),
    }
}

fn submit(
    api: &Api,
    output: Output,
    model: &str,
    file: &std::path::Path,
    no_wait: bool,
) -> anyhow::Result<()> {
    let (name, version) = model.split_once('@').unwrap_or((model, "latest"));
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let media_type = match extension.as_str() {
        "csv" => "text/csv",
        "zip" => "application/zip",
        _ => anyhow::bail!(
            "{}: a job's file is a .csv (one input a row) or a .zip of images",
            file.display()
        ),
    };
    let opened =
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let size = opened.metadata()?.len();
    let upload = ProgressBar::new(size).with_style(
        ProgressStyle::with_template("uploading [{bar:30}] {bytes}/{total_bytes}")
            .expect("a valid progress template")
            .progress_chars("=> "),
    );
    let body = reqwest::blocking::Body::sized(upload.wrap_read(opened), size);
    let path = format!("/models/{name}/{version}/jobs");
    let answer = api.send(
        api.request(reqwest::Method::POST, &path)
            .header(reqwest::header::CONTENT_TYPE, media_type)
            .body(body),
    );
    upload.finish_and_clear();
    let job: PredictionJob = typed(&path, answer?)?;
    if no_wait {
        output.done(
            &serde_json::to_value(&job)?,
            format!("submitted job {}", job.id),
        );
        return Ok(());
    }
    let job = follow(api, &job.id)?;
    output.done(&serde_json::to_value(&job)?, describe(&job));
    match job.state {
        JobState::Succeeded => Ok(()),
        _ => anyhow::bail!("job {} {}", job.id, job.state.as_str()),
    }
}

/// Polls the job until it ends, showing its progress.
fn follow(api: &Api, id: &str) -> anyhow::Result<PredictionJob> {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} rows ({per_sec}, {eta} left)")
            .expect("a valid progress template")
            .progress_chars("=> "),
    );
    loop {
        let job: PredictionJob = api.get_as(&format!("/jobs/{id}"))?;
        if let Some(total) = job.rows_total {
            bar.set_length(total);
        }
        bar.set_position(job.rows_done);
        bar.set_message(format!("{} {}", job.id, job.state.as_str()));
        if job.state.is_finished() {
            bar.finish_and_clear();
            return Ok(job);
        }
        std::thread::sleep(POLL);
    }
}

fn describe(job: &PredictionJob) -> String {
    let total = job
        .rows_total
        .map_or_else(|| "?".to_string(), |t| t.to_string());
    let mut text = format!(
        "job {} ({} {}): {}, {}/{} rows, {} failed",
        job.id,
        job.model,
        job.version,
        job.state.as_str(),
        job.rows_done,
        total,
        job.rows_failed
    );
    if let Some(ms) = job.duration_ms {
        text.push_str(&format!(", {:.1} s", ms as f64 / 1000.0));
        if ms > 0 && job.rows_done > 0 {
            text.push_str(&format!(
                " ({:.0} rows/s)",
                job.rows_done as f64 * 1000.0 / ms as f64
            ));
        }
    }
    if let Some(error) = &job.error {
        text.push_str(&format!("; {error}"));
    }
    if job.state.is_finished() && job.rows_done > 0 {
        text.push_str(&format!("\nresults: trellis job results {}", job.id));
    }
    text
}

/// Streams the results CSV to `file` (or standard output).
fn results(api: &Api, id: &str, file: Option<PathBuf>) -> anyhow::Result<()> {
    let path = format!("/jobs/{id}/results");
    let mut response = api
        .request(reqwest::Method::GET, &path)
        .send()
        .map_err(|e| crate::client::unreachable(&api.session.url, e))?;
    if !response.status().is_success() {
        read_answer(response)?;
        anyhow::bail!("{path}: no results");
    }
    match file {
        Some(file) => {
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(&file)
                    .with_context(|| format!("creating {}", file.display()))?,
            );
            let bytes = response.copy_to(&mut out)?;
            out.flush()?;
            eprintln!("wrote {bytes} bytes of results to {}", file.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            response.copy_to(&mut out)?;
            out.flush()?;
        }
    }
    Ok(())
}
