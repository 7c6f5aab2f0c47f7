//! Content-addressed blobs on disk: each stored once under its SHA-256, written to a temporary
//! file and renamed into place, so a reader never sees half a blob and a crash leaves none.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The artifact store under one directory.
#[derive(Clone, Debug)]
pub struct ArtifactStore {
    dir: PathBuf,
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
        })
    }

    /// The SHA-256 of `bytes`, as the store names it.
    pub fn digest(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// Stores `bytes` (once) and returns their name.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<Stored> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_stored_once_under_their_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path()).unwrap();
        let first = store.put(b"model bytes").unwrap();
        let again = store.put(b"model bytes").unwrap();
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
