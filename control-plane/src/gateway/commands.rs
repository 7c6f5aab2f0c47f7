//! Commands on their way to controllers that long-poll the gateway, delivered at least once.
//!
//! Each controller has a mailbox: its reader of the bus (the gateway's consumer group) and the
//! commands read from it that the device has not acknowledged yet. A poll answers with those
//! (each numbered by its bus offset, its `delivery`), so a command whose answer was lost comes
//! again at the next poll; the device acknowledges by sending the last number it received, and
//! only then is the group committed on the bus, so a restarted control plane on Kafka hands out
//! again what no device acknowledged.
//!
//! Waiting costs no thread: a poll awaits its mailbox's [`Notify`]. The bus readers block, so
//! one pump thread reads for every mailbox with a poll waiting (or an acknowledgement to
//! commit), without waiting on any one of them, every [`TICK`] to [`IDLE`] and when a poll
//! arrives. One poll per controller waits at a time: a newer one takes over and the older
//! answers at once.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use trellis_bus::{Delivery, Subscription};
use trellis_protocol::api::DeliveredCommand;
use trellis_protocol::record::CommandRecord;

/// Most commands handed out by one poll, and most read ahead of the device's acknowledgements,
/// so a backlog arrives in bounded answers and stays on the bus meanwhile.
const MAX_COMMANDS: usize = 100;

/// How often the pump reads for the polls that wait while commands flow; each round that finds
/// none doubles the pause, up to [`IDLE`], so thousands of idle controllers cost little. The
/// longest a command waits on the bus for a poll that is already waiting.
const TICK: Duration = Duration::from_millis(10);
const IDLE: Duration = Duration::from_millis(80);

/// What a poll comes back with.
pub enum Polled {
    /// The unacknowledged commands, oldest first, each with whether this is its first delivery;
    /// empty when none came within the wait.
    Commands(Vec<(DeliveredCommand, bool)>),
    /// A newer poll of the same controller took over.
    Replaced,
}

/// A command read from the bus and not yet acknowledged by the device.
struct Unacked {
    delivery: Delivery,
    /// `None` for a payload that is no command record: never handed out, acknowledged with
    /// what follows it.
    record: Option<CommandRecord>,
    handed: bool,
}

/// One controller's reader and the commands its device has not acknowledged.
#[derive(Default)]
struct Inbox {
    reader: Option<Box<dyn Subscription>>,
    unacked: VecDeque<Unacked>,
    /// Acknowledged up to here, to commit on the bus.
    to_commit: Option<Delivery>,
    /// The number of the newest poll: only it may answer with commands.
    poll: u64,
    /// Whether that poll waits now.
    waiting: bool,
    /// Whether the pump has this mailbox on its list.
    pumped: bool,
}

impl Inbox {
    /// Whether the pump has something to do here.
    fn needs_pump(&self) -> bool {
        self.reader.is_some()
            && (self.to_commit.is_some() || (self.waiting && self.unacked.len() < MAX_COMMANDS))
    }

    /// Drops what `ack` acknowledges (every delivery up to it, unreadable ones among them) and
    /// notes what to commit.
    fn acknowledge(&mut self, ack: u64) {
        while self
            .unacked
            .front()
            .is_some_and(|u| u.delivery.offset <= ack)
        {
            let done = self.unacked.pop_front().expect("a first one");
            self.to_commit = Some(done.delivery);
        }
    }

    /// The commands to hand out, marking them handed.
    fn hand_out(&mut self) -> Vec<(DeliveredCommand, bool)> {
        self.unacked
            .iter_mut()
            .filter_map(|u| {
                let record = u.record.clone()?;
                let first = !u.handed;
                u.handed = true;
                Some((
                    DeliveredCommand {
                        delivery: u.delivery.offset,
                        record,
                    },
                    first,
                ))
            })
            .take(MAX_COMMANDS)
            .collect()
    }

    /// Reads what the bus has for this controller, without waiting; true if a command came.
    fn read(&mut self, controller: &str) -> bool {
        let Some(reader) = self.reader.as_mut() else {
            return false;
        };
        if let Some(done) = self.to_commit.take() {
            reader.commit(&done);
        }
        let mut came = false;
        while self.unacked.len() < MAX_COMMANDS {
            let Some(delivery) = reader.next(Duration::ZERO) else {
                break;
            };
            let record = match serde_json::from_slice::<CommandRecord>(&delivery.payload) {
                Ok(record) => Some(record),
                Err(e) => {
                    tracing::warn!(
                        "skipping a message for controller {controller} that is no command: {e}"
                    );
                    None
                }
            };
            came |= record.is_some();
            if record.is_none() && self.unacked.is_empty() {
                reader.commit(&delivery);
                continue;
            }
            self.unacked.push_back(Unacked {
                delivery,
                record,
                handed: false,
            });
        }
        came
    }
}

/// A controller's mailbox.
struct Mailbox {
    controller: String,
    inbox: Mutex<Inbox>,
    /// Woken when commands come and when a newer poll takes over.
    changed: Notify,
}

/// Every controller's mailbox, and the pump that fills them.
pub struct CommandDelivery {
    mailboxes: Mutex<HashMap<String, Arc<Mailbox>>>,
    /// The mailboxes the pump reads for, by controller.
    pumped: Mutex<HashMap<String, Arc<Mailbox>>>,
    /// The pump's thread, to wake it when a poll arrives.
    pump: OnceLock<std::thread::Thread>,
}

impl CommandDelivery {
    /// No mailboxes yet, and the pump thread that serves them while this lives.
    pub fn start() -> Arc<CommandDelivery> {
        let delivery = Arc::new(CommandDelivery {
            mailboxes: Mutex::default(),
            pumped: Mutex::default(),
            pump: OnceLock::new(),
        });
        let serving = Arc::downgrade(&delivery);
        let pump = std::thread::Builder::new()
            .name("gateway-commands".into())
            .spawn(move || pump(serving))
            .expect("starting the gateway's command pump");
        let _ = delivery.pump.set(pump.thread().clone());
        delivery
    }

    /// Whether `controller`'s commands are read already.
    pub fn has_reader(&self, controller: &str) -> bool {
        self.mailbox(controller).inbox.lock().reader.is_some()
    }

    /// Gives `controller` its reader, unless it has one; returns one it did not need.
    pub fn keep(
        &self,
        controller: &str,
        reader: Box<dyn Subscription>,
    ) -> Option<Box<dyn Subscription>> {
        let mailbox = self.mailbox(controller);
        let mut inbox = mailbox.inbox.lock();
        if inbox.reader.is_some() {
            return Some(reader);
        }
        inbox.reader = Some(reader);
        self.list_if_needed(&mailbox, &mut inbox);
        None
    }

    /// The commands of `controller` its device has not acknowledged, after dropping those up
    /// to `ack`; waits up to `wait` for one when there are none.
    pub async fn poll(&self, controller: &str, ack: Option<u64>, wait: Duration) -> Polled {
        let deadline = tokio::time::Instant::now() + wait;
        let mailbox = self.mailbox(controller);
        let me = {
            let mut inbox = mailbox.inbox.lock();
            if let Some(ack) = ack {
                inbox.acknowledge(ack);
            }
            inbox.poll += 1;
            inbox.waiting = true;
            self.list_if_needed(&mailbox, &mut inbox);
            inbox.poll
        };
        // Tell an older poll that it is replaced, and the pump to read now.
        mailbox.changed.notify_waiters();
        if let Some(pump) = self.pump.get() {
            pump.unpark();
        }
        loop {
            let changed = mailbox.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut inbox = mailbox.inbox.lock();
                if inbox.poll != me {
                    return Polled::Replaced;
                }
                let now = tokio::time::Instant::now();
                if inbox.unacked.iter().any(|u| u.record.is_some()) || now >= deadline {
                    inbox.waiting = false;
                    return Polled::Commands(inbox.hand_out());
                }
            }
            let _ = tokio::time::timeout_at(deadline, changed).await;
        }
    }

    fn mailbox(&self, controller: &str) -> Arc<Mailbox> {
        self.mailboxes
            .lock()
            .entry(controller.to_string())
            .or_insert_with(|| {
                Arc::new(Mailbox {
                    controller: controller.to_string(),
                    inbox: Mutex::default(),
                    changed: Notify::new(),
                })
            })
            .clone()
    }

    /// Puts `mailbox` on the pump's list if it needs pumping. Called with its inbox locked: the
    /// inbox before the list, always, so the pump never drops a mailbox a poll just listed.
    fn list_if_needed(&self, mailbox: &Arc<Mailbox>, inbox: &mut Inbox) {
        if inbox.needs_pump() && !inbox.pumped {
            inbox.pumped = true;
            self.pumped
                .lock()
                .insert(mailbox.controller.clone(), mailbox.clone());
        }
    }
}

/// Reads for each listed mailbox until its delivery is gone.
fn pump(delivery: Weak<CommandDelivery>) {
    let mut pause = TICK;
    loop {
        let Some(delivery) = delivery.upgrade() else {
            return;
        };
        let listed: Vec<Arc<Mailbox>> = delivery.pumped.lock().values().cloned().collect();
        let mut came = false;
        for mailbox in listed {
            let mut inbox = mailbox.inbox.lock();
            if inbox.read(&mailbox.controller) {
                came = true;
                mailbox.changed.notify_waiters();
            }
            if !inbox.needs_pump() {
                inbox.pumped = false;
                delivery.pumped.lock().remove(&mailbox.controller);
            }
        }
        drop(delivery);
        pause = if came { TICK } else { (pause * 2).min(IDLE) };
        std::thread::park_timeout(pause);
    }
}
