//! A Python guest that misbehaves on purpose. CPython runs inside the component, so each attack
//! meets the same limits as a Rust guest's: stopped (or refused) with an error that names the
//! limit, while a thermostat beside it keeps working.

use trellis_host_test_support as common;

use common::{host, load, reading};
use trellis_guest_artifacts::{CLASSROOM_THERMOSTAT_PYTHON, HOSTILE_PYTHON};
use trellis_host::capabilities::Capabilities;
use trellis_host::types::Value;
use trellis_host::{CallError, InstanceLimits};

/// Runs one attack beside a Python thermostat.
fn attack(what: &str) -> Result<(), CallError> {
    common::attack(
        &host(),
        HOSTILE_PYTHON,
        CLASSROOM_THERMOSTAT_PYTHON,
        what,
        limits(),
    )
    .0
}

/// `quick_limits`, with room for CPython's own heap, and a deadline CPython's calls keep in a
/// debug host on a busy machine (the neighbour's included), short enough for a quick spin test.
fn limits() -> InstanceLimits {
    InstanceLimits {
        memory_bytes: 64 << 20,
        call_deadline: std::time::Duration::from_secs(1),
        ..common::quick_limits()
    }
}

#[test]
fn an_endless_loop_is_stopped_at_the_deadline() {
    match attack("spin") {
        Err(CallError::DeadlineExceeded { export, deadline }) => {
            assert_eq!(export, "on-reading");
            assert_eq!(deadline, limits().call_deadline);
        }
        other => panic!("expected a deadline error, got {other:?}"),
    }
}

#[test]
fn unbounded_allocation_is_stopped_at_the_memory_limit() {
    match attack("hoard") {
        // CPython turns the refused allocation into a MemoryError that leaves `on_reading`; the
        // host still reports the limit, and what the guest said.
        Err(CallError::ResourceLimit { detail, .. }) => {
            assert!(
                detail.contains(&format!("the limit is {} bytes", limits().memory_bytes)),
                "{detail}"
            );
            assert!(detail.contains("MemoryError"), "{detail}");
        }
        other => panic!("expected a memory limit error, got {other:?}"),
    }
}

#[test]
fn an_uncaught_exception_is_the_calls_error_with_its_line_and_the_instance_goes_on() {
    let host = host();
    let caps = Capabilities::default();
    let mut instance = load(&host, HOSTILE_PYTHON)
        .instantiate(caps, limits())
        .unwrap();
    instance.init().unwrap();
    let raised = reading("attack", 1, Value::Text("raise".into()));
    match instance.on_reading(&raised) {
        Err(CallError::Failed { export, message }) => {
            assert_eq!(export, "on-reading");
            assert!(
                message.contains("RuntimeError: hostile guest raises on purpose"),
                "{message}"
            );
            assert!(message.contains("app.py:"), "{message}");
        }
        other => panic!("expected the exception as the call's error, got {other:?}"),
    }
    // The same instance takes the next call.
    let unknown = reading("attack", 2, Value::Text("hello".into()));
    match instance.on_reading(&unknown) {
        Err(CallError::Failed { message, .. }) => {
            assert!(message.contains("unknown attack 'hello'"), "{message}")
        }
        other => panic!("expected the second call to run, got {other:?}"),
    }
}

#[test]
fn runaway_recursion_is_stopped_at_pythons_recursion_limit() {
    match attack("recurse") {
        Err(CallError::Failed { message, .. }) => {
            assert!(
                message.contains("RecursionError: maximum recursion depth exceeded"),
                "{message}"
            );
        }
        other => panic!("expected a RecursionError, got {other:?}"),
    }
}

#[test]
fn an_exit_traps_and_the_instance_stays_stopped() {
    let host = host();
    let mut instance = load(&host, HOSTILE_PYTHON)
        .instantiate(Capabilities::default(), limits())
        .unwrap();
    instance.init().unwrap();
    let exit = reading("attack", 1, Value::Text("exit".into()));
    match instance.on_reading(&exit) {
        Err(CallError::Trap { message, .. }) => {
            assert!(message.contains("exit status 1"), "{message}")
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert!(instance.is_stopped());
    assert!(matches!(
        instance.on_reading(&exit),
        Err(CallError::Stopped)
    ));
}

#[test]
fn files_are_out_of_reach() {
    match attack("read-file") {
        Err(CallError::Failed { message, .. }) => {
            assert!(message.contains("read-file refused"), "{message}")
        }
        other => panic!("reading a file should have been refused, got {other:?}"),
    }
}
