//! Readings per second through the in-process bus: a producer thread publishing reading records
//! and one consumer per group reading, parsing and committing each, as a node does.
//! `cargo bench -p trellis-bus` prints the figures.

use std::time::Instant;

use trellis_bus::record::{ReadingRecord, WireValue};
use trellis_bus::{Bus, EmbeddedBus, sensor_topic};

const READINGS: u64 = 200_000;

fn run(groups: usize) -> f64 {
    let bus = EmbeddedBus::default();
    let topic = sensor_topic("sen_bench");
    let consumers: Vec<_> = (0..groups)
        .map(|g| {
            let mut subscription = bus.subscribe(&topic, &format!("group-{g}"));
            std::thread::spawn(move || {
                let mut last = 0;
                while last < READINGS {
                    let Some(delivery) = subscription.next(std::time::Duration::from_secs(5))
                    else {
                        panic!("the bus stalled at reading {last}");
                    };
                    let record: ReadingRecord = serde_json::from_slice(&delivery.payload).unwrap();
                    last = record.sequence;
                    subscription.commit(&delivery);
                }
            })
        })
        .collect();
    let started = Instant::now();
    for sequence in 1..=READINGS {
        let record = ReadingRecord {
            id: format!("sen_bench-{sequence}"),
            sensor: "sen_bench".into(),
            sequence,
            timestamp_ms: 0,
            value: WireValue::Number(sequence as f64),
        };
        bus.publish(&topic, serde_json::to_vec(&record).unwrap())
            .unwrap();
    }
    for consumer in consumers {
        consumer.join().unwrap();
    }
    READINGS as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    println!("backend   groups  readings  readings/s (publish → parse → commit, every group)");
    for groups in [1, 2, 4] {
        let rate = run(groups);
        println!("embedded  {groups:>6}  {READINGS:>8}  {rate:>10.0}");
    }
}
