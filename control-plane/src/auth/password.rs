//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes), in PHC string form
//! so the parameters travel with each hash; and the pool that bounds how many run at once.

use std::sync::{Arc, LazyLock};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

/// The PHC string for `password` with a fresh salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a password nobody knows, with the parameters real ones have: an unknown user name
/// is checked against it, so it costs the same work as a known one and the answer's timing does
/// not tell which names exist.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_password(&crate::ids::random_hex(16)).expect("hashing a random password")
});

/// Where password work runs: on blocking threads (argon2 takes tens of milliseconds and 19 MiB
/// on purpose), at most `permits` at a time, so a flood of logins queues here instead of
/// taking every core and a gigabyte of memory.
#[derive(Clone)]
pub struct PasswordPool {
    permits: Arc<Semaphore>,
}

impl PasswordPool {
    pub fn new(permits: usize) -> PasswordPool {
        PasswordPool {
            permits: Arc::new(Semaphore::new(permits.max(1))),
        }
    }

    /// One permit per core.
    pub fn per_core() -> PasswordPool {
        PasswordPool::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Runs `work` on a blocking thread once a permit is free.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the pool's semaphore is never closed");
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// Whether `password` matches `hash`; with no hash (an unknown user), the same work against
    /// a hash nothing matches, and `false`.
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        self.run(move || match hash {
            Some(hash) => verify_password(&password, &hash),
            None => {
                verify_password(&password, &DUMMY_HASH);
                false
            }
        })
        .await
    }

    /// The PHC string for `password`.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        self.run(move || hash_password(&password)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_hash_accepts_its_password_only() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsf", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn password_work_runs_no_more_at_once_than_the_pool_allows() {
        let pool = PasswordPool::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_unknown_user_is_refused_after_a_real_verification() {
        let pool = PasswordPool::new(1);
        let hash = hash_password("correct horse").unwrap();
        assert!(pool.verify("correct horse".into(), Some(hash)).await);
        assert!(!pool.verify("correct horse".into(), None).await);
    }
}
