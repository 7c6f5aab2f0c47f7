//! How many log lines per second the log service stores: nodes' batches of 1000 lines posted
//! over HTTP to a real control plane (each stored in one transaction and indexed for text
//! search), from 1 and from 4 nodes at once. On SQLite; also on PostgreSQL when
//! `TRELLIS_TEST_POSTGRES` names a server (`scripts/with-postgres cargo bench -p trellis-control
//! --bench log_ingest`).

use std::time::Instant;

use trellis_control::{Application, Settings};
use trellis_protocol::logs::{LogBatch, LogLevel, LogSource, ShippedLine};

const BATCH: usize = 1000;
const BATCHES_PER_NODE: usize = 50;

fn batch(node: usize, n: usize) -> LogBatch {
    let lines = (0..BATCH)
        .map(|i| ShippedLine {
            at_ms: chrono::Utc::now().timestamp_millis(),
            level: if i % 10 == 0 { LogLevel::Warn } else { LogLevel::Info },
            source: LogSource::Guest,
            event: None,
            deployment: Some(format!("dep_bench{node}")),
            instance: Some(format!("dep_bench{node}.1")),
            app_version: Some("0.1.0".into()),
            text: format!(
                "node {node} batch {n} line {i}: 21.{i} °C, 48 % humidity, 12 people: fan at speed 2"
            ),
        })
        .collect();
    LogBatch { lines, dropped: 0 }
}

async fn measure(name: &str, database_url: String) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::local(dir.path().to_path_buf());
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.database_url = database_url;
    settings.admin_password = Some("bench-password".into());
    let app = Application::build(settings).await.unwrap();
    let url = format!("http://{}/api/v1/node/logs", app.local_addr());
    let mut tokens = Vec::new();
    for node in 0..4 {
        tokens.push(
            app.issue_node_token(&format!("bench-{node}"))
                .await
                .unwrap(),
        );
    }
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    for nodes in [1, 4] {
        let batches: Vec<Vec<String>> = (0..nodes)
            .map(|node| {
                (0..BATCHES_PER_NODE)
                    .map(|n| serde_json::to_string(&batch(node, n)).unwrap())
                    .collect()
            })
            .collect();
        let started = Instant::now();
        let mut senders = Vec::new();
        for (node, bodies) in batches.into_iter().enumerate() {
            let (client, url, token) = (client.clone(), url.clone(), tokens[node].clone());
            senders.push(tokio::spawn(async move {
                for body in bodies {
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                }
            }));
        }
        for sender in senders {
            sender.await.unwrap();
        }
        let lines = (nodes * BATCHES_PER_NODE * BATCH) as f64;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{name}: {nodes} node(s), {} lines in {seconds:.2} s: {:.0} lines/s",
            lines as u64,
            lines / seconds
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    measure(
        "SQLite",
        format!("sqlite://{}", dir.path().join("bench.db").display()),
    )
    .await;
    if let Ok(server) = std::env::var("TRELLIS_TEST_POSTGRES") {
        sqlx::any::install_default_drivers();
        let name = format!("trellis_bench_{}", std::process::id());
        let admin = sqlx::AnyPool::connect(&server).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        let base = server.rsplit_once('/').unwrap().0;
        measure("PostgreSQL", format!("{base}/{name}")).await;
    }
}
