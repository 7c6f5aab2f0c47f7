//! HTTPS end to end: `trellis up --tls self-signed` or with an operator's certificate, the CLI
//! and a node trusting its CA, and a client without it refused with an error that names the
//! certificate problem.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};

use common::*;

/// `trellis ARGS` with its login kept in `home`.
fn trellis(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(args)
        .env("TRELLIS_HOME", home)
        .env("TRELLIS_PASSWORD", ADMIN_PASSWORD)
        .env_remove("TRELLIS_CA_CERT")
        .output()
        .expect("running trellis")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `trellis up --tls self-signed` on a free port with `nodes` local nodes: the process and its
/// `https://` URL.
fn tls_control_plane(data: &Path, nodes: u32) -> (Process, String) {
    let listen = format!("127.0.0.1:{}", free_port());
    let (plane, url) = up(
        &[
            "--tls",
            "self-signed",
            "--listen",
            &listen,
            "--nodes",
            &nodes.to_string(),
            "--heartbeat-ms",
            &HEARTBEAT_MS.to_string(),
            "--missed-heartbeats",
            &MISSED_HEARTBEATS.to_string(),
            "--tick-ms",
            "200",
        ],
        data,
    );
    assert_eq!(url, format!("https://{listen}"), "trellis up serves HTTPS");
    (plane, url)
}

/// Logs in as the admin with `trellis --ca-cert CA login`, once the control plane answers.
fn login_trusting(home: &Path, url: &str, ca: &Path) {
    let ca = ca.to_str().unwrap();
    wait_for(Duration::from_secs(30), "a login over HTTPS", || {
        let out = trellis(
            home,
            &["--ca-cert", ca, "login", "--url", url, "--user", "admin"],
        );
        out.status.success().then_some(())
    });
}

/// What `trellis login` to `url` says when it fails, from a CLI whose login is kept in `home`.
fn refused_login(home: &Path, url: &str) -> String {
    let refused = trellis(home, &["login", "--url", url, "--user", "admin"]);
    assert!(!refused.status.success(), "logged in to {url}");
    text(&refused.stderr)
}

#[test]
fn the_cli_speaks_https_with_the_self_signed_ca_and_is_refused_without_it() {
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (mut plane, url) = tls_control_plane(data.path(), 0);
    let ca = data.path().join("tls/ca.pem");
    login_trusting(home.path(), &url, &ca);

    // Later commands trust the CA the login was given, without the flag.
    let nodes = trellis(home.path(), &["--json", "node", "list"]);
    assert!(nodes.status.success(), "{}", text(&nodes.stderr));
    let nodes: Value = serde_json::from_slice(&nodes.stdout).unwrap();
    assert!(nodes.is_array(), "{nodes}");

    // A client without the CA: refused, and told why and what to do.
    let stranger = tempfile::tempdir().unwrap();
    let error = refused_login(stranger.path(), &url);
    assert!(error.contains("does not trust"), "{error}");
    assert!(error.contains("UnknownIssuer"), "{error}");
    assert!(error.contains("--ca-cert"), "{error}");
    // Plain HTTP gets no answer from the HTTPS port either.
    let plain = trellis(
        stranger.path(),
        &[
            "login",
            "--url",
            &url.replace("https://", "http://"),
            "--user",
            "admin",
        ],
    );
    assert!(!plain.status.success());

    // A restart keeps the CA, so the CLI (and nodes) given it go on trusting the control plane.
    let first_ca = std::fs::read(&ca).unwrap();
    plane.kill();
    let port = url.rsplit(':').next().unwrap();
    let (_plane, again) = up(
        &[
            "--tls",
            "self-signed",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--nodes",
            "0",
        ],
        data.path(),
    );
    assert_eq!(again, url);
    assert_eq!(std::fs::read(&ca).unwrap(), first_ca, "the CA is reused");
    let status = wait_for(
        Duration::from_secs(30),
        "the restarted control plane",
        || {
            let out = trellis(home.path(), &["--json", "node", "list"]);
            out.status.success().then_some(out)
        },
    );
    assert!(status.status.success());
}

#[test]
fn a_node_joining_over_https_with_the_ca_from_node_join_runs_an_app() {
    let _serial = one_at_a_time();
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (_plane, url) = tls_control_plane(data.path(), 0);
    let ca = data.path().join("tls/ca.pem");
    trust_ca(&ca);
    let (_admin, _configurer, user) = platform(&url);
    login_trusting(home.path(), &url, &ca);

    let joined = trellis(home.path(), &["node", "join", "edge"]);
    assert!(joined.status.success(), "{}", text(&joined.stderr));
    let join = text(&joined.stdout);
    // What the VM is told to save as its CA certificate is the control plane's CA.
    let heredoc = join
        .split_once("cat > /etc/trellis-ca.pem <<'EOF'\n")
        .and_then(|(_, rest)| rest.split_once("\nEOF"))
        .map(|(pem, _)| pem)
        .unwrap_or_else(|| panic!("no CA certificate in: {join}"));
    assert_eq!(
        heredoc.trim(),
        std::fs::read_to_string(&ca).unwrap().trim(),
        "{join}"
    );
    // The node's settings file, which the command and the unit both read, names it.
    assert!(
        join.contains("\nTRELLIS_CA_CERT=/etc/trellis-ca.pem\n"),
        "{join}"
    );
    let token = join
        .split_once("TRELLIS_NODE_TOKEN=")
        .map(|(_, rest)| rest.split_whitespace().next().unwrap().to_string())
        .unwrap_or_else(|| panic!("no node token in: {join}"));

    // The node, trusting the CA as saved from the join output, takes and runs an app.
    let node_data = tempfile::tempdir().unwrap();
    let node_ca = node_data.path().join("ca.pem");
    std::fs::write(&node_ca, heredoc).unwrap();
    let _node = node_with(
        &url,
        &token,
        &node_data.path().join("node"),
        &["--ca-cert", node_ca.to_str().unwrap()],
    );
    let deployment = deploy_thermostat(&user, json!({ "kind": "now" }));
    let running = wait_for(Duration::from_secs(120), "the app running on edge", || {
        user.deployments()
            .into_iter()
            .find(|d| d["id"] == deployment && d["state"] == "running")
    });
    assert_eq!(running["node"], "edge", "{running}");
}

/// An operator's private CA (PEM) and a certificate for 127.0.0.1 it signed, with its key:
/// what `--tls-cert` and `--tls-key` are given where a company runs its own CA.
fn operators_certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "Example Operator CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "trellis.example");
    let server = server.signed_by(&key, &issuer).unwrap();
    (ca_pem, server.pem(), key.serialize_pem())
}

#[test]
fn a_certificate_given_with_tls_cert_and_tls_key_is_served_and_trusted_through_its_ca() {
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (ca, certificate, key) = operators_certificates();
    let files = tempfile::tempdir().unwrap();
    let path = |name: &str, pem: &str| {
        let path = files.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path.to_str().unwrap().to_string()
    };
    let (ca, certificate, key) = (
        path("ca.pem", &ca),
        path("server.pem", &certificate),
        path("server.key", &key),
    );
    let listen = format!("127.0.0.1:{}", free_port());
    let (_plane, url) = up(
        &[
            "--tls-cert",
            &certificate,
            "--tls-key",
            &key,
            "--listen",
            &listen,
            "--nodes",
            "0",
        ],
        data.path(),
    );
    assert_eq!(url, format!("https://{listen}"), "trellis up serves HTTPS");
    assert!(
        !data.path().join("tls/ca.pem").exists(),
        "no CA of its own is made beside the operator's"
    );

    login_trusting(home.path(), &url, Path::new(&ca));
    let nodes = trellis(home.path(), &["--json", "node", "list"]);
    assert!(nodes.status.success(), "{}", text(&nodes.stderr));

    let stranger = tempfile::tempdir().unwrap();
    let error = refused_login(stranger.path(), &url);
    assert!(error.contains("UnknownIssuer"), "{error}");
}
