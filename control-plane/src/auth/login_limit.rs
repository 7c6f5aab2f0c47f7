//! How many logins a client address and a user name may attempt: a token bucket for each, so a
//! guesser is slowed to a trickle while a person who mistypes twice is not.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A bucket of `burst` attempts, one more added every `every`.
#[derive(Clone, Copy, Debug)]
pub struct Quota {
    pub burst: u32,
    pub every: Duration,
}

/// The login limits: per client address and per user name.
#[derive(Clone, Copy, Debug)]
pub struct LoginLimit {
    pub per_address: Quota,
    pub per_name: Quota,
}

impl Default for LoginLimit {
    /// 30 attempts from one address, then one a second; 10 for one name, then one every 6 s.
    fn default() -> LoginLimit {
        LoginLimit {
            per_address: Quota {
                burst: 30,
                every: Duration::from_secs(1),
            },
            per_name: Quota {
                burst: 10,
                every: Duration::from_secs(6),
            },
        }
    }
}

/// One bucket: the attempts left as of `at`.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// The attempts left at `now`, refilled since `at` up to the burst.
    fn tokens_at(&self, quota: Quota, now: Instant) -> f64 {
        let refill = now.duration_since(self.at).as_secs_f64() / quota.every.as_secs_f64();
        (self.tokens + refill).min(f64::from(quota.burst))
    }
}

/// Who an attempt is counted against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    Name(String),
}

/// An attempt refused: which limit and how long until the next one is allowed.
#[derive(Debug)]
pub struct Refusal {
    pub what: String,
    pub retry_after: Duration,
}

/// Above this many buckets, full ones (those of no recent attempts) are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// The buckets of every address and name that tried recently.
pub struct LoginLimiter {
    limit: LoginLimit,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

impl LoginLimiter {
    pub fn new(limit: LoginLimit) -> LoginLimiter {
        LoginLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt to log in as `name` from `address` (none for the portal's in-process
    /// calls): allowed only if both buckets have an attempt left, and then it takes one from
    /// each. Names are counted case-blind, so `Admin` and `admin` share one.
    pub fn attempt(&self, address: Option<IpAddr>, name: &str) -> Result<(), Refusal> {
        let now = Instant::now();
        let mut keys = vec![(
            Key::Name(name.to_lowercase()),
            self.limit.per_name,
            format!("user `{name}`"),
        )];
        if let Some(address) = address {
            keys.push((
                Key::Address(address),
                self.limit.per_address,
                format!("address {address}"),
            ));
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let (per_name, per_address) = (self.limit.per_name, self.limit.per_address);
            buckets.retain(|key, bucket| {
                let quota = match key {
                    Key::Name(_) => per_name,
                    Key::Address(_) => per_address,
                };
                bucket.tokens_at(quota, now) < f64::from(quota.burst)
            });
        }
        let mut left = Vec::new();
        for (key, quota, what) in &keys {
            let tokens = buckets
                .get(key)
                .map_or(f64::from(quota.burst), |b| b.tokens_at(*quota, now));
            if tokens < 1.0 {
                let wait = quota.every.as_secs_f64() * (1.0 - tokens);
                return Err(Refusal {
                    what: what.clone(),
                    retry_after: Duration::from_secs_f64(wait),
                });
            }
            left.push(tokens);
        }
        for ((key, _, _), tokens) in keys.into_iter().zip(left) {
            buckets.insert(
                key,
                Bucket {
                    tokens: tokens - 1.0,
                    at: now,
                },
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32) -> LoginLimiter {
        let quota = Quota {
            burst,
            every: Duration::from_secs(60),
        };
        LoginLimiter::new(LoginLimit {
            per_address: quota,
            per_name: quota,
        })
    }

    #[test]
    fn a_refused_attempt_takes_nothing_from_the_other_bucket() {
        let limiter = limiter(2);
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        let there = Some(IpAddr::from([10, 0, 0, 2]));
        limiter.attempt(here, "ann").unwrap();
        limiter.attempt(there, "ann").unwrap();
        // ann's bucket is empty: refused, and here's one attempt is left for another name.
        let refusal = limiter.attempt(here, "ANN").unwrap_err();
        assert!(refusal.what.contains("ANN"), "{refusal:?}");
        assert!(refusal.retry_after > Duration::from_secs(50), "{refusal:?}");
        limiter.attempt(here, "bob").unwrap();
        assert!(
            limiter
                .attempt(here, "cy")
                .unwrap_err()
                .what
                .contains("10.0.0.1")
        );
    }
}
