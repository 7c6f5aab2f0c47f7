//! Kafka with SASL: a broker that requires authentication (tansu `--authentication`, SCRAM)
//! carries the messages of a bus whose clients log in as a user it knows, and answers nothing
//! to one with a wrong password. Runs where `TRELLIS_TEST_KAFKA` says tansu is installed
//! (`scripts/with-kafka`).

mod common;

use trellis_bus::{KafkaBus, KafkaSecurity};
use trellis_test_kafka_broker::{add_scram_user, free_port, tansu, tansu_with};

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
    common::assert_carries_messages(&bus, "sasl");

    let intruder =
        KafkaBus::connect_with(&address, &logging_in_as("bus", "not-the-password")).unwrap();
    common::assert_reaches_no_broker(&intruder, &address, "a wrong password is refused");
}
