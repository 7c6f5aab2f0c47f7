//! A JavaScript guest that misbehaves on purpose (`tests/guests/hostile-js`). Each attack is
//! stopped with an error that names the limit or carries the guest's own error, and a JavaScript
//! thermostat beside it keeps working.

use trellis_host_test_support as common;

use std::sync::Arc;

use common::{RecordingLog, host, quick_limits, reading};
use trellis_guest_artifacts::{CLASSROOM_THERMOSTAT_JS, HOSTILE_JS};
use trellis_host::types::Value;
use trellis_host::{CallError, Host, InstanceLimits};

/// The hostile guest's source, to find the line an error names.
const SOURCE: &str = include_str!("../../tests/guests/hostile-js/app.js");

/// Limits a JavaScript instance runs within: StarlingMonkey's heap needs more linear memory
/// than a Rust guest's, and its calls take longer in a debug host.
fn js_limits() -> InstanceLimits {
    InstanceLimits {
        memory_bytes: 64 << 20,
        call_deadline: std::time::Duration::from_millis(500),
        ..quick_limits()
    }
}

/// Runs one attack beside a JavaScript thermostat, and returns the attack's outcome, the hostile
/// instance's log and whether the instance still takes calls.
fn attack(host: &Host, what: &str) -> (Result<(), CallError>, Arc<RecordingLog>, bool) {
    let (outcome, log, mut hostile) =
        common::attack(host, HOSTILE_JS, CLASSROOM_THERMOSTAT_JS, what, js_limits());
    let survives = !hostile.is_stopped()
        && !matches!(
            hostile.on_reading(&reading("attack", 2, Value::Text("throw".into()))),
            Err(CallError::Stopped)
        );
    (outcome, log, survives)
}

#[test]
fn an_infinite_loop_is_stopped_at_the_deadline() {
    let (outcome, _, survives) = attack(&host(), "spin");
    match outcome {
        Err(CallError::DeadlineExceeded { export, deadline }) => {
            assert_eq!(export, "on-reading");
            assert_eq!(deadline, js_limits().call_deadline);
        }
        other => panic!("expected a deadline error, got {other:?}"),
    }
    assert!(
        !survives,
        "an interrupted instance must not be entered again"
    );
}

#[test]
fn unbounded_allocation_is_stopped_at_the_memory_limit() {
    let (outcome, _, survives) = attack(&host(), "hoard");
    match outcome {
        Err(CallError::ResourceLimit { detail, .. }) => {
            assert!(
                detail.contains(&format!("the limit is {} bytes", js_limits().memory_bytes)),
                "{detail}"
            );
        }
        other => panic!("expected a memory limit error, got {other:?}"),
    }
    assert!(!survives);
}

#[test]
fn an_uncaught_exception_is_the_calls_error_with_its_name_message_and_place() {
    let (outcome, _, survives) = attack(&host(), "throw");
    match outcome {
        Err(CallError::Failed { export, message }) => {
            assert_eq!(export, "on-reading");
            assert!(
                message.starts_with("Error: hostile guest throws on purpose"),
                "{message}"
            );
            // Where it was thrown: the attack's function, at its line of the guest's source.
            let line = SOURCE
                .lines()
                .position(|l| l.contains("throw new Error(\"hostile guest throws"))
                .unwrap()
                + 1;
            assert!(
                message.ends_with(&format!("(in throw at app.js:{line})")),
                "{message}"
            );
        }
        other => panic!("expected the guest's error, got {other:?}"),
    }
    // An exception is the app's own error, not a trap: the instance takes further calls.
    assert!(survives);
}

#[test]
fn a_thrown_value_that_is_not_an_error_is_shown_as_it_is() {
    match attack(&host(), "throw-string").0 {
        Err(CallError::Failed { message, .. }) => {
            assert_eq!(message, r#"uncaught "a plain string""#)
        }
        other => panic!("expected the guest's error, got {other:?}"),
    }
}

#[test]
fn runaway_recursion_is_named_as_such() {
    match attack(&host(), "recurse").0 {
        // SpiderMonkey stops it before the engine's stack runs out, as an exception.
        Err(CallError::Failed { message, .. }) => {
            assert!(message.contains("too much recursion"), "{message}")
        }
        other => panic!("expected the recursion to be stopped, got {other:?}"),
    }
}

#[test]
fn an_unknown_attack_is_refused_with_a_clear_error() {
    match attack(&host(), "nonsense").0 {
        Err(CallError::Failed { message, .. }) => assert!(
            message.starts_with(r#"RangeError: unknown attack "nonsense""#),
            "{message}"
        ),
        other => panic!("expected the guest's error, got {other:?}"),
    }
}
