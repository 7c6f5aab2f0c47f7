//! Nodes: the machines that run apps and models.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A node to register.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewNode {
    pub name: String,
    /// Labels that placement can match, e.g. `site=north-campus`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A registered node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Node {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `registered` until the node's daemon first reports, then `up` or `down`; once asked to
    /// drain, `draining` while instances remain on it, then `drained`.
    pub state: String,
    pub created_at: String,
    /// When it last reported.
    pub last_seen: Option<String>,
    /// Its last heartbeat: metrics and the instances it runs.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub report: Option<serde_json::Value>,
    /// The node daemon's credential (`trellis node --token`), shown once: at registration and
    /// when it is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// At registration, when the platform's bus is Kafka: the `trellis node --bus` the daemon
    /// needs to read its apps' readings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<String>,
}

/// How a machine joins as a node: the command to run and the systemd unit to install, the same
/// in the CLI (`trellis node join`) and the portal, so the two cannot disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinInstructions {
    /// The daemon started by hand.
    pub command: String,
    /// Where the unit goes.
    pub unit_path: &'static str,
    /// The daemon as a systemd service.
    pub unit: String,
    /// What starts the service once the unit is in place.
    pub enable: &'static str,
}

/// How a machine joins as the node holding `token`, reaching the control plane at `url`; `bus`
/// is the node's `--bus` when the platform's is Kafka (the node reads its apps' readings from the
/// broker itself).
pub fn join_instructions(url: &str, token: &str, bus: Option<&str>) -> JoinInstructions {
    let (bus_flag, bus_env) = match bus {
        Some(bus) => (
            format!(" --bus {bus}"),
            format!("Environment=TRELLIS_BUS={bus}\n"),
        ),
        None => (String::new(), String::new()),
    };
    JoinInstructions {
        command: format!(
            "trellis node --control-plane {url} --token {token}{bus_flag} --data-dir /var/lib/trellis-node"
        ),
        unit_path: "/etc/systemd/system/trellis-node.service",
        unit: format!(
            "[Unit]\nDescription=Trellis node daemon\nAfter=network-online.target\nWants=network-online.target\n\n\
             [Service]\nEnvironment=TRELLIS_CONTROL_PLANE={url}\nEnvironment=TRELLIS_NODE_TOKEN={token}\n{bus_env}\
             ExecStart=/usr/local/bin/trellis node --data-dir /var/lib/trellis-node\n\
             Restart=always\nRestartSec=2\n\n[Install]\nWantedBy=multi-user.target\n"
        ),
        enable: "systemctl daemon-reload && systemctl enable --now trellis-node",
    }
}

/// Where a joining machine keeps the control plane's CA certificate when the control plane serves
/// HTTPS with a certificate the system does not trust (`trellis up --tls self-signed`).
pub const JOIN_CA_CERT_PATH: &str = "/etc/trellis/ca.pem";

impl JoinInstructions {
    /// The same instructions for a daemon that trusts the CA certificate at
    /// [`JOIN_CA_CERT_PATH`] (`--ca-cert`, `TRELLIS_CA_CERT` in the unit).
    pub fn trusting_ca_cert(mut self) -> JoinInstructions {
        self.command = self.command.replacen(
            "trellis node ",
            &format!("trellis node --ca-cert {JOIN_CA_CERT_PATH} "),
            1,
        );
        self.unit = self.unit.replacen(
            "[Service]\n",
            &format!("[Service]\nEnvironment=TRELLIS_CA_CERT={JOIN_CA_CERT_PATH}\n"),
            1,
        );
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_instructions_carry_the_url_token_and_bus_in_both_forms() {
        let plain = join_instructions("http://cp:7878", "tok123", None);
        assert!(
            plain
                .command
                .contains("--control-plane http://cp:7878 --token tok123")
        );
        assert!(!plain.command.contains("--bus"));
        assert!(
            plain
                .unit
                .contains("Environment=TRELLIS_CONTROL_PLANE=http://cp:7878\n")
        );
        assert!(
            plain
                .unit
                .contains("Environment=TRELLIS_NODE_TOKEN=tok123\n")
        );
        assert!(!plain.unit.contains("TRELLIS_BUS"));
        let kafka = join_instructions("http://cp:7878", "tok123", Some("kafka://k:9092"));
        assert!(kafka.command.contains("--bus kafka://k:9092"));
        assert!(
            kafka
                .unit
                .contains("Environment=TRELLIS_BUS=kafka://k:9092\n")
        );
    }

    #[test]
    fn a_node_joining_over_tls_is_told_to_trust_the_ca_in_both_forms() {
        let plain = join_instructions("https://cp:7878", "tok123", None);
        assert!(!plain.command.contains("--ca-cert"));
        assert!(!plain.unit.contains("TRELLIS_CA_CERT"));
        let tls = plain.clone().trusting_ca_cert();
        assert!(
            tls.command
                .contains(&format!("--ca-cert {JOIN_CA_CERT_PATH} "))
        );
        assert!(tls.command.contains("--control-plane https://cp:7878"));
        assert!(tls.unit.contains(&format!(
            "Environment=TRELLIS_CA_CERT={JOIN_CA_CERT_PATH}\n"
        )));
        // Everything else stays as it was.
        assert_eq!(
            tls.unit.replace(
                &format!("Environment=TRELLIS_CA_CERT={JOIN_CA_CERT_PATH}\n"),
                ""
            ),
            plain.unit
        );
    }
}
