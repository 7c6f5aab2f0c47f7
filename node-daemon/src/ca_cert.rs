//! The CA certificates in a PEM file given with `--ca-cert`, which a node (and the CLI) trusts
//! beside the public roots when the control plane's certificate is from a private CA.

use std::path::Path;

use anyhow::Context;

/// Every certificate in the PEM file at `path`; an error names the file when there is none.
pub fn ca_certificates(path: &Path) -> anyhow::Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(path)
        .with_context(|| format!("reading the CA certificate {} (--ca-cert)", path.display()))?;
    reqwest::Certificate::from_pem_bundle(&pem)
        .ok()
        .filter(|bundle| !bundle.is_empty())
        .with_context(|| {
            format!(
                "the CA certificate {} (--ca-cert) holds no PEM certificate",
                path.display()
            )
        })
}
