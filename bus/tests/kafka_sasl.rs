//! Kafka with SASL: a broker that requires authentication (tansu `--authentication`, SCRAM)
//! carries the messages of a bus whose clients log in as a user it knows, and answers nothing
//! to one with a wrong password. Runs where `TRELLIS_TEST_KAFKA` says tansu is installed
//! (`scripts/with-kafka`).

use std::time::Duration;

use trellis_bus::{Bus, KafkaBus, KafkaSecurity};
use trellis_test_kafka_broker::{add_scram_user, free_port, tansu, tansu_with};

const WAIT: Duration = Duration::from_secs(20);
const MECHANISM: &str = "SCRAM-SHA-512";

fn logging_in_as(name: &str, password: &str) -> KafkaSecurity {
    KafkaSecurity {
        protocol: Some("sasl_plaintext".into()),
        sasl_mechanisms: Some(MECHANISM.into()),
        sasl_username: Some(name.into()),
        sasl_password: Some(password.into()),
        ..KafkaSecurity::default()
    }
}

#[test]
fn clients_logging_in_with_scram_carry_messages_and_a_wrong_password_is_refused() {
    if std::env::var_os("TRELLIS_TEST_KAFKA").is_none() {
        assert!(
            std::env::var_os("TRELLIS_REQUIRE_KAFKA").is_none(),
            "TRELLIS_REQUIRE_KAFKA is set but TRELLIS_TEST_KAFKA is not"
        );
        eprintln!("no TRELLIS_TEST_KAFKA (tansu): Kafka with SASL not checked");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    // The user is added while the broker is open, then it starts again requiring a login.
    {
        let _open = tansu(data.path(), port, &address);
        add_scram_user(port, "bus", "a-long-bus-password", "scram512");
    }
    let _broker = tansu_with(data.path(), port, &address, &["--authentication"]);

    let bus =
        KafkaBus::connect_with(&address, &logging_in_as("bus", "a-long-bus-password")).unwrap();
    bus.check().unwrap();
    let topic = format!("trellis.test.sasl.{}", std::process::id());
    let mut reader = bus.subscribe(&topic, "sasl-readers").unwrap();
    let sent: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i, b's', b'a', b's', b'l']).collect();
    for payload in &sent {
        bus.publish(&topic, payload.clone()).unwrap();
    }
    let received: Vec<Vec<u8>> = (0..sent.len())
        .map(|i| {
            reader
                .next(WAIT)
                .unwrap_or_else(|| panic!("message {i} did not arrive"))
                .payload
        })
        .collect();
    assert_eq!(received, sent);

    let intruder =
        KafkaBus::connect_with(&address, &logging_in_as("bus", "not-the-password")).unwrap();
    let error = intruder
        .check()
        .expect_err("a wrong password is refused")
        .to_string();
    assert!(
        error.contains(&format!("no Kafka broker answers at {address}")),
        "{error}"
    );
}
