//! `trellis:platform/state`: a small key-value store private to one app instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wasmtime::component::{HasSelf, Linker};

use super::too_large;
use crate::bindings::trellis::platform::state as wit;
use crate::instance_state::InstanceState;
use crate::types::Error;

/// Keeps an instance's state. The node backs it with storage that outlives the instance.
pub trait StateStore: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error>;
    /// Fails with `limit-exceeded` when the store would outgrow its quota.
    fn set(&self, key: &str, value: Vec<u8>) -> Result<(), Error>;
    fn delete(&self, key: &str) -> Result<(), Error>;
    fn keys(&self) -> Result<Vec<String>, Error>;
}

/// A store in memory with a quota on keys plus values.
pub struct MemoryStateStore {
    entries: Mutex<Entries>,
    quota_bytes: usize,
}

/// The entries and the bytes their keys and values take, kept together under one lock.
#[derive(Default)]
struct Entries {
    map: HashMap<String, Vec<u8>>,
    used_bytes: usize,
}

impl MemoryStateStore {
    /// An empty store that holds at most `quota_bytes` of keys and values.
    pub fn with_quota(quota_bytes: usize) -> MemoryStateStore {
        MemoryStateStore {
            entries: Mutex::default(),
            quota_bytes,
        }
    }

    /// A copy of everything stored, for inspection.
    pub fn snapshot(&self) -> HashMap<String, Vec<u8>> {
        self.entries.lock().unwrap().map.clone()
    }
}

impl Default for MemoryStateStore {
    fn default() -> Self {
        MemoryStateStore::with_quota(1 << 20)
    }
}

impl StateStore for MemoryStateStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.entries.lock().unwrap().map.get(key).cloned())
    }

    fn set(&self, key: &str, value: Vec<u8>) -> Result<(), Error> {
        let mut entries = self.entries.lock().unwrap();
        let replaced = entries.map.get(key).map_or(0, |old| key.len() + old.len());
        let total = entries.used_bytes - replaced + key.len() + value.len();
        if total > self.quota_bytes {
            return Err(too_large("the state store", total, self.quota_bytes));
        }
        entries.map.insert(key.to_string(), value);
        entries.used_bytes = total;
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), Error> {
        let mut entries = self.entries.lock().unwrap();
        if let Some(old) = entries.map.remove(key) {
            entries.used_bytes -= key.len() + old.len();
        }
        Ok(())
    }

    fn keys(&self) -> Result<Vec<String>, Error> {
        Ok(self.entries.lock().unwrap().map.keys().cloned().collect())
    }
}

pub(crate) struct StateCtx {
    pub(crate) store: Arc<dyn StateStore>,
    pub(crate) max_message_bytes: usize,
}

impl wit::Host for StateCtx {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, Error> {
        self.store.get(&key)
    }
    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), Error> {
        if value.len() > self.max_message_bytes {
            return Err(too_large("the value", value.len(), self.max_message_bytes));
        }
        self.store.set(&key, value)
    }
    fn delete(&mut self, key: String) -> Result<(), Error> {
        self.store.delete(&key)
    }
    fn keys(&mut self) -> Result<Vec<String>, Error> {
        self.store.keys()
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<_, HasSelf<StateCtx>>(linker, |s| &mut s.state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_counts_keys_and_values_and_replacing_frees_the_old_value() {
        let store = MemoryStateStore::with_quota(10);
        store.set("k", vec![0; 9]).unwrap();
        assert!(matches!(
            store.set("j", vec![0; 1]),
            Err(Error::LimitExceeded(_))
        ));
        store.set("k", vec![0; 2]).unwrap();
        store.set("j", vec![0; 1]).unwrap();
        assert_eq!(store.get("k").unwrap(), Some(vec![0; 2]));
        // Deleting frees its bytes too: with only "j" (2 bytes) left, "i" may take 1 + 7.
        store.delete("k").unwrap();
        assert!(matches!(
            store.set("i", vec![0; 8]),
            Err(Error::LimitExceeded(_))
        ));
        store.set("i", vec![0; 7]).unwrap();
    }
}
