//! What every bus backend promises, checked on each: the in-process bus always, and Kafka on the
//! broker `TRELLIS_TEST_KAFKA` names (`scripts/with-kafka` starts one; with
//! `TRELLIS_REQUIRE_KAFKA` set, a missing broker fails the run instead of skipping).

use std::sync::Arc;
use std::time::Duration;

use trellis_bus::{Bus, EmbeddedBus, KafkaBus};

/// Longer than a broker round trip on a busy two-core machine.
const WAIT: Duration = Duration::from_secs(10);

fn backends() -> Vec<(&'static str, Arc<dyn Bus>)> {
    let mut backends: Vec<(&'static str, Arc<dyn Bus>)> =
        vec![("embedded", Arc::new(EmbeddedBus::new(100)))];
    match std::env::var("TRELLIS_TEST_KAFKA") {
        Ok(brokers) => backends.push(("kafka", Arc::new(KafkaBus::connect(&brokers).unwrap()))),
        Err(_) if std::env::var_os("TRELLIS_REQUIRE_KAFKA").is_some() => {
            panic!("TRELLIS_REQUIRE_KAFKA is set but TRELLIS_TEST_KAFKA is not")
        }
        Err(_) => eprintln!("no TRELLIS_TEST_KAFKA: checking the embedded bus only"),
    }
    backends
}

/// A topic no other test or run has used.
fn fresh(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("trellis.test.{name}.{}.{nanos}", std::process::id())
}

fn payloads(subscription: &mut dyn trellis_bus::Subscription, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            subscription
                .next(WAIT)
                .unwrap_or_else(|| panic!("message {i} of {count} did not arrive"))
                .payload
        })
        .collect()
}

#[test]
fn every_group_gets_every_message_in_order() {
    for (backend, bus) in backends() {
        let topic = fresh("groups");
        let mut first = bus.subscribe(&topic, &fresh("a")).unwrap();
        let mut second = bus.subscribe(&topic, &fresh("b")).unwrap();
        let sent: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i, b'x', 255 - i]).collect();
        for payload in &sent {
            bus.publish(&topic, payload.clone()).unwrap();
        }
        assert_eq!(payloads(first.as_mut(), 5), sent, "{backend}: first group");
        assert_eq!(
            payloads(second.as_mut(), 5),
            sent,
            "{backend}: second group"
        );
    }
}

#[test]
fn a_new_group_starts_at_the_end() {
    for (backend, bus) in backends() {
        let topic = fresh("end");
        bus.publish(&topic, b"before".to_vec()).unwrap();
        let mut late = bus.subscribe(&topic, &fresh("late")).unwrap();
        bus.publish(&topic, b"after".to_vec()).unwrap();
        assert_eq!(payloads(late.as_mut(), 1), [b"after".to_vec()], "{backend}");
    }
}

#[test]
fn a_group_resumes_after_its_last_commit_and_redelivers_what_it_did_not_commit() {
    for (backend, bus) in backends() {
        let (topic, group) = (fresh("resume"), fresh("g"));
        let mut reader = bus.subscribe(&topic, &group).unwrap();
        for i in 0..4u8 {
            bus.publish(&topic, vec![i]).unwrap();
        }
        // Handles two, reads a third without committing it, then stops.
        let first = reader.next(WAIT).unwrap();
        let second = reader.next(WAIT).unwrap();
        reader.commit(&first);
        reader.commit(&second);
        assert_eq!(reader.next(WAIT).unwrap().payload, [2]);
        drop(reader);

        let mut resumed = bus.subscribe(&topic, &group).unwrap();
        assert_eq!(
            payloads(resumed.as_mut(), 2),
            [vec![2], vec![3]],
            "{backend}: resumed after the last commit"
        );
    }
}

#[test]
fn offsets_grow_with_each_publish() {
    for (backend, bus) in backends() {
        let topic = fresh("offsets");
        let mut reader = bus.subscribe(&topic, &fresh("g")).unwrap();
        let published: Vec<u64> = (0..3)
            .map(|i| bus.publish(&topic, vec![i]).unwrap())
            .collect();
        assert!(
            published.windows(2).all(|w| w[1] == w[0] + 1),
            "{backend}: {published:?}"
        );
        let delivered: Vec<u64> = (0..3).map(|_| reader.next(WAIT).unwrap().offset).collect();
        assert_eq!(delivered, published, "{backend}");
    }
}

#[test]
fn a_reader_that_tells_its_lag_counts_what_it_has_not_read() {
    for (backend, bus) in backends() {
        let topic = fresh("lag");
        let mut reader = bus.subscribe(&topic, &fresh("lagging")).unwrap();
        for i in 0..4u8 {
            bus.publish(&topic, vec![i]).unwrap();
        }
        let _ = payloads(reader.as_mut(), 1);
        // Only the embedded bus promises an answer; Kafka's would need a broker round trip.
        match reader.lag() {
            Some(lag) => assert_eq!(lag, 3, "{backend}: four sent, one read"),
            None => assert_ne!(backend, "embedded", "the embedded bus always knows its lag"),
        }
        let _ = payloads(reader.as_mut(), 3);
        assert!(
            reader.lag().is_none_or(|lag| lag == 0),
            "{backend}: all read"
        );
    }
}

#[test]
fn a_batch_arrives_whole_and_in_order_after_what_came_before() {
    for (name, bus) in backends() {
        let topic = fresh("batch");
        let mut reader = bus.subscribe(&topic, "g").unwrap();
        bus.publish(&topic, b"first".to_vec()).unwrap();
        let batch: Vec<Vec<u8>> = (0..50).map(|i| format!("m{i}").into_bytes()).collect();
        bus.publish_all(&topic, batch.clone()).unwrap();
        bus.publish_all(&topic, Vec::new()).unwrap();
        let mut expected = vec![b"first".to_vec()];
        expected.extend(batch);
        assert_eq!(payloads(reader.as_mut(), 51), expected, "{name}");
        assert!(reader.next(Duration::from_millis(200)).is_none(), "{name}");
    }
}

#[test]
fn a_waiting_reader_is_woken_by_a_publish_to_its_own_topic() {
    for (name, bus) in backends() {
        let (mine, other) = (fresh("waiting"), fresh("other"));
        let mut reader = bus.subscribe(&mine, "g").unwrap();
        let _other_reader = bus.subscribe(&other, "g").unwrap();
        let publisher = {
            let (bus, mine, other) = (bus.clone(), mine.clone(), other.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                bus.publish(&other, b"not for you".to_vec()).unwrap();
                std::thread::sleep(Duration::from_millis(100));
                bus.publish(&mine, b"for you".to_vec()).unwrap();
            })
        };
        let started = std::time::Instant::now();
        let delivery = reader.next(WAIT).expect("woken by the publish");
        assert_eq!(delivery.payload, b"for you", "{name}");
        assert!(
            started.elapsed() < WAIT,
            "{name}: it waited out its timeout"
        );
        publisher.join().unwrap();
    }
}
