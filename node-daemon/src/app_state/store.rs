//! One deployment's `state` store on this node: a SQLite file in the node's data directory that
//! keeps the app's entries together with, per sensor topic, the offset of the last reading they
//! include. What an app writes while handling one reading (or one tick) is held aside until the
//! call returns, then applied with that reading's offset, or dropped if it trapped. Applied
//! calls reach the file together in one transaction ([`DeploymentStore::flush`]), so a node
//! handling a run of readings writes once for the run, and the stored state and the stored
//! offsets always agree: a process killed before the flush loses the run's writes and its
//! offsets alike, and the bus hands those readings out again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use trellis_host::capabilities::StateStore;
use trellis_host::types::Error;
use trellis_protocol::node::{StateCheckpoint, StateEntry};

/// A deployment's durable state store.
pub struct DeploymentStore {
    inner: Mutex<Inner>,
    /// Woken when a checkpoint is accepted, for an instance waiting for its last one.
    checkpointed: Condvar,
    quota_bytes: AtomicUsize,
}

struct Inner {
    db: Connection,
    /// The entries as committed, mirrored in memory: reads and checkpoints need no query.
    entries: HashMap<String, Vec<u8>>,
    /// Bytes of keys plus values in `entries`.
    used_bytes: usize,
    /// Writes of the call in progress: a value, or `None` for a delete.
    pending: HashMap<String, Option<Vec<u8>>>,
    /// Bytes of keys plus values as the call in progress sees the store.
    pending_used_bytes: usize,
    /// Topic → offset of the last reading applied.
    offsets: BTreeMap<String, u64>,
    /// Keys applied since the last flush; their values are in `entries` (absent: deleted).
    unwritten: HashSet<String>,
    /// `offsets` as the file holds them.
    written_offsets: BTreeMap<String, u64>,
    /// The control plane's checkpoint generation this store's history continues from.
    base_generation: u64,
    /// Counts commits, so the checkpointer knows what it has sent.
    version: u64,
    /// The version and offsets of the last checkpoint the control plane accepted.
    accepted_version: u64,
    accepted_offsets: BTreeMap<String, u64>,
}

/// What a checkpoint sends, and the version it was taken at.
pub struct Snapshot {
    pub checkpoint: StateCheckpoint,
    pub version: u64,
}

fn unavailable(what: &str, e: rusqlite::Error) -> Error {
    Error::Unavailable(format!("the state store: {what}: {e}"))
}

impl DeploymentStore {
    /// Opens (or creates) the store in `path`, holding at most `quota_bytes` of keys and values.
    pub fn open(path: &Path, quota_bytes: usize) -> Result<DeploymentStore, String> {
        let fail = |e: rusqlite::Error| format!("opening the state store {}: {e}", path.display());
        let db = Connection::open(path).map_err(fail)?;
        // One holder at a time, even across processes (two nodes started on one data
        // directory): the lock is taken at the first access and kept until the store closes.
        db.pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(fail)?;
        // WAL with NORMAL sync survives the process being killed at any point (a power cut may
        // lose the last commits, which the bus then delivers again).
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        db.pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail)?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS offsets (topic TEXT PRIMARY KEY, handled INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);",
        )
        .map_err(fail)?;
        let entries: HashMap<String, Vec<u8>> = db
            .prepare("SELECT key, value FROM entries")
            .and_then(|mut rows| {
                rows.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .map_err(fail)?;
        let offsets: BTreeMap<String, u64> = db
            .prepare("SELECT topic, handled FROM offsets")
            .and_then(|mut rows| {
                rows.query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64))
                })?
                .collect()
            })
            .map_err(fail)?;
        let base_generation: i64 = db
            .query_row(
                "SELECT value FROM meta WHERE name = 'base_generation'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(fail)?
            .unwrap_or(0);
        let used_bytes = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
        Ok(DeploymentStore {
            inner: Mutex::new(Inner {
                db,
                entries,
                used_bytes,
                pending: HashMap::new(),
                pending_used_bytes: used_bytes,
                written_offsets: offsets.clone(),
                offsets,
                unwritten: HashSet::new(),
                base_generation: base_generation as u64,
                version: 0,
                accepted_version: 0,
                accepted_offsets: BTreeMap::new(),
            }),
            checkpointed: Condvar::new(),
            quota_bytes: AtomicUsize::new(quota_bytes),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("state store lock")
    }

    /// Sets the quota (each version of the app's manifest names its own).
    pub fn set_quota(&self, quota_bytes: usize) {
        self.quota_bytes.store(quota_bytes, Ordering::Relaxed);
    }

    /// Whether the reading at `offset` of `topic` is already applied to the state.
    pub fn applied(&self, topic: &str, offset: u64) -> bool {
        self.lock().offsets.get(topic).is_some_and(|&o| offset <= o)
    }

    /// Topic → offset of the last reading whose state is in the file: what the bus may forget.
    pub fn offsets(&self) -> BTreeMap<String, u64> {
        self.lock().written_offsets.clone()
    }

    /// Applies the call's pending writes, and (for a reading) its offset: reads and checkpoints
    /// see them at once, and the next [`flush`](Self::flush) writes them.
    pub fn apply(&self, reading: Option<(&str, u64)>) {
        self.lock().apply(reading);
    }

    /// Writes everything applied since the last flush in one transaction. On failure it stays
    /// applied, and the next flush tries again.
    pub fn flush(&self) -> Result<(), Error> {
        self.lock().flush()
    }

    /// Applies the call's writes (and offset) and flushes.
    pub fn commit(&self, reading: Option<(&str, u64)>) -> Result<(), Error> {
        let mut inner = self.lock();
        inner.apply(reading);
        inner.flush()
    }

    /// Drops the call's pending writes: it trapped.
    pub fn discard(&self) {
        let mut inner = self.lock();
        inner.pending.clear();
        inner.pending_used_bytes = inner.used_bytes;
    }

    /// The committed state for a checkpoint, or `None` if it has not changed since the last
    /// accepted one.
    pub fn snapshot_if_changed(&self) -> Option<Snapshot> {
        let inner = self.lock();
        (inner.version != inner.accepted_version).then(|| {
            let mut entries: Vec<StateEntry> = inner
                .entries
                .iter()
                .map(|(key, value)| StateEntry {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect();
            entries.sort_by(|a, b| a.key.cmp(&b.key));
            Snapshot {
                checkpoint: StateCheckpoint {
                    generation: inner.base_generation,
                    entries,
                    offsets: inner.offsets.clone(),
                },
                version: inner.version,
            }
        })
    }

    /// The control plane accepted `snapshot` as `generation`: this store continues from it, and
    /// the bus may forget readings up to its offsets.
    pub fn accepted(&self, snapshot: &Snapshot, generation: u64) -> Result<(), String> {
        let mut inner = self.lock();
        inner
            .db
            .execute(
                "INSERT INTO meta (name, value) VALUES ('base_generation', ?1) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![generation as i64],
            )
            .map_err(|e| format!("saving the checkpoint generation: {e}"))?;
        inner.base_generation = generation;
        inner.accepted_version = snapshot.version;
        inner.accepted_offsets = snapshot.checkpoint.offsets.clone();
        self.checkpointed.notify_all();
        Ok(())
    }

    /// The offsets of the last checkpoint the control plane accepted: what the bus may commit.
    pub fn accepted_offsets(&self) -> BTreeMap<String, u64> {
        self.lock().accepted_offsets.clone()
    }

    /// Waits up to `patience` for every commit to be in an accepted checkpoint; whether it is.
    pub fn wait_checkpointed(&self, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        let mut inner = self.lock();
        while inner.accepted_version != inner.version {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            inner = self
                .checkpointed
                .wait_timeout(inner, left)
                .expect("state store lock")
                .0;
        }
        true
    }

    /// The checkpoint generation this store continues from.
    pub fn base_generation(&self) -> u64 {
        self.lock().base_generation
    }

    /// Replaces everything with `checkpoint` (taken elsewhere, newer than this store), in one
    /// transaction.
    pub fn restore(&self, checkpoint: &StateCheckpoint) -> Result<(), String> {
        let mut inner = self.lock();
        let written = (|| {
            let tx = inner.db.unchecked_transaction()?;
            tx.execute("DELETE FROM entries", [])?;
            tx.execute("DELETE FROM offsets", [])?;
            for entry in &checkpoint.entries {
                tx.execute(
                    "INSERT INTO entries (key, value) VALUES (?1, ?2)",
                    params![entry.key, entry.value],
                )?;
            }
            for (topic, offset) in &checkpoint.offsets {
                tx.execute(
                    "INSERT INTO offsets (topic, handled) VALUES (?1, ?2)",
                    params![topic, *offset as i64],
                )?;
            }
            tx.execute(
                "INSERT INTO meta (name, value) VALUES ('base_generation', ?1) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![checkpoint.generation as i64],
            )?;
            tx.commit()
        })();
        written.map_err(|e| format!("restoring the state checkpoint: {e}"))?;
        inner.entries = checkpoint
            .entries
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect();
        inner.used_bytes = inner.entries.iter().map(|(k, v)| k.len() + v.len()).sum();
        inner.pending.clear();
        inner.pending_used_bytes = inner.used_bytes;
        inner.offsets = checkpoint.offsets.clone();
        inner.unwritten.clear();
        inner.written_offsets = checkpoint.offsets.clone();
        inner.base_generation = checkpoint.generation;
        // What the control plane holds is this state: nothing to send until it changes.
        inner.accepted_version = inner.version;
        inner.accepted_offsets = checkpoint.offsets.clone();
        Ok(())
    }
}

impl Inner {
    fn apply(&mut self, reading: Option<(&str, u64)>) {
        if self.pending.is_empty() && reading.is_none() {
            return;
        }
        for (key, value) in std::mem::take(&mut self.pending) {
            match value {
                Some(value) => self.entries.insert(key.clone(), value),
                None => self.entries.remove(&key),
            };
            self.unwritten.insert(key);
        }
        self.used_bytes = self.pending_used_bytes;
        if let Some((topic, offset)) = reading {
            match self.offsets.get_mut(topic) {
                Some(applied) => *applied = offset,
                None => {
                    self.offsets.insert(topic.to_string(), offset);
                }
            }
        }
        self.version += 1;
    }

    fn flush(&mut self) -> Result<(), Error> {
        let moved: Vec<(&String, &u64)> = self
            .offsets
            .iter()
            .filter(|(topic, offset)| self.written_offsets.get(*topic) != Some(offset))
            .collect();
        if self.unwritten.is_empty() && moved.is_empty() {
            return Ok(());
        }
        let written = (|| {
            let tx = self.db.unchecked_transaction()?;
            {
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO entries (key, value) VALUES (?1, ?2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )?;
                let mut delete = tx.prepare_cached("DELETE FROM entries WHERE key = ?1")?;
                for key in &self.unwritten {
                    match self.entries.get(key) {
                        Some(value) => upsert.execute(params![key, value])?,
                        None => delete.execute(params![key])?,
                    };
                }
                let mut handled = tx.prepare_cached(
                    "INSERT INTO offsets (topic, handled) VALUES (?1, ?2) \
                     ON CONFLICT (topic) DO UPDATE SET handled = excluded.handled",
                )?;
                for (topic, offset) in &moved {
                    handled.execute(params![topic, **offset as i64])?;
                }
            }
            tx.commit()
        })();
        written.map_err(|e| unavailable("saving", e))?;
        self.unwritten.clear();
        self.written_offsets.clone_from(&self.offsets);
        Ok(())
    }

    /// The bytes `key` and its value take as the call in progress sees the store.
    fn seen_bytes(&self, key: &str) -> usize {
        match self.pending.get(key) {
            Some(Some(value)) => key.len() + value.len(),
            Some(None) => 0,
            None => self.entries.get(key).map_or(0, |v| key.len() + v.len()),
        }
    }
}

impl StateStore for DeploymentStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let inner = self.lock();
        Ok(match inner.pending.get(key) {
            Some(value) => value.clone(),
            None => inner.entries.get(key).cloned(),
        })
    }

    fn set(&self, key: &str, value: Vec<u8>) -> Result<(), Error> {
        let mut inner = self.lock();
        let quota = self.quota_bytes.load(Ordering::Relaxed);
        let total = inner.pending_used_bytes - inner.seen_bytes(key) + key.len() + value.len();
        if total > quota {
            return Err(Error::LimitExceeded(format!(
                "the state store would hold {total} bytes; its quota is {quota}"
            )));
        }
        inner.pending.insert(key.to_string(), Some(value));
        inner.pending_used_bytes = total;
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), Error> {
        let mut inner = self.lock();
        let freed = inner.seen_bytes(key);
        inner.pending_used_bytes -= freed;
        inner.pending.insert(key.to_string(), None);
        Ok(())
    }

    fn keys(&self) -> Result<Vec<String>, Error> {
        let inner = self.lock();
        let mut keys: Vec<String> = inner
            .entries
            .keys()
            .filter(|k| !inner.pending.contains_key(*k))
            .cloned()
            .collect();
        keys.extend(
            inner
                .pending
                .iter()
                .filter(|(_, v)| v.is_some())
                .map(|(k, _)| k.clone()),
        );
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &tempfile::TempDir, quota: usize) -> DeploymentStore {
        DeploymentStore::open(&dir.path().join("dep_1.sqlite"), quota).unwrap()
    }

    #[test]
    fn committed_writes_and_their_offset_survive_reopening_and_discarded_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 1024);
        store.set("count", b"1".to_vec()).unwrap();
        store.set("gone", b"x".to_vec()).unwrap();
        store.commit(Some(("t", 7))).unwrap();
        store.delete("gone").unwrap();
        store.set("count", b"2".to_vec()).unwrap();
        // Within the call, its own writes are what it reads.
        assert_eq!(store.get("count").unwrap(), Some(b"2".to_vec()));
        assert_eq!(store.get("gone").unwrap(), None);
        store.discard();
        assert_eq!(store.get("count").unwrap(), Some(b"1".to_vec()));
        drop(store);

        let store = open(&dir, 1024);
        assert_eq!(store.get("count").unwrap(), Some(b"1".to_vec()));
        assert_eq!(store.get("gone").unwrap(), Some(b"x".to_vec()));
        assert!(store.applied("t", 7) && store.applied("t", 3));
        assert!(!store.applied("t", 8) && !store.applied("other", 0));
        let mut keys = store.keys().unwrap();
        keys.sort();
        assert_eq!(keys, ["count", "gone"]);
    }

    #[test]
    fn applied_calls_reach_the_file_together_at_the_flush_and_not_before() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 1024);
        store.set("count", b"1".to_vec()).unwrap();
        store.apply(Some(("t", 1)));
        store.set("count", b"2".to_vec()).unwrap();
        store.set("last", b"b".to_vec()).unwrap();
        store.apply(Some(("t", 2)));
        // Applied: seen by reads and by the duplicate check, but the bus may not forget it yet.
        assert_eq!(store.get("count").unwrap(), Some(b"2".to_vec()));
        assert!(store.applied("t", 2));
        assert_eq!(store.offsets(), BTreeMap::new());
        drop(store);

        // Killed before the flush: neither the writes nor their offsets are there.
        let store = open(&dir, 1024);
        assert_eq!(store.get("count").unwrap(), None);
        assert!(!store.applied("t", 1));
        store.set("count", b"1".to_vec()).unwrap();
        store.apply(Some(("t", 1)));
        store.set("count", b"2".to_vec()).unwrap();
        store.delete("count").unwrap();
        store.set("last", b"b".to_vec()).unwrap();
        store.apply(Some(("t", 2)));
        store.flush().unwrap();
        assert_eq!(store.offsets(), BTreeMap::from([("t".into(), 2)]));
        drop(store);

        let store = open(&dir, 1024);
        assert_eq!(store.get("count").unwrap(), None, "the delete was written");
        assert_eq!(store.get("last").unwrap(), Some(b"b".to_vec()));
        assert!(store.applied("t", 2) && !store.applied("t", 3));
    }

    #[test]
    fn a_trap_in_a_run_drops_only_its_own_call_and_the_run_before_it_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 1024);
        store.set("a", b"kept".to_vec()).unwrap();
        store.apply(Some(("t", 1)));
        store.set("a", b"trapped".to_vec()).unwrap();
        store.set("b", b"trapped".to_vec()).unwrap();
        store.discard();
        // The trapping reading's offset is kept, so it is not handed to the app again.
        store.apply(Some(("t", 2)));
        store.flush().unwrap();
        drop(store);

        let store = open(&dir, 1024);
        assert_eq!(store.get("a").unwrap(), Some(b"kept".to_vec()));
        assert_eq!(store.get("b").unwrap(), None);
        assert!(store.applied("t", 2));
    }

    #[test]
    fn the_quota_counts_pending_writes_and_committed_entries_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 10);
        store.set("k", vec![0; 9]).unwrap();
        assert!(matches!(
            store.set("j", vec![0; 1]),
            Err(Error::LimitExceeded(_))
        ));
        store.commit(None).unwrap();
        drop(store);

        let store = open(&dir, 10);
        assert!(matches!(
            store.set("j", vec![0; 1]),
            Err(Error::LimitExceeded(_))
        ));
        // A delete in the same call frees its bytes for the call's next write.
        store.delete("k").unwrap();
        store.set("j", vec![0; 9]).unwrap();
        // Dropping the call gives the bytes back to what is committed.
        store.discard();
        assert!(matches!(
            store.set("i", vec![0; 1]),
            Err(Error::LimitExceeded(_))
        ));
    }

    #[test]
    fn a_restored_checkpoint_replaces_everything_and_counts_as_checkpointed() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 1024);
        store.set("old", b"1".to_vec()).unwrap();
        store.commit(Some(("t", 50))).unwrap();
        let checkpoint = StateCheckpoint {
            generation: 4,
            entries: vec![StateEntry {
                key: "count".into(),
                value: b"9".to_vec(),
            }],
            offsets: BTreeMap::from([("t".to_string(), 20)]),
        };
        store.restore(&checkpoint).unwrap();
        assert!(store.snapshot_if_changed().is_none());
        drop(store);
        let store = open(&dir, 1024);
        assert_eq!(store.get("old").unwrap(), None);
        assert_eq!(store.get("count").unwrap(), Some(b"9".to_vec()));
        assert!(store.applied("t", 20) && !store.applied("t", 21));
        assert_eq!(store.base_generation(), 4);
    }

    #[test]
    fn a_snapshot_is_sent_until_accepted_and_accepting_moves_the_bus_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 1024);
        assert!(store.snapshot_if_changed().is_none(), "nothing to send yet");
        store.set("count", b"1".to_vec()).unwrap();
        store.commit(Some(("t", 0))).unwrap();
        let first = store.snapshot_if_changed().expect("a change to send");
        assert_eq!(first.checkpoint.generation, 0);
        // A reading handled while the first checkpoint is on its way.
        store.commit(Some(("t", 1))).unwrap();
        store.accepted(&first, 1).unwrap();
        assert_eq!(store.accepted_offsets(), BTreeMap::from([("t".into(), 0)]));
        assert!(!store.wait_checkpointed(Duration::ZERO));
        let second = store.snapshot_if_changed().expect("the later reading");
        assert_eq!(second.checkpoint.generation, 1);
        store.accepted(&second, 2).unwrap();
        assert!(store.wait_checkpointed(Duration::ZERO));
        assert_eq!(store.accepted_offsets(), BTreeMap::from([("t".into(), 1)]));
    }
}
