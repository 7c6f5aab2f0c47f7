//! An app's command waits on its bus (a Kafka broker's acknowledgement) inside the app's call,
//! where epoch interruption cannot reach it. When the broker stops answering, that call still
//! ends at its deadline as a deadline miss, long before the broker's own patience (10 s) runs
//! out. The broker is a tansu of the test's own behind a link the test turns dark.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::dark_link::proxy;
use tokio::sync::watch;
use trellis_bus::{Bus, KafkaBus, controller_topic};
use trellis_host::capabilities::Capabilities;
use trellis_host::types::Value;
use trellis_host::{CallError, InstanceLimits};
use trellis_host_test_support::{RecordingLog, host, load, reading};
use trellis_node::BusControllers;
use trellis_protocol::node::BoundDevice;
use trellis_protocol::record::CommandRecord;
use trellis_test_kafka_broker::{free_port, tansu};

/// An app's default deadline, long enough for a broker's answer on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(1);
/// Well under the broker's patience: a call that waited that out fails the test.
const SLACK: Duration = Duration::from_secs(3);

#[test]
fn a_command_waiting_on_a_broker_that_stopped_answering_ends_its_call_at_the_deadline() {
    if common::kafka_broker().is_none() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let broker_port = free_port();
    let (open, link) = watch::channel(true);
    let through = runtime.block_on(proxy(format!("127.0.0.1:{broker_port}"), link));
    let through = through.trim_start_matches("http://").to_string();
    let _broker = tansu(data.path(), broker_port, &through);

    let bus: Arc<dyn Bus> = Arc::new(KafkaBus::connect(&through).unwrap());
    bus.check().unwrap();
    let display = BoundDevice {
        role: "out".into(),
        id: "con_display".into(),
        location: "test/site/room".into(),
        labels: vec![],
    };
    // Subscribing creates the controller's topic, so the app's commands wait only on delivery.
    let mut controller = bus
        .subscribe(&controller_topic(&display.id), "the-display")
        .unwrap();
    let log = Arc::new(RecordingLog::default());
    let caps = Capabilities {
        log: log.clone(),
        controllers: Arc::new(BusControllers::new(
            bus.clone(),
            "dep_sleepy".into(),
            vec![display],
        )),
        ..Capabilities::default()
    };
    let limits = InstanceLimits {
        call_deadline: DEADLINE,
        ..InstanceLimits::default()
    };
    let host = host();
    let mut app = load(&host, trellis_guest_artifacts::SLEEPY)
        .instantiate(caps, limits)
        .unwrap();
    app.init().unwrap();

    // While the broker answers, the command reaches the controller's topic.
    app.on_reading(&reading("in", 1, Value::Text("send out 1".into())))
        .unwrap();
    let delivered = controller
        .next(Duration::from_secs(20))
        .expect("the command on the controller's topic");
    let record: CommandRecord = serde_json::from_slice(&delivered.payload).unwrap();
    assert_eq!(
        (record.command.name.as_str(), record.deployment.as_str()),
        ("show", "dep_sleepy")
    );

    // Once it stops answering, the next command's call ends at its deadline.
    open.send(false).unwrap();
    let started = Instant::now();
    let outcome = app.on_reading(&reading("in", 2, Value::Text("send out 2".into())));
    let took = started.elapsed();
    eprintln!("the call ended {took:?} after it began (deadline {DEADLINE:?})");
    assert!(
        matches!(outcome, Err(CallError::DeadlineExceeded { .. })),
        "{outcome:?} after {took:?}"
    );
    assert!(
        took >= DEADLINE && took < DEADLINE + SLACK,
        "the call ended after {took:?}, against a deadline of {DEADLINE:?}"
    );
    let lines: Vec<String> = log.lines().into_iter().map(|(_, line)| line).collect();
    assert_eq!(
        lines,
        [
            "sending show 1 to out",
            "out took it: true",
            "sending show 2 to out"
        ],
        "the second command's answer never reached the app"
    );
}
