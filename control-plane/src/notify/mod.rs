//! Notifications that arrive: what apps raise with `notify.send` (forwarded by their node) and
//! what the platform tells of deployments and nodes, through each deployment's rate limit, to its
//! recipients by e-mail and signed webhook, each delivery retried with backoff and recorded.

pub mod email;
pub mod platform;
pub mod rate_limit;
pub mod webhook;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::AnyPool;
use trellis_protocol::api::Urgency;

use crate::db;
use crate::db::notification_deliveries::DeliveryRow;
use crate::db::notification_recipients::RecipientRow;
use crate::ids::{new_id, now_ms, rfc3339};
use rate_limit::{NotifyLimit, RateLimiter};

/// Tries per delivery, the first included.
pub const MAX_ATTEMPTS: u32 = 4;

/// Where a notification comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// An app's `notify.send`.
    App,
    /// The platform: a deployment started or keeps failing, a node went down.
    Platform,
    /// What the rate limit held back, counted.
    Summary,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::App => "app",
            Source::Platform => "platform",
            Source::Summary => "summary",
        }
    }
}

/// One notification, for a deployment's recipients or (with no deployment) the admins'.
#[derive(Clone, Debug)]
pub struct Notification {
    pub deployment: Option<String>,
    pub source: Source,
    pub urgency: Urgency,
    pub title: String,
    pub body: String,
}

/// Why one attempt failed, and whether another could succeed.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub permanent: bool,
}

impl Failure {
    pub fn transient(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            permanent: false,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            permanent: true,
        }
    }
}

/// Raises notifications and delivers them in the background; cheap to clone.
#[derive(Clone)]
pub struct Notifier(Arc<Inner>);

struct Inner {
    db: AnyPool,
    limit: NotifyLimit,
    limiter: RateLimiter,
    /// The wait before the second attempt; each later one waits twice as long as the one before.
    retry_base: Duration,
    /// Where people reach this control plane, for the links in messages.
    base_url: String,
    http: reqwest::Client,
}

impl Notifier {
    pub fn new(
        db: AnyPool,
        limit: NotifyLimit,
        retry_base: Duration,
        base_url: String,
    ) -> anyhow::Result<Notifier> {
        // A webhook answers itself: a redirect is not followed (it could point the control plane
        // at an address its owner could not name).
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Notifier(Arc::new(Inner {
            db,
            limit,
            limiter: RateLimiter::new(limit),
            retry_base,
            base_url: base_url.trim_end_matches('/').to_string(),
            http,
        })))
    }

    /// Where people reach this control plane.
    pub fn base_url(&self) -> &str {
        &self.0.base_url
    }

    /// Takes `notification` through its deployment's rate limit and, if it passes, delivers it
    /// in the background. False if the limit held it back (it is counted in a summary).
    pub fn raise(&self, notification: Notification) -> bool {
        let key = notification.deployment.clone().unwrap_or_default();
        let admission = self.0.limiter.admit(&key, Instant::now());
        if let Some(count) = admission.summary {
            self.deliver(self.summary(notification.deployment.clone(), count));
        }
        if admission.admitted {
            self.deliver(notification);
        }
        admission.admitted
    }

    /// Sends the summaries of held-back notifications as tokens come free, until the process
    /// ends (a looping app that went quiet still gets its summary).
    pub async fn run_summaries(self) {
        // Often enough that a summary follows within a second of its token.
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for (key, count) in self.0.limiter.due_summaries(Instant::now()) {
                let deployment = (!key.is_empty()).then_some(key);
                self.deliver(self.summary(deployment, count));
            }
        }
    }

    fn summary(&self, deployment: Option<String>, count: u64) -> Notification {
        let limit = self.0.limit;
        let whose = match &deployment {
            Some(id) => format!("Deployment {id}"),
            None => "The platform".to_string(),
        };
        Notification {
            deployment,
            source: Source::Summary,
            urgency: Urgency::Normal,
            title: format!("{count} notifications suppressed"),
            body: format!(
                "{whose} raised {count} more notifications than its limit of {} per {} s allows; \
                 they were not sent. Its logs tell what it was doing.",
                limit.count,
                limit.per.as_secs_f64()
            ),
        }
    }

    fn deliver(&self, notification: Notification) {
        let inner = self.0.clone();
        tokio::spawn(async move { inner.deliver(notification).await });
    }
}

impl Inner {
    /// Sends `notification` to each of its recipients at once, and records how each delivery
    /// ended.
    async fn deliver(self: Arc<Self>, notification: Notification) {
        let created_at = now_ms();
        let deployment = notification.deployment.clone();
        let recipients =
            match db::notification_recipients::of(&self.db, deployment.as_deref()).await {
                Ok(recipients) => recipients,
                Err(e) => {
                    tracing::warn!(
                        "notification `{}`: reading its recipients: {e}",
                        notification.title
                    );
                    return;
                }
            };
        let notification = Arc::new(notification);
        if recipients.is_empty() {
            let why = match deployment {
                Some(id) => format!(
                    "deployment {id} has no recipients: set them with `trellis notify set {id}`"
                ),
                None => {
                    "the admins have no recipients: set them with `trellis notify set --admins`"
                        .to_string()
                }
            };
            let ended = Ended {
                status: "failed",
                error: why,
                attempts: 0,
            };
            self.record(&notification, "none", "", created_at, ended)
                .await;
            return;
        }
        let id = new_id("ntf");
        for recipient in recipients {
            let (inner, notification, id) = (self.clone(), notification.clone(), id.clone());
            tokio::spawn(async move {
                let ended = inner.deliver_to(&notification, &id, &recipient).await;
                inner
                    .record(
                        &notification,
                        &recipient.kind,
                        &recipient.target,
                        created_at,
                        ended,
                    )
                    .await;
            });
        }
    }

    /// Delivers to one recipient, trying again with backoff while a failure may pass.
    async fn deliver_to(&self, notification: &Notification, id: &str, to: &RecipientRow) -> Ended {
        match to.kind.as_str() {
            "email" => {
                let smtp = match db::smtp_settings::get(&self.db).await {
                    Ok(Some(smtp)) => smtp,
                    Ok(None) => {
                        return Ended::failed(
                            "no SMTP server is set (admins: `trellis notify smtp set`)",
                            0,
                        );
                    }
                    Err(e) => return Ended::failed(format!("reading the SMTP server: {e}"), 0),
                };
                let (subject, text) = self.email_text(notification);
                self.with_retries(|| {
                    email::send(
                        smtp.clone(),
                        to.target.clone(),
                        subject.clone(),
                        text.clone(),
                    )
                })
                .await
            }
            "webhook" => {
                let body = self.webhook_body(notification, id);
                let secret = to.secret.clone().unwrap_or_default();
                self.with_retries(|| {
                    webhook::send(
                        self.http.clone(),
                        to.target.clone(),
                        secret.clone(),
                        id.to_string(),
                        body.clone(),
                    )
                })
                .await
            }
            other => Ended::failed(format!("unknown channel `{other}`"), 0),
        }
    }

    async fn with_retries<F, Fut>(&self, mut attempt: F) -> Ended
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), Failure>>,
    {
        let mut wait = self.retry_base;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match attempt().await {
                Ok(()) => {
                    return Ended {
                        status: "delivered",
                        error: String::new(),
                        attempts,
                    };
                }
                Err(failure) if failure.permanent || attempts >= MAX_ATTEMPTS => {
                    return Ended::failed(failure.message, attempts);
                }
                Err(_) => {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
    }

    /// The subject and text of the e-mail telling `notification`.
    fn email_text(&self, notification: &Notification) -> (String, String) {
        let urgent = if notification.urgency == Urgency::High {
            "URGENT: "
        } else {
            ""
        };
        let (subject, about) = match &notification.deployment {
            Some(id) => (
                format!("[Trellis] {urgent}{id}: {}", notification.title),
                format!(
                    "Deployment {id}: `trellis deployment show {id}`, or {}/api/v1/deployments/{id}",
                    self.base_url
                ),
            ),
            None => (
                format!("[Trellis] {urgent}{}", notification.title),
                format!("Trellis control plane: {}", self.base_url),
            ),
        };
        let text = format!(
            "{}\n\n-- \n{about}\nUrgency: {}; from: {}.\n",
            notification.body,
            notification.urgency.as_str(),
            notification.source.as_str()
        );
        (subject, text)
    }

    /// The JSON a webhook receives.
    fn webhook_body(&self, notification: &Notification, id: &str) -> Vec<u8> {
        let link = match &notification.deployment {
            Some(deployment) => format!("{}/api/v1/deployments/{deployment}", self.base_url),
            None => self.base_url.clone(),
        };
        let body = json!({
            "id": id,
            "deployment": notification.deployment,
            "source": notification.source.as_str(),
            "urgency": notification.urgency,
            "title": notification.title,
            "body": notification.body,
            "link": link,
            "sent_at": rfc3339(now_ms()),
        });
        serde_json::to_vec(&body).expect("a JSON value serialises")
    }

    async fn record(
        &self,
        notification: &Notification,
        channel: &str,
        target: &str,
        created_at: i64,
        ended: Ended,
    ) {
        if channel == "none" {
            // No one asked for it (a deployment without recipients is usual, as in the demo):
            // recorded, worth knowing, not a fault.
            tracing::info!(
                "notification `{}` not sent: {}",
                notification.title,
                ended.error
            );
        } else if ended.status != "delivered" {
            tracing::warn!(
                "notification `{}` to {channel} {target}: {}",
                notification.title,
                ended.error
            );
        }
        let row = DeliveryRow {
            id: new_id("dlv"),
            deployment_id: notification.deployment.clone(),
            source: notification.source.as_str().into(),
            urgency: notification.urgency.as_str().into(),
            title: notification.title.clone(),
            channel: channel.into(),
            target: target.into(),
            status: ended.status.into(),
            error: ended.error,
            attempts: i64::from(ended.attempts),
            created_at,
            finished_at: now_ms(),
        };
        if let Err(e) = db::notification_deliveries::insert(&self.db, &row).await {
            tracing::warn!("recording a delivery of `{}`: {e}", notification.title);
        }
    }
}

/// How a delivery ended.
struct Ended {
    status: &'static str,
    error: String,
    attempts: u32,
}

impl Ended {
    fn failed(error: impl Into<String>, attempts: u32) -> Ended {
        Ended {
            status: "failed",
            error: error.into(),
            attempts,
        }
    }
}
