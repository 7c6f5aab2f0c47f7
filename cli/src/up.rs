//! `trellis up`: the control plane on this machine, with nothing else installed (SQLite file,
//! artifact store and compiled-component cache under one data directory).

use std::net::SocketAddr;
use std::path::PathBuf;

use trellis_control::{Application, Settings};

#[derive(clap::Args)]
pub struct UpArgs {
    /// Where the registry, artifacts and compiled components live.
    #[arg(long, default_value = "trellis-data")]
    data_dir: PathBuf,
    /// Address to serve the API on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// The registry database: `sqlite://FILE` or `postgres://...`. Default: SQLite in the data
    /// directory.
    #[arg(long, env = "TRELLIS_DATABASE_URL")]
    database: Option<String>,
    /// The first admin's password on a fresh registry. Default: one is made up and printed once.
    #[arg(long, env = "TRELLIS_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Largest upload accepted, in MiB.
    #[arg(long, default_value_t = 64)]
    max_upload_mb: usize,
}

pub fn up(args: UpArgs) -> anyhow::Result<()> {
    let mut settings = Settings::local(args.data_dir);
    settings.listen = args.listen;
    if let Some(database) = args.database {
        settings.database_url = database;
    }
    settings.admin_password = args.admin_password;
    settings.max_upload_bytes = args.max_upload_mb << 20;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let app = Application::build(settings.clone()).await?;
        let url = format!("http://{}", app.local_addr());
        println!("Trellis control plane on {url}");
        println!("  API docs: {url}/api/v1/docs");
        println!("  registry: {}", redact(&settings.database_url));
        if let Some(admin) = &app.first_admin {
            if admin.generated {
                println!(
                    "  first admin: `{}`, password `{}` (shown once; log in with `trellis login --url {url} --user {}`)",
                    admin.name, admin.password, admin.name
                );
            } else {
                println!("  first admin: `{}` with the password you set", admin.name);
            }
        }
        tokio::select! {
            served = app.run_until_stopped() => served?,
            _ = tokio::signal::ctrl_c() => println!("stopping"),
        }
        anyhow::Ok(())
    })
}

/// A database URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}
