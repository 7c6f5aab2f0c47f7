//! The portal at fleet size, in a real browser: 10,000 registered sensors and 90 days of one
//! sensor's readings. The instances page holds one page of rows and says the total, its live
//! stream asks only for the rows on screen, and the 90-day chart receives no more points than
//! it is pixels wide. The load times are printed as figures, not asserted.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::browser::{self, Browser};
use common::{ADMIN_PASSWORD, one_at_a_time, running_platform, wait_for};
use serde_json::{Value, json};

const SENSORS: usize = 10_000;
const DAY_MS: i64 = 24 * 3600 * 1000;
/// One reading every 15 minutes for 90 days.
const READING_EVERY_MS: i64 = 15 * 60 * 1000;
const WAIT: Duration = Duration::from_secs(30);

/// Runs `work(i)` for `0..count` on a few threads.
fn in_parallel(count: usize, work: impl Fn(usize) + Sync) {
    const THREADS: usize = 4;
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let work = &work;
            scope.spawn(move || {
                for i in (thread..count).step_by(THREADS) {
                    work(i);
                }
            });
        }
    });
}

#[test]
fn ten_thousand_sensors_and_ninety_days_of_readings() {
    let _one = one_at_a_time();
    if !browser::installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let (_plane, url, admin) = running_platform(data.path(), 1);

    // Set-up through the API: a type, 10,000 sensors over 10 sites, and 90 days of one sensor.
    let started = Instant::now();
    admin.post(
        "/sensor-types",
        json!({ "name": "temperature", "unit": "°C", "value": "number" }),
    );
    in_parallel(SENSORS, |i| {
        admin.post(
            "/sensors",
            json!({
                "name": format!("t-{i:05}"),
                "type": "temperature",
                "location": {
                    "site": format!("site-{}", i / 1000),
                    "building": format!("building-{}", i / 100 % 10),
                    "room": format!("room-{}", i % 100),
                },
            }),
        );
    });
    let probe = admin.post(
        "/sensors",
        json!({ "name": "probe", "type": "temperature",
                "location": { "site": "site-0", "building": "building-0", "room": "room-0" } }),
    );
    let probe_id = probe["id"].as_str().unwrap().to_string();
    let probe_token = probe["token"].as_str().unwrap().to_string();
    let registered = started.elapsed();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let first = now - 90 * DAY_MS + READING_EVERY_MS;
    let readings = ((now - first) / READING_EVERY_MS) as usize;
    let device = reqwest::blocking::Client::new();
    in_parallel(readings, |i| {
        let at = first + i as i64 * READING_EVERY_MS;
        let answer = device
            .post(format!("{url}/api/v1/device/readings"))
            .bearer_auth(&probe_token)
            .json(&json!({
                "value": { "kind": "number", "value": 20.0 + (i as f64 / 40.0).sin() * 5.0 },
                "timestamp_ms": at,
            }))
            .send()
            .unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
    });
    eprintln!(
        "figures: set-up: {} sensors registered in {registered:?}; {readings} readings over 90 days in {:?}",
        SENSORS + 1,
        started.elapsed() - registered
    );
    // The store writes readings in batches; wait until it has them all.
    wait_for(WAIT, "the readings stored", || {
        let history = admin.get(&format!("/sensors/{probe_id}/readings?since=91d&points=10"));
        (history["total"].as_u64() == Some(readings as u64)).then_some(())
    });

    let browser = Browser::start("ten_thousand_sensors_and_ninety_days_of_readings", &url).unwrap();
    browser.sign_in("admin", ADMIN_PASSWORD);

    // The instances page: one page of rows, and the total.
    let opened = Instant::now();
    browser.visit("/instances");
    browser.wait_for("#sensor-list tr[data-live-sensor]", WAIT);
    let instances_page = opened.elapsed();
    let rows = browser.count("#sensor-list tr[data-live-sensor]");
    assert_eq!(rows, 50, "one page of rows");
    let range = browser.text_of("#sensor-list [data-range]");
    assert!(
        range.contains(&(SENSORS + 1).to_string()),
        "the total is not shown: {range}"
    );
    // Its live stream asks for exactly the sensors on screen.
    browser.wait_until("document.documentElement.dataset.liveUrl", WAIT);
    let live_url = browser.js("return document.documentElement.dataset.liveUrl", vec![]);
    let live_url = reqwest::Url::parse(live_url.as_str().unwrap()).unwrap();
    let asked: BTreeSet<String> = live_url
        .query_pairs()
        .filter(|(key, _)| key == "sensors")
        .flat_map(|(_, ids)| ids.split(',').map(str::to_string).collect::<Vec<_>>())
        .collect();
    let on_screen: BTreeSet<String> = browser
        .js(
            "return [...document.querySelectorAll('[data-live-sensor]')].map(e => e.dataset.liveSensor)",
            vec![],
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    assert_eq!(asked, on_screen, "live updates for rows not on screen");
    assert!(asked.len() <= 50 + 1, "{} sensors streamed", asked.len());

    // The next page, and a search, answered on the server.
    let opened = Instant::now();
    browser.click("Next");
    browser.wait_for_text("51–100", WAIT);
    let next_page = opened.elapsed();
    let opened = Instant::now();
    browser.visit("/instances?q=t-09999");
    browser.wait_for_text("t-09999", WAIT);
    let search = opened.elapsed();
    assert_eq!(browser.count("#sensor-list tr[data-live-sensor]"), 1);

    // The probe's 90-day chart: no more points than the chart is wide, drawn from all readings.
    let opened = Instant::now();
    browser.visit(&format!("/instances/sensor/{probe_id}?range=90d"));
    browser.wait_for(".chart[data-sensor][data-ready]", WAIT);
    let chart_page = opened.elapsed();
    let chart: Value = browser.js(
        "const c = document.querySelector('.chart[data-sensor]');
         const asked = performance.getEntriesByType('resource').map(e => e.name)
           .filter(n => n.includes('/readings?'));
         return { width: c.clientWidth, points: Number(c.dataset.points),
                  total: Number(c.dataset.total), asked };",
        vec![],
    );
    let width = chart["width"].as_u64().unwrap();
    let points = chart["points"].as_u64().unwrap();
    assert!(points > 0, "an empty chart: {chart}");
    assert!(
        points <= width,
        "{points} points for {width} pixels: {chart}"
    );
    assert_eq!(chart["total"].as_u64(), Some(readings as u64), "{chart}");
    let asked = chart["asked"].as_array().unwrap();
    assert_eq!(asked.len(), 1, "{chart}");
    let asked_points: u64 = reqwest::Url::parse(asked[0].as_str().unwrap())
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == "points")
        .map(|(_, n)| n.parse().unwrap())
        .unwrap();
    assert!(asked_points <= width, "{chart}");

    eprintln!(
        "figures: with {} sensors and {readings} readings of one: instances page {instances_page:?}, \
         next page {next_page:?}, search {search:?}, 90-day chart page {chart_page:?} \
         ({points} points for {width} px)",
        SENSORS + 1
    );
}
