//! An app that notifies on every reading, run by a real node: its notifications travel from the
//! node to the control plane and arrive as e-mail at a real SMTP server on loopback (aiosmtpd,
//! from the project's Python environment), to each recipient, within the deployment's rate
//! limit, with one summary of what was held back; and its start is told by mail too.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{spawn_node_with, wait_for, wait_running, workspace_file};
use reqwest::Method;
use serde_json::{Value, json};
use trellis_control::notify::rate_limit::NotifyLimit;
use trellis_protocol::api::{Accepted, Deployment, NewReading, ValueKind};

/// Three per three seconds: a token comes back each second.
const LIMIT: NotifyLimit = NotifyLimit {
    count: 3,
    per: Duration::from_secs(3),
};
const READINGS: u64 = 30;
const OPS: &str = "ops@school.example";
const EVE: &str = "eve@school.example";

/// A real SMTP server (aiosmtpd) on a free port of 127.0.0.1, and every message it received.
struct SmtpServer {
    port: u16,
    child: Child,
    /// Closing it ends the server.
    _stdin: ChildStdin,
    received: Arc<Mutex<Vec<Value>>>,
}

impl SmtpServer {
    /// Starts `tests/smtp/receive_mail.py` with the Python environment `scripts/setup-python`
    /// made (`TRELLIS_VENV`, else its default place). `None` when aiosmtpd is not installed,
    /// unless `TRELLIS_REQUIRE_SMTP` is set (as `scripts/test` does): then that fails the test.
    fn start() -> Option<SmtpServer> {
        let venv = std::env::var_os("TRELLIS_VENV")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME").expect("HOME is set");
                std::path::Path::new(&home).join(".cache/trellis/venv")
            });
        let python = venv.join("bin/python");
        let installed = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            let why = format!(
                "no aiosmtpd in {} (scripts/setup-python installs it)",
                venv.display()
            );
            assert!(
                std::env::var_os("TRELLIS_REQUIRE_SMTP").is_none(),
                "TRELLIS_REQUIRE_SMTP is set but there is {why}"
            );
            eprintln!("skipped: {why}");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(&python)
            .arg(workspace_file("tests/smtp/receive_mail.py"))
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the SMTP server");
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        assert!(
            first.starts_with("listening"),
            "the SMTP server said {first:?}"
        );
        let received: Arc<Mutex<Vec<Value>>> = Arc::default();
        let keep = received.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let message = serde_json::from_str(&line).expect("a JSON line per message");
                keep.lock().unwrap().push(message);
            }
        });
        Some(SmtpServer {
            port,
            child,
            _stdin: stdin,
            received,
        })
    }

    fn messages(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }

    /// The subjects of the messages mailed to `to`.
    fn subjects_to(&self, to: &str) -> Vec<String> {
        self.messages()
            .iter()
            .filter(|m| m["to"] == json!([to]))
            .map(|m| m["subject"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many notifications a summary subject says were suppressed.
fn suppressed_in(subject: &str) -> Option<u64> {
    let before = subject.strip_suffix(" notifications suppressed")?;
    before.rsplit(' ').next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_apps_notifications_arrive_by_mail_within_its_rate_limit() {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let node = spawn_node_with(|settings| {
        settings.notify_limit = LIMIT;
        settings.notify_retry = Duration::from_millis(100);
    })
    .await;
    let server = json!({ "host": "127.0.0.1", "port": smtp.port, "security": "none",
        "from": "Trellis <trellis@school.example>" });
    let _: Value = node
        .send(Method::PUT, "/admin/smtp", &node.admin, Some(&server))
        .await;

    node.add_sensor_type("temperature", ValueKind::Number).await;
    let sensor = node.add_device("sensors", "co2-1", "temperature").await;
    let app = node
        .upload_app(
            &workspace_file("tests/guests/notify-loop/trellis.toml"),
            trellis_guest_artifacts::NOTIFY_LOOP,
        )
        .await;
    let deployment = node.deploy("notify-loop", &[("in", &sensor.id)]).await;
    let id = deployment.id.clone();
    // Stopped while its recipients are set, so its start is told to them.
    let _: Deployment = node
        .send(
            Method::POST,
            &format!("/deployments/{id}/stop"),
            &node.admin,
            None,
        )
        .await;
    let recipients = json!({ "emails": [OPS, EVE] });
    let _: Value = node
        .send(
            Method::PUT,
            &format!("/deployments/{id}/recipients"),
            &node.admin,
            Some(&recipients),
        )
        .await;
    let started_at = Instant::now();
    let _: Deployment = node
        .send(
            Method::POST,
            &format!("/deployments/{id}/start"),
            &node.admin,
            None,
        )
        .await;
    wait_running(&node, &id, &app.version).await;

    // Its start arrives by mail, to both, saying where to see it.
    wait_for(
        Duration::from_secs(20),
        "the start told by mail",
        async || {
            let started: Vec<Value> = smtp
                .messages()
                .into_iter()
                .filter(|m| {
                    m["subject"]
                        .as_str()
                        .unwrap_or("")
                        .contains("started on node")
                })
                .collect();
            if started.len() >= 2 {
                Ok(started)
            } else {
                Err(format!("{:?}", smtp.messages()))
            }
        },
    )
    .await
    .iter()
    .for_each(|mail| {
        assert_eq!(mail["from"], "trellis@school.example");
        assert!(mail["subject"].as_str().unwrap().contains(&id), "{mail}");
        let body = mail["body"].as_str().unwrap();
        assert!(
            body.contains(&format!("/api/v1/deployments/{id}")),
            "{body}"
        );
    });

    // The app notifies on every reading.
    let token = sensor.token.clone().expect("the sensor's token");
    for sequence in 1..=READINGS {
        let reading = NewReading {
            value: json!({ "kind": "number", "value": 1500.0 + sequence as f64 }),
            sequence: Some(sequence),
            timestamp_ms: None,
        };
        let _: Accepted = node.post("/device/readings", &token, &reading).await;
    }
    // Every one is accounted for: mailed, or counted in a summary.
    let (alarms, suppressed) = wait_for(
        Duration::from_secs(60),
        "every notification mailed or summed up",
        async || {
            let subjects = smtp.subjects_to(OPS);
            let alarms = subjects.iter().filter(|s| s.contains("CO2 alarm")).count() as u64;
            let suppressed: u64 = subjects.iter().filter_map(|s| suppressed_in(s)).sum();
            if alarms + suppressed == READINGS {
                Ok((alarms, suppressed))
            } else {
                Err(format!(
                    "{alarms} mailed + {suppressed} suppressed: {subjects:?}"
                ))
            }
        },
    )
    .await;
    let elapsed = started_at.elapsed();
    let mailed = smtp.subjects_to(OPS).len() as f64;
    // What the bucket allows over the whole test: full at the start, then one a second.
    let allowed = f64::from(LIMIT.count)
        + elapsed.as_secs_f64() * f64::from(LIMIT.count) / LIMIT.per.as_secs_f64();
    eprintln!(
        "{READINGS} notifications: {alarms} mailed, {suppressed} suppressed; {mailed} messages to \
         {OPS} in {elapsed:?} (the limit allows {allowed:.1})"
    );
    assert!(suppressed > 0, "nothing was held back");
    assert!(
        mailed <= allowed.floor(),
        "{mailed} messages in {elapsed:?}"
    );

    // Each recipient got the same messages, and the API lists each delivery as delivered by
    // e-mail. Waited for: the last messages to the other recipient may still be on their way,
    // and a delivery is recorded only once the server has taken its message.
    let to_ops = wait_for(
        Duration::from_secs(20),
        "the same messages to both recipients, each recorded as delivered",
        async || {
            let mut to_ops = smtp.subjects_to(OPS);
            let mut to_eve = smtp.subjects_to(EVE);
            to_ops.sort();
            to_eve.sort();
            let deliveries: Vec<Value> = node
                .get(
                    &format!("/deployments/{id}/notifications?limit=1000"),
                    &node.admin,
                )
                .await;
            let delivered_to = |to: &str| {
                deliveries
                    .iter()
                    .filter(|d| {
                        d["channel"] == "email" && d["target"] == to && d["status"] == "delivered"
                    })
                    .count()
            };
            let recorded = (delivered_to(OPS), delivered_to(EVE));
            if to_ops == to_eve && recorded == (to_ops.len(), to_eve.len()) {
                Ok(to_ops)
            } else {
                Err(format!(
                    "to {OPS}: {to_ops:?}; to {EVE}: {to_eve:?}; recorded as delivered: \
                     {recorded:?}; deliveries: {deliveries:?}"
                ))
            }
        },
    )
    .await;
    assert!(to_ops.iter().all(|s| s.contains(&id)), "{to_ops:?}");
}
