//! `trellis schedule preview "CRON"`: the next start times of a cron expression, as the control
//! plane reads deployments' schedules, before deploying with it.

use clap::Subcommand;
use trellis_protocol::live::SchedulePreview;

use crate::client::Api;
use crate::output::Output;

#[derive(Subcommand)]
pub enum ScheduleCommand {
    /// The next start times (UTC) of a five-field cron expression, e.g. "0 8 * * MON-FRI".
    Preview {
        cron: String,
        /// How many start times (1 to 100).
        #[arg(long, default_value_t = 5)]
        count: u32,
    },
}

pub fn schedule(command: ScheduleCommand, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    match command {
        ScheduleCommand::Preview { cron, count } => {
            let request = api
                .request(reqwest::Method::GET, "/schedules/preview")
                .query(&[("cron", cron), ("count", count.to_string())]);
            let answer = api.send(request)?;
            let preview: SchedulePreview =
                crate::client::typed("/schedules/preview", answer.clone())?;
            if output.json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
            } else if preview.starts.is_empty() {
                println!("`{}` does not start again", preview.cron);
            } else {
                for start in preview.starts {
                    println!("{start}");
                }
            }
        }
    }
    Ok(())
}
