//! `trellis:platform/notify`: messages to the user who deployed the app.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::LogSink;
use super::too_large;
use crate::bindings::trellis::platform::notify as wit;
use crate::instance_state::InstanceState;
use crate::types::{Error, Level, Urgency};

/// Delivers notifications to the deploying user.
pub trait NotificationSink: Send + Sync {
    fn send(&self, urgency: Urgency, title: &str, body: &str) -> Result<(), Error>;
}

/// Writes notifications to a log, for running on one machine without a portal.
pub struct LogNotifications(pub Arc<dyn LogSink>);

impl NotificationSink for LogNotifications {
    fn send(&self, urgency: Urgency, title: &str, body: &str) -> Result<(), Error> {
        let level = if urgency == Urgency::High {
            Level::Warn
        } else {
            Level::Info
        };
        self.0.write(
            level,
            &format!("notification ({urgency:?}): {title}: {body}"),
        );
        Ok(())
    }
}

pub(crate) struct NotifyCtx {
    pub(crate) sink: Arc<dyn NotificationSink>,
    pub(crate) max_message_bytes: usize,
}

impl wit::Host for NotifyCtx {
    fn send(&mut self, urgency: Urgency, title: String, body: String) -> Result<(), Error> {
        let size = title.len() + body.len();
        if size > self.max_message_bytes {
            return Err(too_large("the notification", size, self.max_message_bytes));
        }
        self.sink.send(urgency, &title, &body)
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<_, HasSelf<NotifyCtx>>(linker, |s| &mut s.notify)
}
