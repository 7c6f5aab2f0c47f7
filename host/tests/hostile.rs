//! Guests that misbehave on purpose. Each is stopped (or refused) with an error that says what
//! happened, and a well-behaved instance beside it keeps working.

use trellis_host_test_support as common;

use std::net::TcpListener;
use std::sync::Arc;

use common::{RecordingLog, host, load, quick_limits, reading, temperature};
use trellis_guest_artifacts::{CLASSROOM_THERMOSTAT, HOSTILE};
use trellis_host::capabilities::Capabilities;
use trellis_host::types::Value;
/// Mirrors `SHOUT_BYTES` in the hostile guest.
const SHOUT_BYTES: usize = 2 << 20;

use trellis_host::{AppInstance, CallError, Host, InstanceLimits};

fn attack(
    host: &Host,
    what: &str,
    limits: InstanceLimits,
) -> (Result<(), CallError>, Arc<RecordingLog>) {
    let (outcome, log, _) = common::attack(host, HOSTILE, CLASSROOM_THERMOSTAT, what, limits);
    (outcome, log)
}

fn assert_stopped_for_good(instance: &mut AppInstance) {
    assert!(instance.is_stopped());
    assert!(matches!(
        instance.on_reading(&temperature(9, 20.0)),
        Err(CallError::Stopped)
    ));
}

#[test]
fn an_infinite_loop_is_stopped_at_the_deadline() {
    let (outcome, _) = attack(&host(), "spin", quick_limits());
    match outcome {
        Err(CallError::DeadlineExceeded { export, deadline }) => {
            assert_eq!(export, "on-reading");
            assert_eq!(deadline, quick_limits().call_deadline);
        }
        other => panic!("expected a deadline error, got {other:?}"),
    }
}

#[test]
fn unbounded_allocation_is_stopped_at_the_memory_limit() {
    let (outcome, _) = attack(&host(), "hoard", quick_limits());
    match outcome {
        Err(CallError::ResourceLimit { detail, .. }) => {
            assert!(
                detail.contains(&format!(
                    "the limit is {} bytes",
                    quick_limits().memory_bytes
                )),
                "{detail}"
            );
        }
        other => panic!("expected a memory limit error, got {other:?}"),
    }
}

#[test]
fn runaway_recursion_in_wasm_locals_exhausts_the_engine_stack() {
    let (outcome, _) = attack(&host(), "recurse-in-registers", quick_limits());
    assert!(
        matches!(outcome, Err(CallError::StackExhausted { .. })),
        "{outcome:?}"
    );
}

#[test]
fn runaway_recursion_through_the_guest_stack_is_named_as_such() {
    // A Rust guest keeps large locals on its own stack in linear memory; overflowing it is an
    // out-of-bounds access, which the host explains from the repeating backtrace.
    match attack(&host(), "recurse", quick_limits()).0 {
        Err(CallError::Trap { message, .. }) => {
            assert!(
                message.contains("runaway recursion in `hostile"),
                "{message}"
            );
            assert!(message.contains("recurse"), "{message}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn a_panic_traps_with_the_panic_message_and_the_instance_stays_stopped() {
    let host = host();
    let (outcome, log) = attack(&host, "panic", quick_limits());
    match outcome {
        Err(CallError::Trap { message, .. }) => {
            assert!(
                message.contains("hostile guest panics on purpose"),
                "{message}"
            );
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    // The panic message also reached the instance's log, through stderr.
    assert!(
        log.lines()
            .iter()
            .any(|(_, line)| line.contains("hostile guest panics on purpose"))
    );

    let mut instance = load(&host, HOSTILE)
        .instantiate(Capabilities::default(), quick_limits())
        .unwrap();
    let _ = instance.on_reading(&reading("attack", 1, Value::Text("panic".into())));
    assert_stopped_for_good(&mut instance);
}

#[test]
fn files_are_out_of_reach() {
    let host = host();
    for what in ["read-file", "list-root"] {
        match attack(&host, what, quick_limits()).0 {
            Err(CallError::Failed { message, .. }) => {
                assert!(message.contains(&format!("{what} refused")), "{message}")
            }
            other => panic!("`{what}` should have been refused, got {other:?}"),
        }
    }
}

#[test]
fn no_environment_variable_is_inherited() {
    // SAFETY: this test binary's other tests do not read the environment.
    unsafe { std::env::set_var("TRELLIS_SECRET", "hunter2") };
    let (outcome, _) = attack(&host(), "env", quick_limits());
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[test]
fn sockets_are_refused_and_nothing_connects() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();

    let (outcome, _) = attack(&host(), &format!("connect {address}"), quick_limits());
    match outcome {
        Err(CallError::Failed { message, .. }) => {
            assert!(message.contains("connect refused"), "{message}")
        }
        other => panic!("the connection should have been refused, got {other:?}"),
    }
    let accepted = listener.accept();
    assert!(
        accepted.is_err(),
        "the guest reached the listener: {accepted:?}"
    );
}

#[test]
fn huge_log_lines_are_cut_and_say_so() {
    // Pushing megabytes through three channels takes a while in a debug build; this test is
    // about cutting lines, not about deadlines.
    let limits = InstanceLimits {
        call_deadline: std::time::Duration::from_secs(10),
        ..quick_limits()
    };
    let (outcome, log) = attack(&host(), "shout", limits.clone());
    assert!(outcome.is_ok(), "{outcome:?}");
    let lines = log.lines();
    // One line through `log.write`, one through stdout, one through stderr.
    assert_eq!(
        lines.len(),
        3,
        "{:?}",
        lines.iter().map(|(l, s)| (l, s.len())).collect::<Vec<_>>()
    );
    for (_, line) in &lines {
        assert!(
            line.len() < limits.max_log_line_bytes + 64,
            "a line of {} bytes got through",
            line.len()
        );
        assert!(
            line.ends_with(&format!(
                "[{} more bytes cut]",
                SHOUT_BYTES - limits.max_log_line_bytes
            )),
            "{}",
            &line[line.len() - 40..]
        );
    }
}

#[test]
fn an_oversized_result_is_refused() {
    let limits = quick_limits();
    match attack(&host(), "bloat", limits.clone()).0 {
        Err(CallError::ResultTooLarge { bytes, limit, .. }) => {
            assert_eq!(bytes, 16 << 20);
            assert_eq!(limit, limits.max_message_bytes);
        }
        other => panic!("expected the result to be refused, got {other:?}"),
    }
}

#[test]
fn an_instance_may_not_ask_for_more_memory_than_the_host_allows() {
    let host = host();
    let limits = InstanceLimits {
        memory_bytes: host.config().max_memory_bytes + 1,
        ..InstanceLimits::default()
    };
    let error = load(&host, HOSTILE)
        .instantiate(Capabilities::default(), limits)
        .err()
        .expect("should be refused");
    assert!(matches!(error, CallError::ResourceLimit { .. }), "{error}");
}
