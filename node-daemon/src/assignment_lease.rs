//! The node's lease on its assignments (fencing). Each heartbeat the control plane accepts
//! renews it, from the moment the heartbeat was sent; a node that has had none accepted for a
//! whole lease stops every instance, because from a little later on the control plane may place
//! them on another node, and one deployment must never run on two. The lease's length comes
//! with each heartbeat's answer.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Renewal {
    /// When the last accepted heartbeat was sent.
    at: Option<Instant>,
    /// How long that heartbeat holds the lease; `None`: the control plane gives no lease.
    length: Option<Duration>,
}

/// Whether this node may run its instances now.
#[derive(Default)]
pub struct AssignmentLease {
    renewal: Mutex<Renewal>,
    /// The lease ran out: every instance is stopped and none may start until it is renewed.
    fenced: AtomicBool,
}

impl AssignmentLease {
    /// Renews the lease with a heartbeat sent at `sent` and accepted with `length_ms` (0: the
    /// control plane gives no lease). True if that lifts a fence.
    pub fn renew(&self, sent: Instant, length_ms: u64) -> bool {
        let mut renewal = self.renewal.lock().expect("lease lock");
        if renewal.at.is_some_and(|at| at > sent) {
            return false;
        }
        renewal.at = Some(sent);
        renewal.length = (length_ms > 0).then(|| Duration::from_millis(length_ms));
        let holds = renewal.length.is_none_or(|length| sent.elapsed() < length);
        holds && self.fenced.swap(false, Ordering::SeqCst)
    }

    /// Fences the node if its lease has run out and it is not fenced yet; then the lease's
    /// length, for saying so.
    pub fn expire(&self) -> Option<Duration> {
        let renewal = self.renewal.lock().expect("lease lock");
        let (at, length) = (renewal.at?, renewal.length?);
        if at.elapsed() < length || self.fenced.swap(true, Ordering::SeqCst) {
            return None;
        }
        Some(length)
    }

    /// Whether the node is fenced: it runs nothing.
    pub fn fenced(&self) -> bool {
        self.fenced.load(Ordering::SeqCst)
    }

    /// How often to check for the lease running out: a tenth of it, so the node stops its
    /// instances well within the margin the control plane leaves after it.
    pub fn check_every(&self) -> Duration {
        let renewal = self.renewal.lock().expect("lease lock");
        renewal
            .length
            .map_or(Duration::from_millis(100), |length| length / 10)
            .clamp(Duration::from_millis(10), Duration::from_millis(500))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A heartbeat sent `ago` before now. Times are given, not slept through, so a test on a
    /// busy machine cannot be preempted past a lease it did not mean to let run out.
    fn sent(ago: Duration) -> Instant {
        Instant::now()
            .checked_sub(ago)
            .expect("the clock is older than that")
    }

    #[test]
    fn a_lease_not_renewed_in_time_fences_the_node_once_until_renewed() {
        let lease = AssignmentLease::default();
        assert_eq!(lease.expire(), None, "no lease before the first heartbeat");
        assert!(!lease.renew(sent(Duration::from_secs(8)), 10_000));
        assert_eq!(lease.expire(), None, "two seconds of the lease are left");
        assert!(
            !lease.renew(sent(Duration::from_secs(11)), 10_000),
            "an older heartbeat"
        );
        assert_eq!(
            lease.expire(),
            None,
            "an older heartbeat does not shorten the lease"
        );
        let stale = AssignmentLease::default();
        assert!(!stale.renew(sent(Duration::from_secs(11)), 10_000));
        assert_eq!(stale.expire(), Some(Duration::from_secs(10)));
        assert!(stale.fenced());
        assert_eq!(stale.expire(), None, "fenced once");
        assert!(
            !stale.renew(sent(Duration::from_secs(10)), 10_000),
            "a heartbeat whose lease has run out too does not lift the fence"
        );
        assert!(
            stale.renew(Instant::now(), 10_000),
            "a renewal lifts the fence"
        );
        assert!(!stale.fenced());
        // A control plane that gives no lease never fences.
        let none = AssignmentLease::default();
        none.renew(sent(Duration::from_secs(11)), 0);
        assert_eq!(none.expire(), None);
        assert!(!none.fenced());
    }
}
