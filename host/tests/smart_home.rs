//! The smart-home example app (JavaScript): a light sensor and a lamp, with on-hours and a
//! threshold, run as a real component against recording backends.

use trellis_host_test_support as common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{RecordingControllers, RecordingLog, host, load, quick_limits};
use trellis_guest_artifacts::SMART_HOME;
use trellis_host::capabilities::{Capabilities, MemoryStateStore, RecentReadings, StateStore};
use trellis_host::types::{InstanceInfo, Reading, Value};
use trellis_host::{AppInstance, CallError, InstanceLimits};

/// 2026-01-01 00:00 UTC, in milliseconds.
const MIDNIGHT: u64 = 1_767_225_600_000;
const HOUR: u64 = 3_600_000;

struct Home {
    instance: AppInstance,
    controllers: Arc<RecordingControllers>,
    readings: Arc<RecentReadings>,
    state: Arc<MemoryStateStore>,
    log: Arc<RecordingLog>,
}

fn limits() -> InstanceLimits {
    InstanceLimits {
        memory_bytes: 64 << 20,
        call_deadline: Duration::from_secs(2),
        ..quick_limits()
    }
}

fn start(config: &[(&str, f64)], state: Arc<MemoryStateStore>) -> Result<Home, CallError> {
    let controllers = Arc::new(RecordingControllers::new(&["lamp"]));
    let readings = Arc::new(RecentReadings::new(BTreeMap::from([(
        "light".to_string(),
        vec![InstanceInfo {
            id: "light-1".into(),
            location: "home/house/living-room".into(),
            labels: vec![],
        }],
    )])));
    let log = Arc::new(RecordingLog::default());
    let caps = Capabilities {
        sensors: readings.clone(),
        controllers: controllers.clone(),
        state: state.clone(),
        log: log.clone(),
        config: common::number_params(config),
        ..Capabilities::default()
    };
    let mut instance = load(&host(), SMART_HOME)
        .instantiate(caps, limits())
        .unwrap();
    instance.init()?;
    Ok(Home {
        instance,
        controllers,
        readings,
        state,
        log,
    })
}

fn light(sequence: u64, timestamp: u64, lux: f64) -> Reading {
    Reading {
        instance_id: "light-1".into(),
        role: "light".into(),
        timestamp,
        sequence,
        value: Value::Number(lux),
    }
}

impl Home {
    /// Delivers a reading as the node does: recorded for `sensors.latest`, then handed over.
    fn read(&mut self, sequence: u64, timestamp: u64, lux: f64) {
        let reading = light(sequence, timestamp, lux);
        self.readings.record(&reading);
        self.instance.on_reading(&reading).unwrap();
    }
}

const EVENINGS: &[(&str, f64)] = &[
    ("threshold", 150.0),
    ("hysteresis", 50.0),
    ("on-from", 17.0),
    ("on-until", 23.0),
];

#[test]
fn the_lamp_follows_darkness_within_the_hours() {
    let mut home = start(EVENINGS, Arc::default()).unwrap();
    let at = |hours: f64| MIDNIGHT + (hours * HOUR as f64) as u64;
    for (n, (hours, lux)) in [
        (12.0, 50.0),  // dark, but before the hours: nothing
        (18.0, 300.0), // in the hours, but bright: nothing
        (18.5, 100.0), // dark: on
        (19.0, 180.0), // above the threshold, within the hysteresis: stays on
        (19.5, 250.0), // bright: off
        (20.0, 120.0), // dark again: on
        (23.5, 120.0), // the hours are over: off
    ]
    .into_iter()
    .enumerate()
    {
        home.read(n as u64, at(hours), lux);
    }
    assert_eq!(
        home.controllers.sent(),
        [
            "lamp:switch:power=on",
            "lamp:switch:power=off",
            "lamp:switch:power=on",
            "lamp:switch:power=off",
        ]
    );
    assert_eq!(
        home.state.get("lamp").unwrap().as_deref(),
        Some(&b"off"[..])
    );
    let lines: Vec<String> = home.log.lines().into_iter().map(|(_, l)| l).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("100 lx at 2026-01-01T18:30:00.000Z: lamp on")),
        "{lines:?}"
    );
}

#[test]
fn hours_may_span_midnight_and_follow_the_utc_offset() {
    let config = [("on-from", 22.0), ("on-until", 6.0), ("utc-offset", 2.0)];
    let mut home = start(&config, Arc::default()).unwrap();
    // 21:00 UTC is 23:00 local: within 22-06.
    home.read(1, MIDNIGHT + 21 * HOUR, 10.0);
    // 04:30 UTC is 06:30 local: past the hours.
    home.read(2, MIDNIGHT + 28 * HOUR + HOUR / 2, 10.0);
    assert_eq!(
        home.controllers.sent(),
        ["lamp:switch:power=on", "lamp:switch:power=off"]
    );
}

/// Hours of the day (UTC) now, with fractions.
fn hour_now() -> f64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;
    (ms / HOUR as f64) % 24.0
}

#[test]
fn the_tick_rechecks_the_schedule_against_the_latest_reading() {
    // An offset that makes it about noon locally, whatever the time the test runs.
    let offset = 12.0 - hour_now();
    let noon = [
        ("on-from", 11.0),
        ("on-until", 13.0),
        ("utc-offset", offset),
    ];
    let state = Arc::new(MemoryStateStore::default());
    let mut home = start(&noon, state.clone()).unwrap();
    home.instance.on_tick().unwrap();
    assert!(home.controllers.sent().is_empty(), "no reading yet");

    // A dark reading recorded (say before the hours) and then the tick, within the hours.
    home.readings.record(&light(1, MIDNIGHT, 20.0));
    home.instance.on_tick().unwrap();
    assert_eq!(home.controllers.sent(), ["lamp:switch:power=on"]);

    // Restarted with hours that ended an hour ago: the tick switches the lamp off.
    let over = [
        ("on-from", 10.0),
        ("on-until", 11.0),
        ("utc-offset", offset),
    ];
    let mut later = start(&over, state).unwrap();
    later.readings.record(&light(2, MIDNIGHT, 20.0));
    later.instance.on_tick().unwrap();
    assert_eq!(later.controllers.sent(), ["lamp:switch:power=off"]);
}

#[test]
fn impossible_hours_and_non_numbers_are_refused_with_the_reason() {
    match start(&[("on-from", 25.0)], Arc::default()).err() {
        Some(CallError::Failed { message, .. }) => assert!(
            message.starts_with("RangeError: on-from (25) must be an hour from 0 to 24"),
            "{message}"
        ),
        other => panic!("expected init to refuse the hours, got {other:?}"),
    }
    let mut home = start(EVENINGS, Arc::default()).unwrap();
    let text = Reading {
        value: Value::Text("dark".into()),
        ..light(1, MIDNIGHT, 0.0)
    };
    match home.instance.on_reading(&text) {
        Err(CallError::Failed { message, .. }) => {
            assert!(message.contains("expected lux as a number"), "{message}")
        }
        other => panic!("expected the reading to be refused, got {other:?}"),
    }
}
