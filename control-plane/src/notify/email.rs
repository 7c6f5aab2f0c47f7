//! E-mail through the SMTP server an admin set: STARTTLS or TLS (rustls) with a login when one
//! is configured, or a plain connection to a server on the loopback interface.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use trellis_protocol::api::SmtpSecurity;

use super::Failure;
use crate::db::smtp_settings::SmtpRow;

/// How long one conversation with the SMTP server may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `host` is this machine, the only place a plain SMTP connection may go.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One attempt: mails `subject` and `text` to `to` through `smtp`.
pub async fn send(smtp: SmtpRow, to: String, subject: String, text: String) -> Result<(), Failure> {
    let from: Mailbox = smtp.sender.parse().map_err(|e| {
        Failure::permanent(format!(
            "the SMTP sender `{}` is not an address: {e}",
            smtp.sender
        ))
    })?;
    // Greets the server with the sender's domain: lettre's default name, `localhost`, is
    // refused by servers that check it.
    let hello = ClientId::Domain(from.email.domain().to_string());
    let to_box: Mailbox = to
        .parse()
        .map_err(|e| Failure::permanent(format!("`{to}` is not an address: {e}")))?;
    let message = Message::builder()
        .from(from)
        .to(to_box)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(text)
        .map_err(|e| Failure::permanent(format!("composing the message: {e}")))?;
    let security: SmtpSecurity = smtp.security.parse().map_err(Failure::permanent)?;
    let relay = |e: lettre::transport::smtp::Error| {
        Failure::permanent(format!("SMTP server {}: {e}", smtp.host))
    };
    let builder = match security {
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        SmtpSecurity::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host).map_err(relay)?
        }
        SmtpSecurity::Tls => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host).map_err(relay)?
        }
    };
    let mut builder = builder
        .port(smtp.port as u16)
        .timeout(Some(TIMEOUT))
        .hello_name(hello);
    if let Some(username) = &smtp.username {
        let password = smtp.password.clone().unwrap_or_default();
        builder = builder.credentials(Credentials::new(username.clone(), password));
    }
    let server = format!("{}:{}", smtp.host, smtp.port);
    match builder.build().send(message).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(Failure::permanent(format!(
            "SMTP server {server} refused it: {e}"
        ))),
        Err(e) => Err(Failure::transient(format!("SMTP server {server}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_this_machine_is_loopback() {
        for host in [
            "127.0.0.1",
            "127.0.0.53",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "10.0.0.1",
            "smtp.school.example",
            "0.0.0.0",
            "localhost.example",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
