//! How Kafka clients authenticate and encrypt: TLS and SASL settings handed to librdkafka as its
//! own properties (`security.protocol`, `ssl.ca.location`, `sasl.mechanisms`, `sasl.username`,
//! `sasl.password`), so they mean what the librdkafka documentation says.

/// TLS and SASL settings for every Kafka client of a process; all unset: plaintext, no SASL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KafkaSecurity {
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`.
    pub protocol: Option<String>,
    /// The CA certificate (PEM file) the brokers' certificates are checked against.
    pub ca_location: Option<String>,
    /// The SASL mechanism, e.g. `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`.
    pub sasl_mechanisms: Option<String>,
    pub sasl_username: Option<String>,
    pub sasl_password: Option<String>,
}

impl KafkaSecurity {
    /// The librdkafka properties these settings set.
    pub fn properties(&self) -> Vec<(&'static str, &str)> {
        [
            ("security.protocol", &self.protocol),
            ("ssl.ca.location", &self.ca_location),
            ("sasl.mechanisms", &self.sasl_mechanisms),
            ("sasl.username", &self.sasl_username),
            ("sasl.password", &self.sasl_password),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_deref().map(|value| (key, value)))
        .collect()
    }
}
