//! `trellis session`: your login sessions (everyone's, for admins), and ending one of them.

use crate::client::Api;
use crate::output::Output;
use crate::registry::query;

#[derive(clap::Subcommand)]
pub enum SessionCommand {
    /// List your live sessions; `*` marks the one this CLI uses.
    List {
        /// Another user's sessions (admins).
        #[arg(long, conflicts_with = "all")]
        user: Option<String>,
        /// Everyone's sessions (admins).
        #[arg(long)]
        all: bool,
    },
    /// End a session at once, by the id `trellis session list` shows (an admin may end anyone's).
    Revoke { id: String },
}

pub fn session(command: SessionCommand, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    match command {
        SessionCommand::List { user, all } => {
            let user = if all { Some("*".to_string()) } else { user };
            let mut list = api.get(&format!("/auth/sessions{}", query(&[("user", user)])))?;
            if !output.json {
                for session in list.as_array_mut().into_iter().flatten() {
                    let mark = if session["current"] == true { "*" } else { "" };
                    session["mark"] = mark.into();
                }
            }
            output.list(
                &list,
                &[
                    ("", "/mark"),
                    ("ID", "/id"),
                    ("USER", "/user"),
                    ("CREATED", "/created_at"),
                    ("LAST USED", "/last_used_at"),
                    ("EXPIRES", "/expires_at"),
                ],
            );
        }
        SessionCommand::Revoke { id } => {
            api.delete(&format!("/auth/sessions/{id}"))?;
            println!("revoked session {id}: its token is refused from now on");
        }
    }
    Ok(())
}
