//! `trellis logs`: the log lines and lifecycle events the caller may read, filtered; `-f`
//! follows new ones as they are stored (the API's server-sent-event tail), `--format` downloads
//! every matching line as NDJSON or CSV to stdout.

use std::io::{BufRead, BufReader, Write};

use anyhow::Context;
use clap::{Args, ValueEnum};
use trellis_protocol::logs::{LogLine, LogPage};

use crate::client::{Api, read_answer, unreachable};
use crate::output::Output;

#[derive(Args)]
pub struct LogsArgs {
    /// Only this deployment's lines (its id).
    deployment: Option<String>,
    /// Follow: print new lines as they are stored, until interrupted.
    #[arg(short, long)]
    follow: bool,
    /// This level or worse: trace, debug, info, warn, error.
    #[arg(long)]
    level: Option<String>,
    /// Only lines holding every word of TEXT (any case).
    #[arg(long, value_name = "TEXT")]
    grep: Option<String>,
    /// From this moment: a span back from now (30s, 10m, 2h, 7d) or an RFC 3339 time.
    #[arg(long)]
    since: Option<String>,
    /// Before this moment, written as --since.
    #[arg(long)]
    until: Option<String>,
    /// Only lines from this node.
    #[arg(long)]
    node: Option<String>,
    /// Only the lines of this app's deployments.
    #[arg(long)]
    app: Option<String>,
    /// Only the app's own lines (`guest`) or only lifecycle events (`platform`).
    #[arg(long)]
    source: Option<String>,
    /// How many of the newest lines to print (before following, with -f).
    #[arg(short = 'n', long, default_value_t = 100)]
    lines: u32,
    /// Download every matching line, oldest first, to stdout.
    #[arg(long, conflicts_with = "follow")]
    format: Option<Format>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Ndjson,
    Csv,
}

impl LogsArgs {
    /// The filters as query parameters.
    fn filters(&self) -> Vec<(&'static str, String)> {
        let named = [
            ("deployment", &self.deployment),
            ("level", &self.level),
            ("text", &self.grep),
            ("since", &self.since),
            ("until", &self.until),
            ("node", &self.node),
            ("app", &self.app),
            ("source", &self.source),
        ];
        named
            .into_iter()
            .filter_map(|(name, value)| Some((name, value.clone()?)))
            .collect()
    }
}

pub fn logs(args: LogsArgs, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    let filters = args.filters();
    if let Some(format) = args.format {
        return download(&api, filters, format);
    }
    let mut after = None;
    if args.lines > 0 {
        let mut query = filters.clone();
        query.push(("limit", args.lines.to_string()));
        let answer = api.send(api.request(reqwest::Method::GET, "/logs").query(&query))?;
        let page: LogPage = crate::client::typed("/logs", answer)?;
        for line in page.lines.iter().rev() {
            print_line(line, output);
        }
        // Everything up to the newest line printed (or, with none, every line) is seen.
        after = Some(page.lines.first().map_or(0, |line| line.id));
    }
    if args.follow {
        follow(&api, filters, after, output)?;
    }
    Ok(())
}

/// Streams the download to stdout as it comes.
fn download(api: &Api, mut query: Vec<(&str, String)>, format: Format) -> anyhow::Result<()> {
    let name = match format {
        Format::Ndjson => "ndjson",
        Format::Csv => "csv",
    };
    query.push(("format", name.to_string()));
    let mut response = streaming_get(api, "/logs", &query, None)?;
    let mut stdout = std::io::stdout().lock();
    std::io::copy(&mut response, &mut stdout).context("writing the download")?;
    stdout.flush()?;
    Ok(())
}

/// Prints each new line the tail sends, until the stream ends or the process is interrupted.
fn follow(
    api: &Api,
    mut query: Vec<(&str, String)>,
    after: Option<i64>,
    output: Output,
) -> anyhow::Result<()> {
    if let Some(after) = after {
        query.push(("after", after.to_string()));
    }
    let response = streaming_get(api, "/logs/tail", &query, Some("text/event-stream"))?;
    let (mut event, mut data) = (String::new(), String::new());
    for text in BufReader::new(response).lines() {
        let text = text.context("reading the live tail")?;
        if let Some(name) = text.strip_prefix("event:") {
            event = name.trim().to_string();
        } else if let Some(part) = text.strip_prefix("data:") {
            data.push_str(part.trim_start());
        } else if text.is_empty() {
            match event.as_str() {
                "line" => {
                    let line: LogLine =
                        serde_json::from_str(&data).context("reading a line of the live tail")?;
                    print_line(&line, output);
                }
                "lagged" => eprintln!("(this tail fell behind: {data} batch(es) of lines skipped)"),
                _ => {}
            }
            event.clear();
            data.clear();
        }
    }
    Ok(())
}

/// A GET whose answer is read as it arrives, with no overall time limit.
pub(crate) fn streaming_get(
    api: &Api,
    path: &str,
    query: &[(&str, String)],
    accept: Option<&str>,
) -> anyhow::Result<reqwest::blocking::Response> {
    let client = crate::client::builder()?.timeout(None).build()?;
    let mut request = client
        .get(api.url(path))
        .bearer_auth(&api.session.token)
        .query(query);
    if let Some(accept) = accept {
        request = request.header(reqwest::header::ACCEPT, accept);
    }
    let response = request
        .send()
        .map_err(|e| unreachable(&api.session.url, e))?;
    if !response.status().is_success() {
        read_answer(response)?;
        anyhow::bail!("the control plane refused {path}");
    }
    Ok(response)
}

/// One line for people (`TIME LEVEL NODE/DEPLOYMENT [EVENT] TEXT`), or its JSON with --json.
fn print_line(line: &LogLine, output: Output) {
    let mut stdout = std::io::stdout().lock();
    let printed = if output.json {
        writeln!(
            stdout,
            "{}",
            serde_json::to_string(line).unwrap_or_default()
        )
    } else {
        let origin = match (&line.node, &line.deployment) {
            (Some(node), Some(deployment)) => format!("{node}/{deployment}"),
            (Some(node), None) => node.clone(),
            (None, Some(deployment)) => deployment.clone(),
            (None, None) => "control-plane".into(),
        };
        let event = line
            .event
            .as_ref()
            .map(|e| format!("[{e}] "))
            .unwrap_or_default();
        writeln!(
            stdout,
            "{} {:5} {origin} {event}{}",
            line.time,
            line.level.as_str().to_uppercase(),
            line.text
        )
    };
    // A closed stdout (`trellis logs | head`) ends the output, not in a panic.
    if printed.and_then(|()| stdout.flush()).is_err() {
        std::process::exit(0);
    }
}
