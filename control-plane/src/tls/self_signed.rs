//! `trellis up --tls self-signed`: on a first install, a certificate authority of this control
//! plane's own and a server certificate it signs, written once under the data directory and
//! reused on every restart, so the CA that nodes and CLIs were given stays valid. Removing the
//! server certificate makes a new one (for new names) signed by the same CA.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Datelike;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use super::TlsFiles;

/// The CA's name, the same each time its parameters are rebuilt to sign with its stored key.
const CA_NAME: &str = "Trellis control plane CA";

/// What a self-signed setup consists of.
#[derive(Clone, Debug)]
pub struct SelfSigned {
    /// The CA certificate (PEM) that nodes and CLIs trust (`--ca-cert`).
    pub ca_cert: PathBuf,
    /// The server certificate and key the control plane serves.
    pub server: TlsFiles,
    /// Whether this call made the CA (a first install) rather than finding it.
    pub created_ca: bool,
}

/// The CA and server certificate in `dir`, made now if missing. The server certificate names
/// `localhost`, `127.0.0.1`, `::1` and `names` (this host's name, the addresses nodes use).
pub fn ensure(dir: &Path, names: &[String]) -> anyhow::Result<SelfSigned> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ca_cert = dir.join("ca.pem");
    let ca_key = dir.join("ca-key.pem");
    let server = TlsFiles {
        cert: dir.join("server.pem"),
        key: dir.join("server-key.pem"),
    };
    let created_ca = !ca_key.exists();
    let ca_signing_key = if created_ca {
        let key = KeyPair::generate().context("making the CA's key")?;
        let certificate = ca_params()?.self_signed(&key).context("signing the CA")?;
        write_private(&ca_key, key.serialize_pem().as_bytes())?;
        write_public(&ca_cert, certificate.pem().as_bytes())?;
        key
    } else {
        let pem = std::fs::read_to_string(&ca_key)
            .with_context(|| format!("reading the CA's key {}", ca_key.display()))?;
        KeyPair::from_pem(&pem)
            .with_context(|| format!("the CA's key {} is not a PEM key", ca_key.display()))?
    };
    if created_ca || !server.cert.exists() || !server.key.exists() {
        let issuer = Issuer::new(ca_params()?, ca_signing_key);
        let key = KeyPair::generate().context("making the server's key")?;
        let certificate = server_params(names)?
            .signed_by(&key, &issuer)
            .context("signing the server certificate")?;
        write_private(&server.key, key.serialize_pem().as_bytes())?;
        write_public(&server.cert, certificate.pem().as_bytes())?;
    }
    Ok(SelfSigned {
        ca_cert,
        server,
        created_ca,
    })
}

/// This machine's host name, for the server certificate; `None` where the system does not say.
pub fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Valid from the start of last year for `years` years, so clocks a little behind still accept it.
fn validity(params: &mut CertificateParams, years: i32) {
    let year = chrono::Utc::now().year();
    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = rcgen::date_time_ymd(year + years, 1, 1);
}

fn ca_params() -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut params, 20);
    Ok(params)
}

fn server_params(names: &[String]) -> anyhow::Result<CertificateParams> {
    let mut all = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    for name in names {
        if !all.contains(name) {
            all.push(name.clone());
        }
    }
    let mut params = CertificateParams::new(all.clone())
        .with_context(|| format!("a server certificate for {}", all.join(", ")))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "Trellis control plane");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut params, 10);
    Ok(params)
}

/// Writes `bytes` whole to `path` (a half-written file is never left behind) with `mode`.
fn write(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let dir = path.parent().expect("the TLS files are in a directory");
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing in {}", dir.display()))?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A key: readable by this user only.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write(path, bytes, 0o600)
}

/// A certificate: anyone may read it.
fn write_public(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write(path, bytes, 0o644)
}
