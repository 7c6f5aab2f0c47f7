//! `trellis login` and `trellis user`.

use anyhow::Context;
use serde_json::json;

use crate::client::{Api, Session, client, read_answer, unreachable};
use crate::output::Output;

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
        None => {
            eprint!("password for {}: ", args.user);
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let url = args.url.trim_end_matches('/').to_string();
    let response = client()?
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({ "name": args.user, "password": password }))
        .send()
        .map_err(|e| unreachable(&url, e))?;
    let answer = read_answer(response)?;
    let session = Session {
        url,
        token: answer["token"].as_str().unwrap_or_default().to_string(),
        user: args.user,
        role: answer["user"]["role"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    };
    session.save()?;
    println!(
        "logged in to {} as {} ({}) until {}",
        session.url,
        session.user,
        session.role,
        answer["expires_at"].as_str().unwrap_or("?")
    );
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Create a user (admins only).
    Create {
        name: String,
        /// admin, platform-configurer, data-scientist, app-developer or end-user.
        #[arg(long)]
        role: String,
        #[arg(long, env = "TRELLIS_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// List users (admins only).
    List,
}

pub fn user(command: UserCommand, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    match command {
        UserCommand::Create {
            name,
            role,
            password,
        } => {
            let user = api.post(
                "/users",
                &json!({ "name": name, "role": role, "password": password }),
            )?;
            output.done(&user, format!("created user {name} ({role})"));
        }
        UserCommand::List => output.list(
            &api.get("/users")?,
            &[
                ("NAME", "/name"),
                ("ROLE", "/role"),
                ("CREATED", "/created_at"),
            ],
        ),
    }
    Ok(())
}
