//! The per-deployment rate limit: a token bucket of `count` notifications that refills at
//! `count` per `per`. What it holds back is counted, and once a token is free again the count
//! goes out as one summary message, so a looping app costs its recipients a handful of
//! messages, not thousands, and they still learn that something was held back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How many notifications one deployment (or the admins' platform notices) may raise in a
/// period before the rest are held back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotifyLimit {
    pub count: u32,
    pub per: Duration,
}

impl Default for NotifyLimit {
    /// Ten a minute: more than a person reads, fewer than make a mailbox useless.
    fn default() -> Self {
        NotifyLimit {
            count: 10,
            per: Duration::from_secs(60),
        }
    }
}

struct Bucket {
    tokens: f64,
    updated: Instant,
    /// Held back since the last summary.
    suppressed: u64,
}

/// What the limit says of one notification.
#[derive(Debug, PartialEq, Eq)]
pub struct Admission {
    /// Send a summary of this many held-back notifications first (it took a token of its own).
    pub summary: Option<u64>,
    /// Whether the notification itself may go out.
    pub admitted: bool,
}

/// The buckets of every deployment that raised a notification lately.
pub struct RateLimiter {
    limit: NotifyLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(limit: NotifyLimit) -> RateLimiter {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn capacity(&self) -> f64 {
        f64::from(self.limit.count.max(1))
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        let rate = self.capacity() / self.limit.per.as_secs_f64().max(1e-3);
        bucket.tokens = (bucket.tokens + elapsed * rate).min(self.capacity());
        bucket.updated = now;
    }

    /// Takes a token for one notification of `key` (a deployment) at `now`, or counts it as
    /// held back.
    pub fn admit(&self, key: &str, now: Instant) -> Admission {
        let mut buckets = self.buckets.lock();
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.capacity(),
            updated: now,
            suppressed: 0,
        });
        self.refill(bucket, now);
        let mut summary = None;
        // What was held back is told before anything newer.
        if bucket.suppressed > 0 && bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            summary = Some(std::mem::take(&mut bucket.suppressed));
        }
        let admitted = bucket.tokens >= 1.0;
        if admitted {
            bucket.tokens -= 1.0;
        } else {
            bucket.suppressed += 1;
        }
        Admission { summary, admitted }
    }

    /// The summaries due at `now`: each key with held-back notifications and a token free again,
    /// with how many (the token is taken and the count starts over). Buckets that are full and
    /// hold nothing back are forgotten.
    pub fn due_summaries(&self, now: Instant) -> Vec<(String, u64)> {
        let mut buckets = self.buckets.lock();
        let mut due = Vec::new();
        buckets.retain(|key, bucket| {
            self.refill(bucket, now);
            if bucket.suppressed > 0 && bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                due.push((key.clone(), std::mem::take(&mut bucket.suppressed)));
            }
            bucket.suppressed > 0 || bucket.tokens < self.capacity()
        });
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(count: u32, per_secs: u64) -> RateLimiter {
        RateLimiter::new(NotifyLimit {
            count,
            per: Duration::from_secs(per_secs),
        })
    }

    #[test]
    fn a_burst_beyond_the_limit_is_held_back_and_summed_up_once_a_token_is_free() {
        let limiter = limiter(3, 60);
        let start = Instant::now();
        let admitted: Vec<bool> = (0..10)
            .map(|_| limiter.admit("dep_a", start).admitted)
            .collect();
        assert_eq!(admitted.iter().filter(|a| **a).count(), 3);
        assert!(admitted[..3].iter().all(|a| *a), "{admitted:?}");
        // No token yet: nothing is due.
        assert_eq!(limiter.due_summaries(start + Duration::from_secs(1)), []);
        // One token comes back every 20 s; the summary takes it.
        let later = start + Duration::from_secs(20);
        assert_eq!(limiter.due_summaries(later), [("dep_a".to_string(), 7)]);
        assert_eq!(limiter.due_summaries(later), []);
        // The next notification finds the bucket empty again.
        assert!(!limiter.admit("dep_a", later).admitted);
    }

    #[test]
    fn a_notification_after_a_quiet_spell_brings_the_summary_with_it() {
        let limiter = limiter(1, 10);
        let start = Instant::now();
        assert!(limiter.admit("dep_a", start).admitted);
        assert!(!limiter.admit("dep_a", start).admitted);
        assert!(!limiter.admit("dep_a", start).admitted);
        // A full bucket again (one token): the summary goes first and the new one waits.
        let later = start + Duration::from_secs(10);
        let admission = limiter.admit("dep_a", later);
        assert_eq!(admission.summary, Some(2));
        assert!(!admission.admitted);
    }

    #[test]
    fn each_deployment_has_a_bucket_of_its_own() {
        let limiter = limiter(2, 60);
        let now = Instant::now();
        for _ in 0..5 {
            limiter.admit("dep_loud", now);
        }
        assert!(limiter.admit("dep_quiet", now).admitted);
        assert!(limiter.admit("dep_quiet", now).admitted);
        assert_eq!(
            limiter.due_summaries(now + Duration::from_secs(30)),
            [("dep_loud".to_string(), 3)]
        );
    }

    #[test]
    fn idle_full_buckets_are_forgotten() {
        let limiter = limiter(2, 1);
        let now = Instant::now();
        limiter.admit("dep_a", now);
        limiter.due_summaries(now + Duration::from_secs(5));
        assert!(limiter.buckets.lock().is_empty());
    }
}
