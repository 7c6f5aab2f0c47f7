//! Components by hash, fetched from the control plane once and kept on disk; every read is
//! checked against its hash, so a corrupt file is fetched again rather than run.

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
}
