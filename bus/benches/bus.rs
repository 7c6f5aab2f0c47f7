//! Readings per second through each bus backend: publisher threads sending reading records (each
//! publish returns once the bus has the reading, as the device gateway's does) and one consumer
//! per group reading, parsing and committing each, as a node does. The in-process bus always;
//! Kafka on the broker `TRELLIS_TEST_KAFKA` names (`scripts/with-kafka cargo bench -p
//! trellis-bus`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::producer::Producer;
use trellis_bus::{Bus, EmbeddedBus, KafkaBus, sensor_topic};
use trellis_protocol::Value;
use trellis_protocol::record::ReadingRecord;

struct Run {
    readings: u64,
    groups: usize,
    publishers: u64,
    /// Readings a publish carries, as the gateway's batch endpoint sends them.
    batch: u64,
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
            let (bus, topic, id, batch) = (bus.clone(), topic.clone(), id.clone(), run.batch);
            std::thread::spawn(move || {
                let first = p * per_publisher + 1;
                let records: Vec<Vec<u8>> = (first..first + per_publisher)
                    .map(|sequence| {
                        serde_json::to_vec(&ReadingRecord {
                            id: format!("{id}-{sequence}"),
                            sensor: id.clone(),
                            sequence,
                            timestamp_ms: 0,
                            value: Value::Number(sequence as f64),
                        })
                        .unwrap()
                    })
                    .collect();
                for batch in records.chunks(batch as usize) {
                    bus.publish_all(&topic, batch.to_vec()).unwrap();
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
        "backend   publishers  batch  groups  readings  readings/s (publish → parse → commit, every group)"
    );
    for groups in [1, 2, 4] {
        let shape = Run {
            readings: 200_000,
            groups,
            publishers: 1,
            batch: 1,
        };
        // Room for every reading: a publisher this fast would otherwise outrun the bound, and
        // the readings dropped for the slow group would never arrive.
        let rate = run(Arc::new(EmbeddedBus::new(shape.readings as usize)), &shape);
        println!(
            "embedded  {:>10}  {:>5}  {groups:>6}  {:>8}  {rate:>10.0}",
            shape.publishers, shape.batch, shape.readings
        );
    }
    let Ok(brokers) = std::env::var("TRELLIS_TEST_KAFKA") else {
        println!("kafka     (skipped: no TRELLIS_TEST_KAFKA; run under scripts/with-kafka)");
        return;
    };
    let kafka: Arc<dyn Bus> = Arc::new(KafkaBus::connect(&brokers).unwrap());
    for (groups, publishers, batch, readings) in [
        (1, 1, 1, 2_000),
        (1, 8, 1, 8_000),
        (4, 8, 1, 8_000),
        (1, 8, 100, 80_000),
        (4, 8, 100, 80_000),
    ] {
        let shape = Run {
            readings,
            groups,
            publishers,
            batch,
        };
        let rate = run(kafka.clone(), &shape);
        println!(
            "kafka     {publishers:>10}  {batch:>5}  {groups:>6}  {readings:>8}  {rate:>10.0}"
        );
    }
    broker_ceiling(&brokers, 80_000);
    broker_ceiling_per_device(&brokers, 8, 80_000);
}

/// The broker's own ceiling, without Trellis: librdkafka's producer sending `count` records of
/// a reading's size as fast as it takes them (then waiting for every acknowledgement), and its
/// consumer reading them back.
fn broker_ceiling(brokers: &str, count: usize) {
    let topic = format!("trellis.bench.ceiling.{}", stamp());
    // The topic exists before either side starts, as Trellis's do.
    KafkaBus::connect(brokers)
        .unwrap()
        .publish_all(&topic, Vec::new())
        .unwrap();
    let payload = reading_payload();
    let producer = producer(brokers);
    let started = Instant::now();
    for _ in 0..count {
        send(&producer, &topic, &payload);
    }
    producer.flush(Duration::from_secs(120)).unwrap();
    let produced = count as f64 / started.elapsed().as_secs_f64();

    let consumer = reader(brokers, &topic, &[("auto.offset.reset", "earliest")]);
    let mut first = None;
    for read in 0..count {
        next(&consumer, read, count);
        first.get_or_insert_with(Instant::now);
    }
    let consumed = count as f64 / first.map_or(f64::NAN, |f| f.elapsed().as_secs_f64());
    println!(
        "broker ceiling (librdkafka alone, {count} records): produce {produced:.0}/s, consume {consumed:.0}/s"
    );
}

/// The broker's ceiling for the traffic devices make, without Trellis: a topic per device (8),
/// librdkafka's producer sending `count` records to them in turn as fast as it takes them while
/// a consumer per topic reads its own at the same time, with fetches held as long as Trellis's
/// readers let the broker hold them. Timed until the last record is read: what
/// `cargo bench -p trellis-node --bench device_readings` measures through Trellis.
fn broker_ceiling_per_device(brokers: &str, devices: usize, count: usize) {
    let stamp = stamp();
    let topics: Vec<String> = (0..devices)
        .map(|d| format!("trellis.bench.device.{stamp}.{d}"))
        .collect();
    let setup = KafkaBus::connect(brokers).unwrap();
    for topic in &topics {
        setup.publish_all(topic, Vec::new()).unwrap();
    }
    let payload = reading_payload();
    let each = count / devices;
    let started = Instant::now();
    let readers: Vec<_> = topics
        .iter()
        .map(|topic| {
            let consumer = reader(brokers, topic, &[("fetch.wait.max.ms", "50")]);
            std::thread::spawn(move || {
                for read in 0..each {
                    next(&consumer, read, each);
                }
            })
        })
        .collect();
    let producer = producer(brokers);
    for _ in 0..each {
        for topic in &topics {
            send(&producer, topic, &payload);
        }
    }
    producer.flush(Duration::from_secs(120)).unwrap();
    for reader in readers {
        reader.join().unwrap();
    }
    let rate = (each * devices) as f64 / started.elapsed().as_secs_f64();
    println!(
        "broker ceiling (librdkafka alone, {devices} topics produced and read at once, {} records): {rate:.0}/s",
        each * devices,
    );
    // For scripts/bench's table of every goal's figures.
    println!(
        "figure: 4. readings | Kafka broker's ceiling, librdkafka alone, {devices} topics produced and read at once | {rate:.0}/s"
    );
}

/// Nanoseconds since the epoch, to name this run's topics.
fn stamp() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A reading record of the usual size, as the ceilings send it.
fn reading_payload() -> Vec<u8> {
    serde_json::to_vec(&ReadingRecord {
        id: "sen_bench-1".into(),
        sensor: "sen_bench".into(),
        sequence: 1,
        timestamp_ms: 0,
        value: Value::Number(1.0),
    })
    .unwrap()
}

/// librdkafka's producer, lingering a little to batch as a busy producer would.
fn producer(brokers: &str) -> rdkafka::producer::BaseProducer {
    rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .create()
        .unwrap()
}

/// Queues `payload` for `topic`, waiting for room in the producer's queue when it is full.
fn send(producer: &rdkafka::producer::BaseProducer, topic: &str, payload: &[u8]) {
    let mut record = rdkafka::producer::BaseRecord::<(), _>::to(topic).payload(payload);
    while let Err((_, back)) = producer.send(record) {
        record = back;
        producer.poll(Duration::from_millis(1));
    }
    producer.poll(Duration::ZERO);
}

/// librdkafka's consumer of `topic` from its start, assigned (as Trellis's readers are, so no
/// group join is timed), with `settings` added.
fn reader(
    brokers: &str,
    topic: &str,
    settings: &[(&str, &str)],
) -> rdkafka::consumer::BaseConsumer {
    use rdkafka::consumer::Consumer;

    let mut config = rdkafka::ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{topic}-reader"));
    for (key, value) in settings {
        config.set(*key, *value);
    }
    let consumer: rdkafka::consumer::BaseConsumer = config.create().unwrap();
    let mut partitions = rdkafka::TopicPartitionList::new();
    partitions
        .add_partition_offset(topic, 0, rdkafka::Offset::Beginning)
        .unwrap();
    consumer.assign(&partitions).unwrap();
    consumer
}

/// Waits for record `read` of `of`; a broker silent for 30 s fails the bench.
fn next(consumer: &rdkafka::consumer::BaseConsumer, read: usize, of: usize) {
    match consumer.poll(Duration::from_secs(30)) {
        Some(Ok(_)) => {}
        Some(Err(e)) => panic!("reading back: {e}"),
        None => panic!("the broker stalled after {read} of {of}"),
    }
}
