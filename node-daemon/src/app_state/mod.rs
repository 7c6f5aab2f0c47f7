//! The apps' `state` on this node: one durable store per deployment in the node's data
//! directory ([`store`]), handed to one instance at a time, and checkpointed to the control
//! plane ([`checkpoints`]) so the deployment takes its state along when it moves.
//!
//! How state and readings stay in step: an instance applies each reading's writes together with
//! the reading's bus offset, and skips readings at or below the stored offsets, so the bus may
//! deliver a reading again without it counting twice. The bus's consumer group is committed only
//! up to the offsets of the last checkpoint the control plane accepted, so a node that takes the
//! deployment over (from that checkpoint) is delivered every reading after it.

pub mod checkpoints;
pub mod store;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use trellis_protocol::node::StateCheckpoint;

pub use store::DeploymentStore;

/// Every deployment's store on this node.
pub struct AppStates {
    dir: PathBuf,
    open: Mutex<HashMap<String, Weak<DeploymentStore>>>,
    /// Deployments whose store an instance holds; a second instance of the same deployment (a
    /// new version replacing the old) waits for the first to let go.
    leased: Mutex<HashSet<String>>,
    released: Condvar,
    /// Checkpoints fetched from the control plane for instances about to start.
    offers: Mutex<HashMap<String, StateCheckpoint>>,
    /// Wakes the checkpointer early; `None` when nothing checkpoints (no control plane).
    checkpointer: Option<Arc<tokio::sync::Notify>>,
    /// Whether the checkpointer still runs (a node being shut down stops it first).
    checkpointer_runs: AtomicBool,
}

/// How long a stopping instance waits for its last checkpoint to be accepted.
const LAST_CHECKPOINT_PATIENCE: Duration = Duration::from_secs(10);

impl AppStates {
    /// The stores under `dir`; `checkpointer` is woken when a stopping instance wants its last
    /// checkpoint sent, and is `None` where no control plane takes checkpoints.
    pub fn new(dir: PathBuf, checkpointer: Option<Arc<tokio::sync::Notify>>) -> AppStates {
        AppStates {
            dir,
            open: Mutex::default(),
            leased: Mutex::default(),
            released: Condvar::new(),
            offers: Mutex::default(),
            checkpointer_runs: AtomicBool::new(checkpointer.is_some()),
            checkpointer,
        }
    }

    /// The store file of `deployment`: its id as the file name, hex-encoded if it holds
    /// anything but letters, digits, `_` and `-`.
    fn path(&self, deployment: &str) -> PathBuf {
        let plain = !deployment.is_empty()
            && deployment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let name = if plain {
            deployment.to_string()
        } else {
            format!("x{}", hex::encode(deployment))
        };
        self.dir.join(format!("{name}.sqlite"))
    }

    /// The open store of `deployment`, opening it if nobody holds it.
    fn store(&self, deployment: &str, quota_bytes: usize) -> Result<Arc<DeploymentStore>, String> {
        let mut open = self.open.lock().expect("open stores lock");
        if let Some(store) = open.get(deployment).and_then(Weak::upgrade) {
            store.set_quota(quota_bytes);
            return Ok(store);
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("creating {}: {e}", self.dir.display()))?;
        let store = Arc::new(DeploymentStore::open(&self.path(deployment), quota_bytes)?);
        open.retain(|_, weak| weak.strong_count() > 0);
        open.insert(deployment.to_string(), Arc::downgrade(&store));
        Ok(store)
    }

    /// Keeps `checkpoint` (the control plane's) for the next instance of `deployment` to start.
    pub fn offer(&self, deployment: &str, checkpoint: StateCheckpoint) {
        self.offers
            .lock()
            .expect("offers lock")
            .insert(deployment.to_string(), checkpoint);
    }

    /// Takes `deployment`'s store for one instance, once no other instance holds it (waiting
    /// while `stop` is unset), restored from the control plane's checkpoint if that is newer.
    /// `Ok(None)`: told to stop while waiting.
    pub fn lease(
        self: &Arc<Self>,
        deployment: &str,
        quota_bytes: usize,
        stop: &AtomicBool,
    ) -> Result<Option<Lease>, String> {
        {
            let mut leased = self.leased.lock().expect("leases lock");
            while leased.contains(deployment) {
                if stop.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                leased = self
                    .released
                    .wait_timeout(leased, Duration::from_millis(50))
                    .expect("leases lock")
                    .0;
            }
            leased.insert(deployment.to_string());
        }
        let mut lease = Lease {
            states: self.clone(),
            deployment: deployment.to_string(),
            store: None,
        };
        let store = self.store(deployment, quota_bytes)?;
        let offer = self.offers.lock().expect("offers lock").remove(deployment);
        // Generations count the checkpoints the control plane accepted: a newer one than this
        // store continues from was written by another node, after this store's history.
        if let Some(checkpoint) = offer.filter(|c| c.generation > store.base_generation()) {
            tracing::info!(
                "{deployment}: taking the control plane's state (checkpoint {})",
                checkpoint.generation
            );
            store.restore(&checkpoint)?;
        }
        lease.store = Some(store);
        Ok(Some(lease))
    }

    /// The stores instances hold now, for the checkpointer.
    pub fn live(&self) -> Vec<(String, Arc<DeploymentStore>)> {
        self.open
            .lock()
            .expect("open stores lock")
            .iter()
            .filter_map(|(id, weak)| Some((id.clone(), weak.upgrade()?)))
            .collect()
    }

    /// Whether a control plane takes checkpoints: if not, the bus may forget a reading as soon
    /// as it is applied here.
    pub fn checkpointing(&self) -> bool {
        self.checkpointer.is_some()
    }

    /// The checkpointer has stopped: instances stopping now do not wait for it.
    pub fn checkpointer_stopped(&self) {
        self.checkpointer_runs.store(false, Ordering::Relaxed);
    }

    /// Asks for `store`'s last checkpoint now and waits (a while) for it to be accepted.
    pub fn last_checkpoint(&self, deployment: &str, store: &DeploymentStore) {
        let Some(checkpointer) = &self.checkpointer else {
            return;
        };
        checkpointer.notify_one();
        let deadline = std::time::Instant::now() + LAST_CHECKPOINT_PATIENCE;
        let mut accepted = false;
        while !accepted
            && std::time::Instant::now() < deadline
            && self.checkpointer_runs.load(Ordering::Relaxed)
        {
            accepted = store.wait_checkpointed(Duration::from_millis(100));
        }
        if !accepted {
            tracing::warn!(
                "{deployment}: its last state checkpoint was not accepted; a node that takes it \
                 over redoes the readings since the last accepted one"
            );
        }
    }
}

/// One instance's hold on its deployment's store.
pub struct Lease {
    states: Arc<AppStates>,
    deployment: String,
    store: Option<Arc<DeploymentStore>>,
}

impl Lease {
    pub fn store(&self) -> &Arc<DeploymentStore> {
        self.store.as_ref().expect("a lease holds its store")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // The store closes with its last holder; the next instance opens it again.
        self.store = None;
        self.states
            .leased
            .lock()
            .expect("leases lock")
            .remove(&self.deployment);
        self.states.released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trellis_host::capabilities::StateStore;
    use trellis_protocol::node::StateEntry;

    fn checkpoint(generation: u64, count: &str) -> StateCheckpoint {
        StateCheckpoint {
            generation,
            entries: vec![StateEntry {
                key: "count".into(),
                value: count.as_bytes().to_vec(),
            }],
            offsets: Default::default(),
        }
    }

    #[test]
    fn a_second_instance_waits_for_the_first_to_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let states = Arc::new(AppStates::new(dir.path().to_path_buf(), None));
        let stop = AtomicBool::new(false);
        let first = states.lease("dep_1", 1024, &stop).unwrap().unwrap();
        first.store().set("count", b"1".to_vec()).unwrap();
        first.store().commit(None).unwrap();
        let second = {
            let states = states.clone();
            std::thread::spawn(move || {
                let stop = AtomicBool::new(false);
                let lease = states.lease("dep_1", 1024, &stop).unwrap().unwrap();
                lease.store().get("count").unwrap()
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        assert!(!second.is_finished(), "leased twice at once");
        first.store().set("count", b"2".to_vec()).unwrap();
        first.store().commit(None).unwrap();
        drop(first);
        assert_eq!(second.join().unwrap(), Some(b"2".to_vec()));

        // One told to stop while waiting gives up.
        let _held = states.lease("dep_1", 1024, &stop).unwrap().unwrap();
        let stop = AtomicBool::new(true);
        assert!(states.lease("dep_1", 1024, &stop).unwrap().is_none());
    }

    #[test]
    fn only_a_newer_checkpoint_than_the_store_continues_from_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let states = Arc::new(AppStates::new(dir.path().to_path_buf(), None));
        let stop = AtomicBool::new(false);
        states.offer("dep_1", checkpoint(3, "30"));
        let lease = states.lease("dep_1", 1024, &stop).unwrap().unwrap();
        assert_eq!(lease.store().get("count").unwrap(), Some(b"30".to_vec()));
        lease.store().set("count", b"31".to_vec()).unwrap();
        lease.store().commit(None).unwrap();
        drop(lease);

        // The same generation is this store's own past: what it holds since is kept.
        states.offer("dep_1", checkpoint(3, "30"));
        let lease = states.lease("dep_1", 1024, &stop).unwrap().unwrap();
        assert_eq!(lease.store().get("count").unwrap(), Some(b"31".to_vec()));
        drop(lease);

        states.offer("dep_1", checkpoint(5, "50"));
        let lease = states.lease("dep_1", 1024, &stop).unwrap().unwrap();
        assert_eq!(lease.store().get("count").unwrap(), Some(b"50".to_vec()));
    }

    #[test]
    fn odd_deployment_ids_make_safe_file_names() {
        let states = AppStates::new(PathBuf::from("/d"), None);
        assert_eq!(states.path("dep_1-a"), PathBuf::from("/d/dep_1-a.sqlite"));
        assert_eq!(states.path("../x"), PathBuf::from("/d/x2e2e2f78.sqlite"));
    }
}
