//! What the live stream costs at a page's size: how long opening one `/live` stream for 500
//! sensors takes (every id is checked against the registry and the caller's rights), and how
//! long a reading posted to the device gateway takes to reach 20 such streams open at once.
//! On SQLite (`cargo bench -p trellis-control --bench live_stream`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use trellis_control::{Application, Settings};

const SENSORS: usize = 500;
const STREAMS: usize = 20;
const READINGS: usize = 200;

async fn post(client: &reqwest::Client, url: &str, token: &str, body: Value) -> Value {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::local(dir.path().to_path_buf());
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    settings.admin_password = Some("bench-password".into());
    let app = Application::build(settings).await.unwrap();
    let api = format!("http://{}/api/v1", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let login = post(
        &client,
        &format!("{api}/auth/login"),
        "",
        json!({ "name": "admin", "password": "bench-password" }),
    )
    .await;
    let admin = login["token"].as_str().unwrap().to_string();
    let kind =
        json!({ "name": "temperature", "unit": "°C", "value": "number", "sampling_hz": 1.0 });
    post(&client, &format!("{api}/sensor-types"), &admin, kind).await;
    let mut sensors = Vec::new();
    for i in 0..SENSORS {
        let body = json!({ "name": format!("room-{i}"), "type": "temperature",
            "location": { "site": "north", "building": "main", "room": format!("room-{i}") } });
        let sensor = post(&client, &format!("{api}/sensors"), &admin, body).await;
        sensors.push((
            sensor["id"].as_str().unwrap().to_string(),
            sensor["token"].as_str().unwrap().to_string(),
        ));
    }
    let ids: Vec<&str> = sensors.iter().map(|(id, _)| id.as_str()).collect();
    let live = format!("{api}/live?sensors={}", ids.join(","));

    let mut opening = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..STREAMS {
        let started = Instant::now();
        let response = client.get(&live).bearer_auth(&admin).send().await.unwrap();
        assert!(response.status().is_success());
        opening.push(started.elapsed());
        streams.push(response);
    }
    opening.sort();
    println!(
        "opening a stream for {SENSORS} sensors: median {:.1} ms, slowest {:.1} ms ({STREAMS} streams)",
        ms(opening[STREAMS / 2]),
        ms(opening[STREAMS - 1])
    );

    // Each stream counts the readings it receives and says when each one arrived.
    let (arrived, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    for mut stream in streams {
        let arrived = arrived.clone();
        tokio::spawn(async move {
            let mut seen = String::new();
            while let Ok(Some(chunk)) = stream.chunk().await {
                seen.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = seen.find("\n\n") {
                    if seen[..end].contains("event: reading") {
                        let _ = arrived.send(Instant::now());
                    }
                    seen.drain(..end + 2);
                }
            }
        });
    }
    let mut latencies = Vec::new();
    let started = Instant::now();
    for n in 0..READINGS {
        let (_, token) = &sensors[n % SENSORS];
        let sent = Instant::now();
        let reading = json!({ "value": { "kind": "number", "value": 21.5 } });
        post(&client, &format!("{api}/device/readings"), token, reading).await;
        for _ in 0..STREAMS {
            let at = tokio::time::timeout(Duration::from_secs(10), arrivals.recv())
                .await
                .expect("every stream gets the reading")
                .unwrap();
            latencies.push(at.saturating_duration_since(sent));
        }
    }
    let total = started.elapsed();
    latencies.sort();
    let at =
        |q: f64| ms(latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]);
    println!(
        "{READINGS} readings to {STREAMS} streams each: post to arrival median {:.2} ms, p95 {:.2} ms; {:.0} events delivered/s",
        at(0.5),
        at(0.95),
        (READINGS * STREAMS) as f64 / total.as_secs_f64()
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
