//! `trellis build [DIR]`: builds an app or contract project into a component with its
//! language's toolchain (cargo, componentize-py or componentize-js), as `trellis-guest-build`
//! does for the repository's own examples.

use std::path::PathBuf;

use serde_json::json;
use trellis_guest_build::Project;

use crate::output::Output;

#[derive(clap::Args)]
pub struct BuildArgs {
    /// The project's folder (`trellis new` makes one). Default: the current folder.
    dir: Option<PathBuf>,
}

pub fn build(args: BuildArgs, output: Output) -> anyhow::Result<()> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let project = Project::detect(&dir)?;
    if !output.json {
        eprintln!(
            "building the {} {} `{}` in {}",
            project.language,
            project.world.name(),
            project.name,
            dir.display()
        );
    }
    let built = project.build(None)?;
    if output.json {
        let answer = json!({
            "path": built.path,
            "size": built.size,
            "seconds": built.elapsed.as_secs_f64(),
            "reused": built.reused,
            "language": project.language.to_string(),
            "world": project.world.name(),
            "name": project.name,
        });
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    // The path alone on the first line, for `trellis run "$(trellis build | head -1)"`.
    println!("{}", built.path.display());
    let how = if built.reused {
        "reused: unchanged since the last build".to_string()
    } else {
        format!("built in {:.1} s", built.elapsed.as_secs_f64())
    };
    println!(
        "  {:.1} MB ({} bytes), {how}",
        built.size as f64 / 1e6,
        built.size
    );
    Ok(())
}
