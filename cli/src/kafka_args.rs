//! The flags that secure a Kafka bus's connections (TLS, SASL), shared by `trellis up` and
//! `trellis node`; each passes straight to librdkafka's property of the same name.

#[derive(clap::Args, Clone, Debug)]
pub struct KafkaArgs {
    /// With a Kafka bus: librdkafka's `security.protocol`, one of `plaintext`, `ssl`,
    /// `sasl_plaintext`, `sasl_ssl`.
    #[arg(long, env = "TRELLIS_KAFKA_SECURITY_PROTOCOL")]
    pub kafka_security_protocol: Option<String>,
    /// With a Kafka bus: the CA certificate (PEM) the brokers' certificates are checked against
    /// (`ssl.ca.location`).
    #[arg(long, env = "TRELLIS_KAFKA_SSL_CA_LOCATION")]
    pub kafka_ssl_ca_location: Option<String>,
    /// With a Kafka bus: the SASL mechanism (`sasl.mechanisms`), e.g. PLAIN or SCRAM-SHA-512.
    #[arg(long, env = "TRELLIS_KAFKA_SASL_MECHANISMS")]
    pub kafka_sasl_mechanisms: Option<String>,
    /// With a Kafka bus: the SASL user name (`sasl.username`).
    #[arg(long, env = "TRELLIS_KAFKA_SASL_USERNAME")]
    pub kafka_sasl_username: Option<String>,
    /// With a Kafka bus: the SASL password (`sasl.password`); prefer the environment variable,
    /// which other users of the machine cannot read in the process list.
    #[arg(long, env = "TRELLIS_KAFKA_SASL_PASSWORD", hide_env_values = true)]
    pub kafka_sasl_password: Option<String>,
}

impl KafkaArgs {
    pub fn security(&self) -> trellis_bus::KafkaSecurity {
        trellis_bus::KafkaSecurity {
            protocol: self.kafka_security_protocol.clone(),
            ca_location: self.kafka_ssl_ca_location.clone(),
            sasl_mechanisms: self.kafka_sasl_mechanisms.clone(),
            sasl_username: self.kafka_sasl_username.clone(),
            sasl_password: self.kafka_sasl_password.clone(),
        }
    }

    /// The same settings as environment variables, for a node process `trellis up` starts
    /// (environment rather than flags keeps the password out of the process list).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        [
            (
                "TRELLIS_KAFKA_SECURITY_PROTOCOL",
                &self.kafka_security_protocol,
            ),
            ("TRELLIS_KAFKA_SSL_CA_LOCATION", &self.kafka_ssl_ca_location),
            ("TRELLIS_KAFKA_SASL_MECHANISMS", &self.kafka_sasl_mechanisms),
            ("TRELLIS_KAFKA_SASL_USERNAME", &self.kafka_sasl_username),
            ("TRELLIS_KAFKA_SASL_PASSWORD", &self.kafka_sasl_password),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|value| (name, value)))
        .collect()
    }
}
