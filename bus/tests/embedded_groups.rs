//! The in-process bus never lets one consumer group stop the others: a slow group loses its
//! oldest messages, counted for it, while publishers and the other groups go on; a group that
//! left (its deployment no longer runs here) holds nothing back at all.

use std::time::{Duration, Instant};

use trellis_bus::{Bus, EmbeddedBus};

const WAIT: Duration = Duration::from_millis(200);

#[test]
fn a_slow_group_loses_its_oldest_messages_counted_while_the_others_go_on() {
    let bus = EmbeddedBus::new(3);
    let mut slow = bus.subscribe("t", "slow").unwrap();
    let mut quick = bus.subscribe("t", "quick").unwrap();
    let started = Instant::now();
    for n in 0..10u8 {
        bus.publish("t", vec![n])
            .expect("publishing past a slow group");
        let got = quick.next(WAIT).expect("the quick group's message");
        assert_eq!(got.payload, [n]);
        quick.commit(&got);
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "publishers waited for the slow group: {:?}",
        started.elapsed()
    );
    // The slow group has the newest three; the seven before them were dropped, for it alone.
    let kept: Vec<u8> = std::iter::from_fn(|| slow.next(Duration::ZERO))
        .map(|d| d.payload[0])
        .collect();
    assert_eq!(kept, [7, 8, 9]);
    let groups = bus.groups("t");
    let of = |name: &str| groups.iter().find(|g| g.group == name).unwrap().clone();
    assert_eq!(of("slow").dropped, 7, "{groups:?}");
    assert_eq!(of("quick").dropped, 0, "{groups:?}");
    // Each reader sees its own group's count, as a node's metrics read it.
    assert_eq!(slow.dropped(), Some(7));
    assert_eq!(quick.dropped(), Some(0));
    assert_eq!(of("quick").lag, 0, "{groups:?}");
}

#[test]
fn the_log_is_bounded_by_bytes_as_well_as_by_messages() {
    let bus = EmbeddedBus::with_limits(1000, 10 * 1024);
    let _slow = bus.subscribe("t", "slow").unwrap();
    for n in 0..20u8 {
        bus.publish("t", vec![n; 1024]).unwrap();
    }
    let groups = bus.groups("t");
    assert_eq!(groups[0].lag, 10, "{groups:?}");
    assert_eq!(groups[0].dropped, 10, "{groups:?}");
}

#[test]
fn a_group_that_left_does_not_hold_publishers_back() {
    let bus = EmbeddedBus::new(3);
    let stopped = bus.subscribe("t", "stopped").unwrap();
    let mut running = bus.subscribe("t", "running").unwrap();
    bus.publish("t", vec![0]).unwrap();
    // Told to leave while its instance still stops: it goes once its reader is gone.
    bus.leave("t", "stopped");
    assert_eq!(bus.groups("t").len(), 2);
    drop(stopped);
    for n in 0..10u8 {
        if n > 0 {
            bus.publish("t", vec![n]).unwrap();
        }
        let got = running.next(WAIT).unwrap();
        assert_eq!(got.payload, [n]);
        running.commit(&got);
    }
    let groups = bus.groups("t");
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].group, "running");
    assert_eq!(groups[0].dropped, 0);
}

#[test]
fn a_group_joined_again_before_its_last_reader_went_stays() {
    // A deployment moved between two nodes of one process: the new node joins its group before
    // the old one has stopped, and the old one's leaving must not take the group from it.
    let bus = EmbeddedBus::new(100);
    let old = bus.subscribe("t", "moved").unwrap();
    bus.leave("t", "moved");
    let mut new = bus.subscribe("t", "moved").unwrap();
    drop(old);
    bus.publish("t", vec![1]).unwrap();
    assert_eq!(new.next(WAIT).unwrap().payload, [1]);
    assert_eq!(bus.groups("t").len(), 1);
}

#[test]
fn the_embedded_url_may_set_the_bound_and_a_bad_one_is_refused_naming_it() {
    let bus = trellis_bus::connect("embedded?max-messages=2").unwrap();
    let slow = bus.subscribe("t", "slow").unwrap();
    for n in 0..5u8 {
        bus.publish("t", vec![n]).unwrap();
    }
    assert_eq!(slow.dropped(), Some(3));
    assert!(trellis_bus::is_embedded("embedded?max-messages=2"));

    for bad in [
        "embedded?max-messages=0",
        "embedded?max-messages=many",
        "embeddedx",
    ] {
        let why = trellis_bus::connect(bad).err().expect(bad).to_string();
        assert!(why.contains(bad) && why.contains("max-messages=N"), "{why}");
    }
}
