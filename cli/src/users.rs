//! `trellis user`: users and their roles, managed by admins.

use trellis_protocol::api::{NewUser, Role};

use crate::client::Api;
use crate::output::Output;

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Create a user (admins only).
    Create {
        name: String,
        /// admin, platform-configurer, data-scientist, app-developer or end-user.
        #[arg(long, value_parser = parse_role)]
        role: Role,
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
            let new = NewUser {
                name: name.clone(),
                password,
                role,
            };
            let user = api.post("/users", &new)?;
            output.done(&user, format!("created user {name} ({})", role.as_str()));
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

fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
        format!("`{name}` is not a role: use {}", names.join(", "))
    })
}
