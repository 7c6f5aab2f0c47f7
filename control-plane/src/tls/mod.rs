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
