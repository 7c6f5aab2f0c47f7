//! Guests that sleep inside a call, blocked in the host where epoch interruption never fires:
//! the call's deadline holds all the same, the call traps as a deadline miss, and a fresh
//! instance goes on. A sleep that ends within the deadline is no miss.

use trellis_host_test_support as common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{RecordingLog, host, load, quick_limits, reading};
use trellis_guest_artifacts::{SLEEPY, SLEEPY_CONTRACT, read};
use trellis_host::capabilities::Capabilities;
use trellis_host::types::Value;
use trellis_host::{AppInstance, CallError, Host};

/// What a sleeping guest asks for: far longer than any deadline here.
const LONG_SLEEP_SECONDS: f64 = 30.0;
/// How much later than its deadline a call may end on a loaded machine and still count as
/// stopped at the deadline: a small part of the sleep it asked for.
const SLACK: Duration = Duration::from_secs(5);

fn sleepy(host: &Host) -> (AppInstance, Arc<RecordingLog>) {
    let log = Arc::new(RecordingLog::default());
    let caps = Capabilities {
        log: log.clone(),
        ..Capabilities::default()
    };
    let mut instance = load(host, SLEEPY)
        .instantiate(caps, quick_limits())
        .unwrap();
    instance.init().unwrap();
    (instance, log)
}

/// Hands `value` to a fresh sleepy instance; returns the outcome, how long the call took, the
/// instance and its log.
fn sleep_through(
    host: &Host,
    value: Value,
) -> (
    Result<(), CallError>,
    Duration,
    AppInstance,
    Arc<RecordingLog>,
) {
    let (mut instance, log) = sleepy(host);
    let started = Instant::now();
    let outcome = instance.on_reading(&reading("in", 1, value));
    (outcome, started.elapsed(), instance, log)
}

/// The call was stopped as a deadline miss, soon after its deadline and long before the sleep
/// would have ended.
fn assert_missed_deadline(export: &str, outcome: Result<(), CallError>, took: Duration) {
    let deadline = quick_limits().call_deadline;
    match outcome {
        Err(CallError::DeadlineExceeded {
            export: missed,
            deadline: said,
        }) => {
            assert_eq!(missed, export);
            assert_eq!(said, deadline);
        }
        other => panic!("expected a deadline error, got {other:?} after {took:?}"),
    }
    eprintln!("{export}: stopped after {took:?} (deadline {deadline:?})");
    assert!(
        took >= deadline,
        "stopped after {took:?}, before its deadline"
    );
    assert!(
        took < deadline + SLACK,
        "stopped after {took:?}, against a deadline of {deadline:?}"
    );
}

fn lines(log: &RecordingLog) -> Vec<String> {
    log.lines().into_iter().map(|(_, line)| line).collect()
}

#[test]
fn an_app_sleeping_past_its_deadline_misses_it_and_a_fresh_instance_goes_on() {
    let host = host();
    let (outcome, took, mut instance, log) =
        sleep_through(&host, Value::Number(LONG_SLEEP_SECONDS));
    assert_missed_deadline("on-reading", outcome, took);
    assert_eq!(lines(&log), ["sleeping 30 s"], "it never woke in that call");
    assert!(instance.is_stopped());
    assert!(matches!(
        instance.on_reading(&reading("in", 2, Value::Number(0.0))),
        Err(CallError::Stopped)
    ));

    // A fresh instance of the same component works, and a short sleep is no miss.
    let (outcome, _, instance, log) = sleep_through(&host, Value::Number(0.01));
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(!instance.is_stopped());
    assert_eq!(lines(&log), ["sleeping 0.01 s", "woke after 0.01 s"]);
}

#[test]
fn an_app_polling_a_long_timer_misses_its_deadline() {
    let host = host();
    let (outcome, took, instance, log) = sleep_through(&host, Value::Text("poll 30".into()));
    assert_missed_deadline("on-reading", outcome, took);
    assert_eq!(lines(&log), ["polling for 30 s"]);
    assert!(instance.is_stopped());

    let (outcome, _, _, log) = sleep_through(&host, Value::Text("poll 0.01".into()));
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(
        lines(&log),
        ["polling for 0.01 s", "poll returned 0 after 0.01 s"]
    );
}

#[test]
fn an_app_sleeping_on_its_tick_misses_the_tick_deadline() {
    let host = host();
    let log = Arc::new(RecordingLog::default());
    let caps = Capabilities {
        log: log.clone(),
        config: common::number_params(&[("tick-sleep-seconds", LONG_SLEEP_SECONDS)]),
        ..Capabilities::default()
    };
    let mut instance = load(&host, SLEEPY)
        .instantiate(caps, quick_limits())
        .unwrap();
    instance.init().unwrap();
    let started = Instant::now();
    let outcome = instance.on_tick();
    assert_missed_deadline("on-tick", outcome, started.elapsed());
}

#[test]
fn a_contract_sleeping_past_its_deadline_misses_it() {
    let host = host();
    let contract = host.load_contract(&read(SLEEPY_CONTRACT)).unwrap();
    let log = Arc::new(RecordingLog::default());
    let mut instance = contract.instantiate(log.clone(), quick_limits()).unwrap();
    let started = Instant::now();
    let outcome = instance
        .preprocess(&Value::Number(LONG_SLEEP_SECONDS))
        .map(|_| ());
    assert_missed_deadline("preprocess", outcome, started.elapsed());
    assert!(instance.is_stopped());

    let mut fresh = contract
        .instantiate(Arc::new(RecordingLog::default()), quick_limits())
        .unwrap();
    let tensors = fresh.preprocess(&Value::Number(0.01)).unwrap();
    assert_eq!(tensors.len(), 1);
    assert_eq!(tensors[0].dimensions, [1, 64]);
}
