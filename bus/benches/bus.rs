//! Readings per second through each bus backend: publisher threads sending reading records (each
//! publish returns once the bus has the reading, as the device gateway's does) and one consumer
//! per group reading, parsing and committing each, as a node does. The in-process bus always;
//! Kafka on the broker `TRELLIS_TEST_KAFKA` names (`scripts/with-kafka cargo bench -p
//! trellis-bus`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use trellis_bus::{Bus, EmbeddedBus, KafkaBus, sensor_topic};
use trellis_protocol::Value;
use trellis_protocol::record::ReadingRecord;

struct Run {
    readings: u64,
    groups: usize,
    publishers: u64,
}

fn run(bus: Arc<dyn Bus>, run: &Run) -> f64 {
    let id = format!(
        "sen_bench_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let topic = sensor_topic(&id);
    let consumers: Vec<_> = (0..run.groups)
        .map(|g| {
            let mut subscription = bus.subscribe(&topic, &format!("{id}-group-{g}")).unwrap();
            let readings = run.readings;
            std::thread::spawn(move || {
                for received in 0..readings {
                    let Some(delivery) = subscription.next(Duration::from_secs(30)) else {
                        panic!("the bus stalled after {received} readings");
                    };
                    let _: ReadingRecord = serde_json::from_slice(&delivery.payload).unwrap();
                    subscription.commit(&delivery);
                }
            })
        })
        .collect();
    let started = Instant::now();
    let per_publisher = run.readings / run.publishers;
    let publishers: Vec<_> = (0..run.publishers)
        .map(|p| {
            let (bus, topic, id) = (bus.clone(), topic.clone(), id.clone());
            std::thread::spawn(move || {
                for sequence in p * per_publisher + 1..=(p + 1) * per_publisher {
                    let record = ReadingRecord {
                        id: format!("{id}-{sequence}"),
                        sensor: id.clone(),
                        sequence,
                        timestamp_ms: 0,
                        value: Value::Number(sequence as f64),
                    };
                    bus.publish(&topic, serde_json::to_vec(&record).unwrap())
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in publishers.into_iter().chain(consumers) {
        thread.join().unwrap();
    }
    run.readings as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    println!(
        "backend   publishers  groups  readings  readings/s (publish → parse → commit, every group)"
    );
    for groups in [1, 2, 4] {
        let shape = Run {
            readings: 200_000,
            groups,
            publishers: 1,
        };
        let rate = run(Arc::new(EmbeddedBus::default()), &shape);
        println!(
            "embedded  {:>10}  {groups:>6}  {:>8}  {rate:>10.0}",
            shape.publishers, shape.readings
        );
    }
    let Ok(brokers) = std::env::var("TRELLIS_TEST_KAFKA") else {
        println!("kafka     (skipped: no TRELLIS_TEST_KAFKA; run under scripts/with-kafka)");
        return;
    };
    let kafka: Arc<dyn Bus> = Arc::new(KafkaBus::connect(&brokers).unwrap());
    for (groups, publishers) in [(1, 1), (1, 8), (2, 8), (4, 8)] {
        let shape = Run {
            readings: 4_000,
            groups,
            publishers,
        };
        let rate = run(kafka.clone(), &shape);
        println!(
            "kafka     {publishers:>10}  {groups:>6}  {:>8}  {rate:>10.0}",
            shape.readings
        );
    }
}
