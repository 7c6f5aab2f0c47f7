//! `trellis user`: users and their roles, managed by admins, and passwords, which everyone
//! changes for themselves.

use trellis_protocol::api::{NewUser, PasswordChange, Role, UserChange};

use crate::client::Api;
use crate::login::ask;
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
    /// Disable a user: they cannot log in and every session of theirs ends at once (admins).
    Disable { name: String },
    /// Let a disabled user log in again (admins).
    Enable { name: String },
    /// Give a user another role, from their next request on (admins).
    SetRole {
        name: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Change your password (asks for the current one), or, as an admin, set anyone's. The
    /// user's other sessions end.
    Password {
        /// Whose password; default: yours.
        name: Option<String>,
        /// Default: $TRELLIS_NEW_PASSWORD, else asked on the terminal.
        #[arg(long, env = "TRELLIS_NEW_PASSWORD", hide_env_values = true)]
        new_password: Option<String>,
        /// Your current password, when changing your own. Default: $TRELLIS_PASSWORD, else
        /// asked on the terminal.
        #[arg(long, env = "TRELLIS_PASSWORD", hide_env_values = true)]
        current_password: Option<String>,
    },
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
                ("DISABLED", "/disabled"),
                ("CREATED", "/created_at"),
            ],
        ),
        UserCommand::Disable { name } => {
            let change = UserChange {
                disabled: Some(true),
                ..UserChange::default()
            };
            let user = api.patch(&format!("/users/{name}"), &change)?;
            output.done(
                &user,
                format!("disabled {name}: they cannot log in, and their sessions have ended"),
            );
        }
        UserCommand::Enable { name } => {
            let change = UserChange {
                disabled: Some(false),
                ..UserChange::default()
            };
            let user = api.patch(&format!("/users/{name}"), &change)?;
            output.done(&user, format!("enabled {name}: they may log in again"));
        }
        UserCommand::SetRole { name, role } => {
            let change = UserChange {
                role: Some(role),
                ..UserChange::default()
            };
            let user = api.patch(&format!("/users/{name}"), &change)?;
            output.done(&user, format!("{name} is now {}", role.as_str()));
        }
        UserCommand::Password {
            name,
            new_password,
            current_password,
        } => {
            let own = name.as_ref().is_none_or(|n| *n == api.session.user);
            let name = name.unwrap_or_else(|| api.session.user.clone());
            let current_password = match (own, current_password) {
                (false, _) => None,
                (true, Some(current)) => Some(current),
                (true, None) => Some(ask("current password")?),
            };
            let new_password = match new_password {
                Some(new) => new,
                None => ask(&format!("new password for {name}"))?,
            };
            let change = PasswordChange {
                current_password,
                new_password,
            };
            api.put(&format!("/users/{name}/password"), &change)?;
            if own {
                println!("changed your password; your other sessions have ended");
            } else {
                println!("set {name}'s password; their sessions have ended");
            }
        }
    }
    Ok(())
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
        format!("`{name}` is not a role: use {}", names.join(", "))
    })
}
