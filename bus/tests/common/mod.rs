//! What the Kafka security tests check of a bus: that it carries messages through the broker,
//! or that it reaches no broker at all.

use std::time::Duration;

use trellis_bus::{Bus, KafkaBus};

/// Longer than a broker round trip on a busy two-core machine.
const WAIT: Duration = Duration::from_secs(20);

/// `bus` answers, and three messages it publishes on a topic of its own (named after `what`)
/// come back to a reader of that topic, whole and in order.
pub fn assert_carries_messages(bus: &KafkaBus, what: &str) {
    bus.check().unwrap();
    let topic = format!("trellis.test.{what}.{}", std::process::id());
    let mut reader = bus.subscribe(&topic, &format!("{what}-readers")).unwrap();
    let sent: Vec<Vec<u8>> = (0..3u8).map(|i| [&[i], what.as_bytes()].concat()).collect();
    for payload in &sent {
        bus.publish(&topic, payload.clone()).unwrap();
    }
    let received: Vec<Vec<u8>> = (0..sent.len())
        .map(|i| {
            reader
                .next(WAIT)
                .unwrap_or_else(|| panic!("message {i} did not arrive ({what})"))
                .payload
        })
        .collect();
    assert_eq!(received, sent);
}

/// `bus` is refused by the brokers at `brokers`, so none answers it.
pub fn assert_reaches_no_broker(bus: &KafkaBus, brokers: &str, why: &str) {
    let error = bus.check().expect_err(why).to_string();
    assert!(
        error.contains(&format!("no Kafka broker answers at {brokers}")),
        "{why}: {error}"
    );
}
