//! `trellis collect`: removes now the stored artifacts no model or app version refers to (admins).

use trellis_protocol::api::Collected;

use crate::client::{Api, typed};
use crate::output::Output;

pub fn collect(output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    let answer = api.post("/admin/collect", &serde_json::json!({}))?;
    let report: Collected = typed("/admin/collect", answer.clone())?;
    output.done(
        &answer,
        format!(
            "removed {} artifact(s) ({} bytes) and {} compiled component(s) ({} bytes); kept {} artifact(s) ({} bytes) that versions use",
            report.removed.files,
            report.removed.bytes,
            report.removed_compiled.files,
            report.removed_compiled.bytes,
            report.kept.files,
            report.kept.bytes
        ),
    );
    Ok(())
}
