//! Waiting on a future with a deadline, on the calling thread. The Kafka client answers with
//! futures (a delivery report, a topic's creation) that librdkafka's own threads complete; a
//! caller that has a deadline of its own (an app's call, which must end at its deadline) waits
//! on them only until then. `futures-executor` blocks without a bound, and this needs no runtime.

use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Instant;

/// Wakes the waiting thread when the future can make progress.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// The future's output, or `None` if it was not ready by `deadline`. A future that is ready
/// at once is ready even past the deadline: it is polled before the clock is read.
pub(crate) fn wait_until<F: Future>(future: F, deadline: Instant) -> Option<F::Output> {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return Some(output);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        // A wake between the poll and this park leaves the thread's token set, so the park
        // returns at once and the future is polled again: no wake is lost.
        std::thread::park_timeout(deadline - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_ready_future_is_answered_even_past_its_deadline() {
        assert_eq!(wait_until(async { 7 }, Instant::now()), Some(7));
    }

    #[test]
    fn a_future_woken_from_another_thread_is_answered() {
        let (sender, receiver) = futures_channel::oneshot::channel();
        let sending = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            sender.send(42).unwrap();
        });
        let answer = wait_until(receiver, Instant::now() + Duration::from_secs(10));
        assert_eq!(answer, Some(Ok(42)));
        sending.join().unwrap();
    }

    #[test]
    fn a_future_never_woken_ends_at_its_deadline() {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(100);
        assert_eq!(wait_until(std::future::pending::<()>(), deadline), None);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(100) && took < Duration::from_secs(2),
            "{took:?}"
        );
    }
}
