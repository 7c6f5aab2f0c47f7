//! How fast the fleet-size reads answer on SQLite with 10,000 registered sensors and 90 days of
//! readings (one a minute) for one of them: a page of 50 sensors with the total, the location
//! tree, and the 90-day history downsampled to 1000 points, each over HTTP from a real control
//! plane. Prints the set-up time and each read's first and median time of several.
//! `cargo bench -p trellis-control --bench fleet`

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use trellis_control::{Application, Settings, seed};

const SENSORS: usize = 10_000;
const DAYS: usize = 90;
const RUNS: usize = 9;

async fn timed_get(client: &reqwest::Client, url: &str, token: &str) -> (Duration, Value, u64) {
    let started = Instant::now();
    let response = client.get(url).bearer_auth(token).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let total = response
        .headers()
        .get("x-total-count")
        .map_or(0, |v| v.to_str().unwrap().parse().unwrap());
    let body: Value = response.json().await.unwrap();
    (started.elapsed(), body, total)
}

async fn measure(
    client: &reqwest::Client,
    name: &str,
    url: &str,
    token: &str,
    describe: impl Fn(&Value, u64) -> String,
) {
    let mut times = Vec::new();
    let mut said = String::new();
    for _ in 0..RUNS {
        let (took, body, total) = timed_get(client, url, token).await;
        said = describe(&body, total);
        times.push(took);
    }
    let first = times[0];
    times.sort();
    println!(
        "{name}: first {:.1} ms, median {:.1} ms of {RUNS} ({said})",
        first.as_secs_f64() * 1e3,
        times[RUNS / 2].as_secs_f64() * 1e3
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::local(dir.path().to_path_buf());
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.admin_password = Some("bench-password".into());
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://{}/api/v1", app.local_addr());
    let db = app.database();
    let recorder = app.readings();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/auth/login"))
        .json(&json!({ "name": "admin", "password": "bench-password" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    let answer = client
        .post(format!("{base}/sensor-types"))
        .bearer_auth(&token)
        .json(&json!({ "name": "temperature", "unit": "°C", "value": "number" }))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());

    let started = Instant::now();
    let ids = seed::sensors(&db, "fleet", "temperature", SENSORS)
        .await
        .unwrap();
    println!(
        "set-up: {SENSORS} sensors registered in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let readings = DAYS * 24 * 60;
    let every = 60_000;
    let since = chrono::Utc::now().timestamp_millis() - readings as i64 * every;
    let started = Instant::now();
    seed::readings(&db, &ids[0], since, every, readings, |i| {
        20.0 + (i as f64 / 240.0).sin() * 3.0
    })
    .await
    .unwrap();
    println!(
        "set-up: {readings} readings (90 days, one a minute) stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // What the gateway's writer keeps up with: readings of 100 sensors handed over as fast as
    // they come, stored in batches.
    let handed = 100_000;
    let started = Instant::now();
    for i in 0..handed {
        let value = trellis_protocol::Value::Number(i as f64);
        recorder
            .record(&ids[1 + i % 100], since + i as i64, &value)
            .await;
    }
    recorder.flush().await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "readings store: {handed} readings handed over and stored in {seconds:.2} s: {:.0} readings/s",
        handed as f64 / seconds
    );

    measure(
        &client,
        "page of 50 of 10,000 sensors with total",
        &format!("{base}/sensors?limit=50&offset=5000"),
        &token,
        |body, total| format!("{} rows of {total}", body.as_array().unwrap().len()),
    )
    .await;
    measure(
        &client,
        "page of 50 searched (q=site-3) with total",
        &format!("{base}/sensors?q=site-3&limit=50"),
        &token,
        |body, total| format!("{} rows of {total}", body.as_array().unwrap().len()),
    )
    .await;
    measure(
        &client,
        "location tree",
        &format!("{base}/locations"),
        &token,
        |body, _| format!("{} sites", body["sites"].as_array().unwrap().len()),
    )
    .await;
    measure(
        &client,
        "90-day history downsampled to 1000 points",
        &format!("{base}/sensors/{}/readings?since=90d&points=1000", ids[0]),
        &token,
        |body, _| {
            format!(
                "{} buckets of {} readings",
                body["buckets"].as_array().unwrap().len(),
                body["total"]
            )
        },
    )
    .await;
    measure(
        &client,
        "the sensor with 90 days of readings (count and last value)",
        &format!("{base}/sensors/{}", ids[0]),
        &token,
        |body, _| format!("{} readings", body["readings"]),
    )
    .await;
}
