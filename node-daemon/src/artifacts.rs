//! Components by hash, fetched from the control plane once and kept on disk; every read is
//! checked against its hash, so a corrupt file is fetched again rather than run. What no
//! assignment names any more is removed.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    pub fn open(dir: PathBuf) -> anyhow::Result<ArtifactCache> {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(ArtifactCache { dir })
    }

    /// The bytes of `sha256`, from disk or else from `fetch`; verified either way.
    pub async fn get<F, Fut>(&self, sha256: &str, fetch: F) -> anyhow::Result<Vec<u8>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<Vec<u8>>>,
    {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("`{sha256}` is not a SHA-256");
        }
        let path = self.dir.join(sha256);
        if let Ok(bytes) = std::fs::read(&path) {
            if hex::encode(Sha256::digest(&bytes)) == sha256 {
                return Ok(bytes);
            }
            tracing::warn!("cached artifact {sha256} is corrupt; fetching it again");
        }
        let bytes = fetch().await?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != sha256 {
            bail!("artifact {sha256} arrived with hash {actual}");
        }
        let file = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::fs::write(file.path(), &bytes)?;
        file.persist(&path).map_err(|e| e.error)?;
        Ok(bytes)
    }

    /// Removes the cached artifacts not in `keep` (by hash); files that are not named by a hash
    /// (a fetch being written) are left alone.
    pub fn retain(&self, keep: &HashSet<String>) -> std::io::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_hash = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
            if is_hash && !keep.contains(&name) {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn what_is_not_kept_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::open(dir.path().to_path_buf()).unwrap();
        let mut names = Vec::new();
        for bytes in [&b"kept"[..], b"dropped"] {
            let sha = hex::encode(Sha256::digest(bytes));
            let fetched = bytes.to_vec();
            cache.get(&sha, || async { Ok(fetched) }).await.unwrap();
            names.push(sha);
        }
        std::fs::write(dir.path().join(".tmp-being-written"), b"partial").unwrap();
        let removed = cache.retain(&HashSet::from([names[0].clone()])).unwrap();
        assert_eq!(removed, 1);
        assert!(dir.path().join(&names[0]).exists());
        assert!(!dir.path().join(&names[1]).exists());
        assert!(dir.path().join(".tmp-being-written").exists());
    }
}
