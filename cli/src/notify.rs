//! `trellis notify`: the SMTP server notifications are mailed through (admins), who gets a
//! deployment's notifications (its owner) or the admins', and what was delivered.

use anyhow::bail;
use serde_json::{Value, json};
use trellis_protocol::api::{NewRecipients, NewWebhook, SmtpSecurity, SmtpSettings};

use crate::client::Api;
use crate::output::Output;

#[derive(clap::Subcommand)]
pub enum NotifyCommand {
    /// The SMTP server notifications are mailed through (admins).
    #[command(subcommand)]
    Smtp(SmtpCommand),
    /// Set who gets a deployment's notifications (or with --admins, the admins': a node went
    /// down), replacing whoever did before. No --email and no --webhook: nobody.
    Set {
        #[command(flatten)]
        whose: Whose,
        /// An e-mail address (repeat for more).
        #[arg(long = "email", value_name = "ADDRESS")]
        emails: Vec<String>,
        /// A URL notifications are POSTed to as JSON, and the secret their
        /// `X-Trellis-Signature: sha256=<HMAC-SHA256 of the body>` is made with (repeat for more).
        #[arg(long = "webhook", num_args = 2, value_names = ["URL", "SECRET"])]
        webhooks: Vec<String>,
    },
    /// Show who gets a deployment's (or the admins') notifications.
    Show {
        #[command(flatten)]
        whose: Whose,
    },
    /// The newest deliveries of a deployment's (or the admins') notifications: to whom, how, and
    /// whether they arrived.
    Log {
        #[command(flatten)]
        whose: Whose,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// A deployment, or the admins.
#[derive(clap::Args)]
pub struct Whose {
    /// The deployment's id.
    #[arg(required_unless_present = "admins")]
    deployment: Option<String>,
    /// The admins' notifications instead of a deployment's (admins).
    #[arg(long, conflicts_with = "deployment")]
    admins: bool,
}

impl Whose {
    /// The API path of its recipients and of its deliveries.
    fn paths(&self) -> (String, String) {
        match &self.deployment {
            Some(id) if !self.admins => (
                format!("/deployments/{id}/recipients"),
                format!("/deployments/{id}/notifications"),
            ),
            _ => (
                "/admin/recipients".to_string(),
                "/admin/notifications".to_string(),
            ),
        }
    }
}

#[derive(clap::Subcommand)]
pub enum SmtpCommand {
    /// Set the SMTP server.
    Set {
        #[arg(long)]
        host: String,
        #[arg(long, default_value_t = 587)]
        port: u16,
        /// `starttls`, `tls` (from the first byte, usually port 465) or `none` (only for a server
        /// on this machine).
        #[arg(long, default_value = "starttls")]
        security: SmtpSecurity,
        /// Log in as this user.
        #[arg(long)]
        username: Option<String>,
        /// The user's password; left out, the stored one is kept for the same user.
        #[arg(long, env = "TRELLIS_SMTP_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// The sender, e.g. "Trellis <trellis@school.example>".
        #[arg(long)]
        from: String,
    },
    /// Show the SMTP server (never its password).
    Show,
    /// Forget the SMTP server: e-mail notifications fail until one is set.
    Remove,
}

fn show_recipients(output: Output, recipients: &Value) {
    if output.json {
        output.done(recipients, String::new());
        return;
    }
    let emails = recipients["emails"].as_array().cloned().unwrap_or_default();
    let webhooks = recipients["webhooks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut rows: Vec<Value> = emails
        .iter()
        .map(|e| json!({ "kind": "email", "to": e }))
        .collect();
    rows.extend(
        webhooks
            .iter()
            .map(|w| json!({ "kind": "webhook", "to": w["url"] })),
    );
    output.list(&Value::Array(rows), &[("KIND", "/kind"), ("TO", "/to")]);
}

pub fn notify(command: NotifyCommand, output: Output) -> anyhow::Result<()> {
    let api = Api::from_saved_login()?;
    match command {
        NotifyCommand::Smtp(command) => smtp(&api, command, output),
        NotifyCommand::Set {
            whose,
            emails,
            webhooks,
        } => {
            let webhooks = webhooks
                .chunks(2)
                .map(|pair| match pair {
                    [url, secret] => Ok(NewWebhook {
                        url: url.clone(),
                        secret: secret.clone(),
                    }),
                    _ => bail!("--webhook takes a URL and a secret"),
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let (path, _) = whose.paths();
            let set = api.put(&path, &NewRecipients { emails, webhooks })?;
            show_recipients(output, &set);
            Ok(())
        }
        NotifyCommand::Show { whose } => {
            let (path, _) = whose.paths();
            show_recipients(output, &api.get(&path)?);
            Ok(())
        }
        NotifyCommand::Log { whose, limit } => {
            let (_, path) = whose.paths();
            let deliveries = api.get(&format!("{path}?limit={limit}"))?;
            output.list(
                &deliveries,
                &[
                    ("AT", "/finished_at"),
                    ("FROM", "/source"),
                    ("TITLE", "/title"),
                    ("CHANNEL", "/channel"),
                    ("TO", "/target"),
                    ("STATUS", "/status"),
                    ("TRIES", "/attempts"),
                    ("ERROR", "/error"),
                ],
            );
            Ok(())
        }
    }
}

fn smtp(api: &Api, command: SmtpCommand, output: Output) -> anyhow::Result<()> {
    match command {
        SmtpCommand::Set {
            host,
            port,
            security,
            username,
            password,
            from,
        } => {
            let settings = SmtpSettings {
                host,
                port,
                security,
                username,
                password,
                from,
            };
            let set = api.put("/admin/smtp", &settings)?;
            output.done(
                &set,
                format!(
                    "notifications are mailed through {}:{} ({}) as {}",
                    set["host"].as_str().unwrap_or_default(),
                    set["port"],
                    set["security"].as_str().unwrap_or_default(),
                    set["from"].as_str().unwrap_or_default()
                ),
            );
        }
        SmtpCommand::Show => {
            let set = api.get("/admin/smtp")?;
            output.list(
                &set,
                &[
                    ("HOST", "/host"),
                    ("PORT", "/port"),
                    ("SECURITY", "/security"),
                    ("USER", "/username"),
                    ("PASSWORD SET", "/password_set"),
                    ("FROM", "/from"),
                    ("UPDATED", "/updated_at"),
                ],
            );
        }
        SmtpCommand::Remove => {
            api.delete("/admin/smtp")?;
            println!("SMTP server forgotten: e-mail notifications fail until one is set");
        }
    }
    Ok(())
}
