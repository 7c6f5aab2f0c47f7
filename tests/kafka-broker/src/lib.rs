//! A Kafka-protocol broker (tansu) of a test's own, for tests that put something between the
//! bus's clients and the broker (a TLS front, a link that goes dark): the broker advertises the
//! address in front of it, so every connection a client makes goes through that front.
//! `scripts/with-kafka` installs tansu; tests that start one run where it names a broker.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long tansu may take to listen on a loaded machine.
const START: Duration = Duration::from_secs(20);

/// A tansu broker, killed when dropped.
pub struct Tansu(Child);

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port of 127.0.0.1 free now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// tansu listening on `port` of 127.0.0.1 with its data in `data`, telling clients to connect
/// to `advertised` (`host:port`).
pub fn tansu(data: &Path, port: u16, advertised: &str) -> Tansu {
    tansu_with(data, port, advertised, &[])
}

/// [`tansu`] with more of tansu's broker flags (`--authentication`, say).
pub fn tansu_with(data: &Path, port: u16, advertised: &str, flags: &[&str]) -> Tansu {
    let broker = Command::new("tansu")
        .args(["broker", "--listener-url"])
        .arg(format!("tcp://127.0.0.1:{port}"))
        .arg("--advertised-listener-url")
        .arg(format!("tcp://{advertised}"))
        // tansu reads the SQLite URL's path as relative, so it runs in its data directory.
        .args(["--storage-engine", "sqlite://tansu.db"])
        .args(flags)
        .current_dir(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting tansu (scripts/with-kafka installs it)");
    let started = Instant::now();
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(started.elapsed() < START, "tansu did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Tansu(broker)
}

/// Adds a SCRAM user to the broker listening on `port` (`tansu user create`); tansu keeps it in
/// its data, so a broker started again on that data with `--authentication` knows it.
pub fn add_scram_user(port: u16, name: &str, password: &str, mechanism: &str) {
    let status = Command::new("tansu")
        .args(["user", "create", "--broker"])
        .arg(format!("tcp://127.0.0.1:{port}"))
        .args(["--mechanism", mechanism, name, password])
        .stdout(Stdio::null())
        .status()
        .expect("running tansu user create");
    assert!(status.success(), "tansu user create {name}: {status}");
}
