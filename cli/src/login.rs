//! `trellis login`: signs in and saves the session for the commands that follow.

use anyhow::Context;
use trellis_protocol::api::{Login, Session as SessionAnswer};

use crate::client::{Session, builder_trusting, ca_cert_flag, read_answer, typed, unreachable};

#[derive(clap::Args)]
pub struct LoginArgs {
    /// The control plane, e.g. http://127.0.0.1:7878.
    #[arg(long, env = "TRELLIS_URL", default_value = "http://127.0.0.1:7878")]
    url: String,
    #[arg(long)]
    user: String,
    /// Default: $TRELLIS_PASSWORD, else asked on the terminal.
    #[arg(long, env = "TRELLIS_PASSWORD", hide_env_values = true)]
    password: Option<String>,
}

pub fn login(args: LoginArgs) -> anyhow::Result<()> {
    let password = match args.password {
        Some(password) => password,
        None => ask(&format!("password for {}", args.user))?,
    };
    let url = args.url.trim_end_matches('/').to_string();
    // The CA given now is remembered with the session; without one, only the public roots.
    let ca_cert = match ca_cert_flag() {
        Some(path) => Some(
            std::fs::canonicalize(&path)
                .with_context(|| format!("the CA certificate {} (--ca-cert)", path.display()))?,
        ),
        None => None,
    };
    let response = builder_trusting(ca_cert.as_deref())?
        .timeout(std::time::Duration::from_secs(600))
        .build()?
        .post(format!("{url}/api/v1/auth/login"))
        .json(&Login {
            name: args.user.clone(),
            password,
        })
        .send()
        .map_err(|e| unreachable(&url, e))?;
    let answer: SessionAnswer = typed("/auth/login", read_answer(response)?)?;
    let session = Session {
        url,
        token: answer.token,
        user: args.user,
        role: answer.user.role.as_str().to_string(),
        ca_cert,
    };
    session.save()?;
    println!(
        "logged in to {} as {} ({}) until {}",
        session.url, session.user, session.role, answer.expires_at
    );
    Ok(())
}

/// A line typed on the terminal after `prompt`, without its line ending.
pub fn ask(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}: ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .with_context(|| format!("reading the {prompt}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
