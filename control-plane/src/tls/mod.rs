//! HTTPS for the API, the portal and `/metrics`: a certificate and key in PEM files (the
//! operator's own, or the ones [`self_signed`] makes on a first install), served with rustls on
//! the `ring` provider, the one the platform's HTTP clients use too.

pub mod listener;
pub mod self_signed;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use listener::TlsListener;

/// The certificate (with its chain, leaf first) and private key a control plane serves HTTPS
/// with, both PEM.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The rustls server settings for `files`, or an error naming the file and what is wrong with it.
pub fn server_config(files: &TlsFiles) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = read_certificates(&files.cert)?;
    let key = read_key(&files.key)?;
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("setting up TLS")?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .with_context(|| {
                format!(
                    "the TLS certificate {} and key {} do not go together",
                    files.cert.display(),
                    files.key.display()
                )
            })?;
    Ok(Arc::new(config))
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading the TLS {what} {}", path.display()))
}

fn read_certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = read(path, "certificate")?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("the TLS certificate {} is not valid PEM", path.display()))?;
    if chain.is_empty() {
        bail!(
            "the TLS certificate {} holds no `BEGIN CERTIFICATE` block",
            path.display()
        );
    }
    Ok(chain)
}

fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let pem = read(path, "key")?;
    PrivateKeyDer::from_pem_slice(&pem).with_context(|| {
        format!(
            "the TLS key {} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_tls_files_stop_the_start_naming_the_file_and_the_problem() {
        let one = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let first = self_signed::ensure(one.path(), &[]).unwrap();
        let second = self_signed::ensure(other.path(), &[]).unwrap();
        assert!(server_config(&first.server).is_ok());

        let mismatched = TlsFiles {
            cert: first.server.cert.clone(),
            key: second.server.key.clone(),
        };
        let error = format!("{:#}", server_config(&mismatched).unwrap_err());
        assert!(error.contains("do not go together"), "{error}");
        assert!(
            error.contains(&second.server.key.display().to_string()),
            "{error}"
        );

        let missing = TlsFiles {
            cert: one.path().join("nowhere.pem"),
            key: first.server.key.clone(),
        };
        let error = format!("{:#}", server_config(&missing).unwrap_err());
        assert!(error.contains("nowhere.pem"), "{error}");

        // A key where the certificate should be: no certificate in it.
        let swapped = TlsFiles {
            cert: first.server.key.clone(),
            key: first.server.key.clone(),
        };
        let error = format!("{:#}", server_config(&swapped).unwrap_err());
        assert!(error.contains("no `BEGIN CERTIFICATE`"), "{error}");
    }

    #[test]
    fn the_self_signed_ca_is_made_once_and_its_key_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let made = self_signed::ensure(dir.path(), &["cp.example.net".into()]).unwrap();
        assert!(made.created_ca);
        let ca = std::fs::read(&made.ca_cert).unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("ca-key.pem")), 0o600);
        assert_eq!(mode(&made.server.key), 0o600);
        // Restarted: the same CA; without its server certificate, a new one from that CA.
        std::fs::remove_file(&made.server.cert).unwrap();
        let again = self_signed::ensure(dir.path(), &[]).unwrap();
        assert!(!again.created_ca);
        assert_eq!(std::fs::read(&again.ca_cert).unwrap(), ca);
        assert!(server_config(&again.server).is_ok());
    }
}
