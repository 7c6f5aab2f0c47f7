//! The process's own log: platform events (`tracing`) on stderr, filtered like `RUST_LOG`.

use std::sync::OnceLock;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// What is shown when `RUST_LOG` is unset: what the platform does, not its libraries' chatter.
/// Guest log lines have the target `guest`.
const DEFAULT_FILTER: &str = "warn,trellis=info,trellis_control=info,trellis_node=info,\
trellis_host=info,trellis_models=info,trellis_bus=info,guest=info";

/// How each event is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line a event, for people.
    #[default]
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Installs the subscriber for the whole process. `RUST_LOG` overrides the default filter.
pub fn install(format: LogFormat) {
    FORMAT.get_or_init(|| format);
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in files and pipes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // A second install (never expected) keeps the first subscriber rather than failing.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The `--log-format` value this process was started with, for the processes it starts.
pub fn format_arg() -> &'static str {
    match FORMAT.get().copied().unwrap_or_default() {
        LogFormat::Text => "text",
        LogFormat::Json => "json",
    }
}
