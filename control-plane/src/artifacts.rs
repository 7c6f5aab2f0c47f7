//! Content-addressed blobs on disk: each stored once under its SHA-256, written to a temporary
//! file and renamed into place, so a reader never sees half a blob and a crash leaves none.
//!
//! A blob is written before the row that refers to it, so for a moment it belongs to no one.
//! Writers therefore hold a [`Lease`] from before they write until their row is committed, and
//! the collector works under the store's [`Exclusive`] hold, which waits for every lease and
//! holds new ones back while it runs: it never sees a blob whose row is still to come, nor
//! removes one that an identical upload has just found already stored.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The artifact store under one directory.
#[derive(Clone, Debug)]
pub struct ArtifactStore {
    dir: PathBuf,
    /// Read by writers ([`Lease`]), written by the collector ([`Exclusive`]).
    writers: Arc<RwLock<()>>,
}

/// Leave to write blobs that no row refers to yet; see the module's documentation.
pub struct Lease<'a> {
    store: &'a ArtifactStore,
    _writing: RwLockReadGuard<'a, ()>,
}

/// The store with no writer at work, for removing blobs.
pub struct Exclusive<'a> {
    store: &'a ArtifactStore,
    _alone: RwLockWriteGuard<'a, ()>,
}

/// A blob after [`ArtifactStore::put`].
#[derive(Clone, Debug)]
pub struct Stored {
    /// Lower-case hex SHA-256 of the bytes: the blob's name.
    pub sha256: String,
    /// Whether this put wrote it (false: it was already there).
    pub created: bool,
}

impl ArtifactStore {
    /// Opens (creating) the store in `dir`.
    pub fn open(dir: &Path) -> std::io::Result<ArtifactStore> {
        std::fs::create_dir_all(dir.join("incoming"))?;
        Ok(ArtifactStore {
            dir: dir.to_path_buf(),
            writers: Arc::new(RwLock::new(())),
        })
    }

    /// Leave to write blobs: hold it until the rows that refer to them are committed.
    pub async fn lease(&self) -> Lease<'_> {
        Lease {
            store: self,
            _writing: self.writers.read().await,
        }
    }

    /// The store to itself, once every lease is returned; new leases wait until it is dropped.
    pub async fn exclusive(&self) -> Exclusive<'_> {
        Exclusive {
            store: self,
            _alone: self.writers.write().await,
        }
    }

    /// The SHA-256 of `bytes`, as the store names it.
    pub fn digest(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// Stores `bytes` (once) and returns their name.
    fn put(&self, bytes: &[u8]) -> std::io::Result<Stored> {
        let sha256 = Self::digest(bytes);
        let path = self.blob_path(&sha256);
        if path.exists() {
            return Ok(Stored {
                sha256,
                created: false,
            });
        }
        std::fs::create_dir_all(path.parent().expect("blobs live in a shard directory"))?;
        let mut file = tempfile::NamedTempFile::new_in(self.dir.join("incoming"))?;
        file.write_all(bytes)?;
        file.as_file().sync_all()?;
        file.persist(&path).map_err(|e| e.error)?;
        Ok(Stored {
            sha256,
            created: true,
        })
    }

    /// Removes a blob this request created, when what would have referred to it failed.
    pub fn forget(&self, stored: &Stored) {
        if stored.created {
            let _ = std::fs::remove_file(self.blob_path(&stored.sha256));
        }
    }

    /// The bytes of blob `sha256`, or `None` if the store does not hold it (or the name is not a
    /// SHA-256).
    pub fn read(&self, sha256: &str) -> std::io::Result<Option<Vec<u8>>> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        match std::fs::read(self.blob_path(&sha256.to_ascii_lowercase())) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Names of every blob held, sorted (for checks that an upload left nothing behind).
    pub fn list(&self) -> std::io::Result<Vec<String>> {
        let mut names = Vec::new();
        for shard in std::fs::read_dir(&self.dir)? {
            let shard = shard?;
            if shard.file_name() == "incoming" || !shard.file_type()?.is_dir() {
                continue;
            }
            for blob in std::fs::read_dir(shard.path())? {
                names.push(blob?.file_name().to_string_lossy().into_owned());
            }
        }
        let incoming = std::fs::read_dir(self.dir.join("incoming"))?.count();
        if incoming > 0 {
            names.push(format!("({incoming} in incoming/)"));
        }
        names.sort();
        Ok(names)
    }

    fn blob_path(&self, sha256: &str) -> PathBuf {
        self.dir.join(&sha256[..2]).join(sha256)
    }
}

impl Lease<'_> {
    /// Stores `bytes` (once) and returns their name.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<Stored> {
        self.store.put(bytes)
    }
}

impl Exclusive<'_> {
    /// Every blob held, with its size in bytes.
    pub fn blobs(&self) -> std::io::Result<Vec<(String, u64)>> {
        let mut blobs = Vec::new();
        for shard in std::fs::read_dir(&self.store.dir)? {
            let shard = shard?;
            if shard.file_name() == "incoming" || !shard.file_type()?.is_dir() {
                continue;
            }
            for blob in std::fs::read_dir(shard.path())? {
                let blob = blob?;
                let name = blob.file_name().to_string_lossy().into_owned();
                blobs.push((name, blob.metadata()?.len()));
            }
        }
        Ok(blobs)
    }

    /// Removes blob `sha256` (one [`Exclusive::blobs`] listed).
    pub fn remove(&self, sha256: &str) -> std::io::Result<()> {
        std::fs::remove_file(self.store.blob_path(sha256))
    }

    /// Removes what writes that never finished (a crash mid-write) left in `incoming/`; with no
    /// writer at work, nothing there is being written. Returns the size of each file removed.
    pub fn clear_incoming(&self) -> std::io::Result<Vec<u64>> {
        let mut removed = Vec::new();
        for file in std::fs::read_dir(self.store.dir.join("incoming"))? {
            let file = file?;
            let size = file.metadata()?.len();
            std::fs::remove_file(file.path())?;
            removed.push(size);
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blobs_are_stored_once_under_their_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path()).unwrap();
        let lease = store.lease().await;
        let first = lease.put(b"model bytes").unwrap();
        let again = lease.put(b"model bytes").unwrap();
        assert!(first.created && !again.created);
        assert_eq!(first.sha256, hex::encode(Sha256::digest(b"model bytes")));
        assert_eq!(
            store.read(&first.sha256).unwrap().as_deref(),
            Some(&b"model bytes"[..])
        );
        assert_eq!(store.list().unwrap(), vec![first.sha256.clone()]);
        store.forget(&first);
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn names_that_are_not_digests_find_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path()).unwrap();
        assert!(store.read("../../etc/passwd").unwrap().is_none());
        assert!(store.read(&"g".repeat(64)).unwrap().is_none());
    }
}
