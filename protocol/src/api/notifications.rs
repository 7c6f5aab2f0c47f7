//! Notifications: the SMTP server an admin sets once, the recipients (e-mail addresses and
//! signed webhooks) of a deployment or of the admins, what an app's `notify` call sends on its
//! way from its node, and the record of every delivery.

use serde::{Deserialize, Serialize};

/// How the control plane talks to its SMTP server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (usually port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption at all: only for a server on the loopback interface.
    None,
}

impl SmtpSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::Starttls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::None => "none",
        }
    }
}

impl std::str::FromStr for SmtpSecurity {
    type Err = String;

    fn from_str(text: &str) -> Result<SmtpSecurity, String> {
        [
            SmtpSecurity::Starttls,
            SmtpSecurity::Tls,
            SmtpSecurity::None,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| format!("`{text}` is not one of starttls, tls, none"))
    }
}

/// The SMTP server notifications are mailed through, as an admin sets it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: SmtpSecurity,
    /// Logs in with this user (and `password`) when given.
    #[serde(default)]
    pub username: Option<String>,
    /// Never shown again. Left out while `username` stays the same, the stored one is kept.
    #[serde(default)]
    pub password: Option<String>,
    /// The sender's address, e.g. `Trellis <trellis@school.example>`.
    pub from: String,
}

/// The SMTP server as stored, without its password.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    /// Whether a password is stored.
    pub password_set: bool,
    pub from: String,
    pub updated_at: String,
}

/// A webhook to add: notifications are POSTed to `url` as JSON, signed with `secret`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
    /// The HMAC-SHA256 key of the `X-Trellis-Signature` header; never shown again.
    pub secret: String,
}

/// Who gets the notifications of a deployment (or the admins'), replacing whoever did before.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRecipients {
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub webhooks: Vec<NewWebhook>,
}

/// A stored webhook (its secret is not shown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub url: String,
}

/// Who gets the notifications of a deployment, or the admins'.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recipients {
    pub emails: Vec<String>,
    pub webhooks: Vec<Webhook>,
}

/// How urgent a notification is (the app's `notify.urgency`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Urgency {
    Low,
    #[default]
    Normal,
    High,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Low => "low",
            Urgency::Normal => "normal",
            Urgency::High => "high",
        }
    }
}

/// One notification an app sent with `notify.send`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppNotification {
    pub urgency: Urgency,
    pub title: String,
    pub body: String,
}

/// What a node forwards of one deployment's notifications at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NotificationBatch {
    pub notifications: Vec<AppNotification>,
}

/// The control plane's answer to a batch: how many go out, and how many the deployment's rate
/// limit held back (they are counted in one summary message).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchAccepted {
    pub accepted: u32,
    pub suppressed: u32,
}

/// One attempt to reach one recipient with one notification, as recorded.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: String,
    /// The deployment it is about; none for the admins' notifications.
    pub deployment: Option<String>,
    /// `app` (its `notify` call), `platform` (started, failing, node down) or `summary` (what the
    /// rate limit held back).
    pub source: String,
    pub urgency: Urgency,
    pub title: String,
    /// `email`, `webhook`, or `none` when there was no recipient to send it to.
    pub channel: String,
    /// The address or URL.
    pub target: String,
    /// `delivered` or `failed`.
    pub status: String,
    /// Why it failed (the last attempt's error).
    pub error: String,
    pub attempts: u32,
    /// When the notification was raised.
    pub created_at: String,
    /// When the last attempt ended.
    pub finished_at: String,
}
