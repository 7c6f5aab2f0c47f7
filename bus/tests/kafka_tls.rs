//! Kafka over TLS: with `security.protocol = ssl` and the CA that signed the broker's
//! certificate, the bus's clients reach the broker through TLS and carry messages; without that
//! CA they reach nothing (librdkafka logs `certificate verify failed`).
//!
//! tansu 0.6 takes `--cert` and `--key` but does not serve TLS, so the broker here is a tansu of
//! the test's own behind a TLS front (rustls, as a TLS-terminating proxy before brokers is),
//! advertising the front's address so that every connection a client makes goes through TLS.
//! Runs where `TRELLIS_TEST_KAFKA` says tansu is installed (`scripts/with-kafka`).

mod common;

use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use trellis_bus::{KafkaBus, KafkaSecurity};
use trellis_test_kafka_broker::{free_port, tansu};

/// A CA, and a certificate for localhost it signed: (CA PEM, server certificate, its key).
fn certificates() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    // Names of their own: with rcgen's default for both, the broker's certificate would name its
    // issuer as itself, and OpenSSL would take it for self-signed.
    ca.distinguished_name
        .push(DnType::CommonName, "Trellis test Kafka CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server = server.signed_by(&key, &issuer).unwrap();
    let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap();
    (ca_pem, server.der().clone(), key)
}

/// Serves TLS on `listener`, passing each connection's bytes on to the broker at `port`.
fn tls_front(
    listener: TcpListener,
    port: u16,
    certificate: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> tokio::runtime::Runtime {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certificate], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    listener.set_nonblocking(true).unwrap();
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        while let Ok((client, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that does not trust the certificate ends its handshake here.
                let Ok(mut client) = acceptor.accept(client).await else {
                    return;
                };
                let Ok(mut broker) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
            });
        }
    });
    runtime
}

#[test]
fn clients_given_the_brokers_ca_carry_messages_over_tls_and_others_are_refused() {
    if std::env::var_os("TRELLIS_TEST_KAFKA").is_none() {
        assert!(
            std::env::var_os("TRELLIS_REQUIRE_KAFKA").is_none(),
            "TRELLIS_REQUIRE_KAFKA is set but TRELLIS_TEST_KAFKA is not"
        );
        eprintln!("no TRELLIS_TEST_KAFKA (tansu): Kafka over TLS not checked");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let front = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let front_port = front.local_addr().unwrap().port();
    let broker_port = free_port();
    let _broker = tansu(data.path(), broker_port, &format!("localhost:{front_port}"));
    let (ca, certificate, key) = certificates();
    let _front = tls_front(front, broker_port, certificate, key);
    let ca_path = data.path().join("ca.pem");
    std::fs::write(&ca_path, ca).unwrap();
    // By name, as brokers are reached: librdkafka checks the certificate names the host it dialled.
    let brokers = format!("localhost:{front_port}");

    let tls = KafkaSecurity {
        protocol: Some("ssl".into()),
        ca_location: Some(ca_path.to_str().unwrap().into()),
        ..KafkaSecurity::default()
    };
    let bus = KafkaBus::connect_with(&brokers, &tls).unwrap();
    common::assert_carries_messages(&bus, "tls");

    // A client that trusts only the public roots fails the handshake, so no broker answers it.
    let untrusting = KafkaBus::connect_with(
        &brokers,
        &KafkaSecurity {
            protocol: Some("ssl".into()),
            ..KafkaSecurity::default()
        },
    )
    .unwrap();
    common::assert_reaches_no_broker(
        &untrusting,
        &brokers,
        "a broker certificate from an unknown CA is refused",
    );
}
