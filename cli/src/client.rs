//! Talking to a control plane: the saved login, and requests that turn refusals into errors
//! that say what to fix.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, bail};
use reqwest::blocking::{Client, ClientBuilder, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What `trellis login` saves: where the control plane is and the session token.
#[derive(Serialize, Deserialize)]
pub struct Session {
    pub url: String,
    pub token: String,
    pub user: String,
    pub role: String,
    /// The CA certificate `trellis login --ca-cert` trusted, trusted again by later commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
}

/// Where the CLI keeps its login: `$TRELLIS_HOME`, else `~/.config/trellis`.
pub fn home() -> PathBuf {
    std::env::var_os("TRELLIS_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/trellis")))
        .unwrap_or_else(|| PathBuf::from(".trellis"))
}

fn session_file() -> PathBuf {
    home().join("session.json")
}

impl Session {
    pub fn save(&self) -> anyhow::Result<()> {
        self.save_to(&session_file())
    }

    /// Writes the login to `file`, readable by its owner only (0600, in a 0700 folder): the
    /// token in it is as good as the password. A file or folder an older version left open is
    /// closed on the way.
    fn save_to(&self, file: &std::path::Path) -> anyhow::Result<()> {
        use std::io::Write;
        #[cfg(unix)]
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

        let folder = file.parent().expect("the session file is in a directory");
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        builder.mode(0o700);
        builder
            .create(folder)
            .with_context(|| format!("creating {}", folder.display()))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("making {} private", folder.display()))?;
            options.mode(0o600);
            if file.exists() {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("making {} private", file.display()))?;
            }
        }
        options
            .open(file)
            .and_then(|mut f| f.write_all(&serde_json::to_vec_pretty(self)?))
            .with_context(|| format!("saving the login to {}", file.display()))
    }

    pub fn load() -> anyhow::Result<Session> {
        let file = session_file();
        let bytes = std::fs::read(&file).map_err(|_| {
            anyhow::anyhow!("not logged in: run `trellis login --url URL --user NAME` first")
        })?;
        serde_json::from_slice(&bytes).with_context(|| format!("reading {}", file.display()))
    }
}

/// The CA certificate named by `--ca-cert` (or `TRELLIS_CA_CERT`), or the one `trellis up`
/// made for itself, set once at the start of the command.
static CA_CERT: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Trusts the CA certificate at `ca_cert` (PEM) for HTTPS from now on, beside the public roots.
pub fn trust(ca_cert: Option<PathBuf>) {
    *CA_CERT.lock().unwrap_or_else(|p| p.into_inner()) = ca_cert;
}

/// The CA certificate given to this command (`--ca-cert`), if any.
pub fn ca_cert_flag() -> Option<PathBuf> {
    CA_CERT.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// A client builder that trusts the public roots and the CA certificate at `ca_cert` (PEM).
pub fn builder_trusting(ca_cert: Option<&Path>) -> anyhow::Result<ClientBuilder> {
    let mut builder = Client::builder();
    let certificates = ca_cert.map(trellis_node::ca_certificates).transpose()?;
    for certificate in certificates.unwrap_or_default() {
        builder = builder.add_root_certificate(certificate);
    }
    Ok(builder)
}

/// A client builder that trusts the public roots and `--ca-cert`, else the CA the saved login
/// trusts.
pub fn builder() -> anyhow::Result<ClientBuilder> {
    let saved = || Session::load().ok().and_then(|session| session.ca_cert);
    builder_trusting(ca_cert_flag().or_else(saved).as_deref())
}

/// A logged-in client.
pub struct Api {
    pub session: Session,
    client: Client,
}

impl Api {
    pub fn from_saved_login() -> anyhow::Result<Api> {
        let session = Session::load()?;
        let ca_cert = ca_cert_flag().or_else(|| session.ca_cert.clone());
        Ok(Api {
            client: with_timeout(builder_trusting(ca_cert.as_deref())?)?,
            session,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.session.url.trim_end_matches('/'))
    }

    pub fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.client.get(self.url(path)))
    }

    /// The answer as the API type it is.
    pub fn get_as<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        typed(path, self.get(path)?)
    }

    /// A listing and the number of items matching in all (its `X-Total-Count` header), which
    /// is more than the listing holds when it is one page.
    pub fn get_page(&self, path: &str) -> anyhow::Result<(Value, Option<u64>)> {
        let response = self
            .request(reqwest::Method::GET, path)
            .send()
            .map_err(|e| unreachable(&self.session.url, e))?;
        let total = response
            .headers()
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok((read_answer(response)?, total))
    }

    pub fn post(&self, path: &str, body: &impl Serialize) -> anyhow::Result<Value> {
        self.send(self.client.post(self.url(path)).json(body))
    }

    /// Posts `body` and reads the answer as the API type it is.
    pub fn post_as<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<T> {
        typed(path, self.post(path, body)?)
    }

    pub fn patch(&self, path: &str, body: &impl Serialize) -> anyhow::Result<Value> {
        self.send(self.client.patch(self.url(path)).json(body))
    }

    pub fn put(&self, path: &str, body: &impl Serialize) -> anyhow::Result<Value> {
        self.send(self.client.put(self.url(path)).json(body))
    }

    pub fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.client.delete(self.url(path)))
    }

    /// A request with the session's token, to build on (uploads).
    pub fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.session.token)
    }

    pub fn send(&self, request: RequestBuilder) -> anyhow::Result<Value> {
        let response = request
            .bearer_auth(&self.session.token)
            .send()
            .map_err(|e| unreachable(&self.session.url, e))?;
        read_answer(response)
    }
}

pub fn client() -> anyhow::Result<Client> {
    with_timeout(builder()?)
}

fn with_timeout(builder: ClientBuilder) -> anyhow::Result<Client> {
    // Uploads and first model loads can take a while; a stuck server still ends the wait.
    Ok(builder
        .timeout(std::time::Duration::from_secs(600))
        .build()?)
}

pub fn unreachable(url: &str, error: reqwest::Error) -> anyhow::Error {
    // reqwest says only "error sending request"; the reason is further down its sources.
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        reason = format!("{reason}: {cause}");
        if cause.to_string().contains("invalid peer certificate") {
            return anyhow::anyhow!(
                "the control plane at {url} presented a certificate this CLI does not trust \
                 ({cause}): give its CA certificate with --ca-cert FILE (or TRELLIS_CA_CERT), \
                 e.g. the ca.pem `trellis up --tls self-signed` printed"
            );
        }
        source = cause.source();
    }
    anyhow::anyhow!("cannot reach the control plane at {url} ({reason}); is `trellis up` running?")
}

/// An answer read as its API type; a mismatch means CLI and control plane differ in version.
pub fn typed<T: DeserializeOwned>(path: &str, answer: Value) -> anyhow::Result<T> {
    serde_json::from_value(answer).with_context(|| {
        format!("reading the answer of {path}: is the control plane the same version as this CLI?")
    })
}

/// The JSON of a successful answer, or an error carrying the server's message.
pub fn read_answer(response: Response) -> anyhow::Result<Value> {
    let status = response.status();
    let text = response.text().unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
    if status.is_success() {
        return Ok(body);
    }
    let message = body["error"].as_str().map(str::to_string).unwrap_or(text);
    match status.as_u16() {
        401 => bail!("{message} (run `trellis login` again)"),
        403 => bail!("not allowed: {message}"),
        _ => bail!("{message} ({status})"),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_session_file_and_its_folder_are_readable_by_their_owner_only() {
        let home = tempfile::tempdir().unwrap();
        let session = Session {
            url: "http://127.0.0.1:7878".into(),
            token: "secret".into(),
            user: "admin".into(),
            role: "admin".into(),
            ca_cert: None,
        };
        let fresh = home.path().join("fresh/trellis/session.json");
        session.save_to(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o600);
        assert_eq!(mode(fresh.parent().unwrap()), 0o700);

        // What an older version left: an open folder and a world-readable file.
        let old = home.path().join("old/session.json");
        std::fs::create_dir_all(old.parent().unwrap()).unwrap();
        std::fs::set_permissions(
            old.parent().unwrap(),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::fs::write(&old, "{}").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        session.save_to(&old).unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(mode(old.parent().unwrap()), 0o700);
        let saved: Session = serde_json::from_slice(&std::fs::read(&old).unwrap()).unwrap();
        assert_eq!(saved.token, "secret");
    }
}
